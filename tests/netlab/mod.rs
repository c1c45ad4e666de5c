//! A real network on one machine for the sync tests: a bridge in a hub network
//! namespace and one namespace per host (tables, a central tally, an attacker), each
//! with a veth into the bridge and an address in 192.0.2.0/24 (TEST-NET-1, never routed).
//!
//! Faults are real: nftables rules inside the namespaces drop packets silently (no RST,
//! no ICMP), so a connect to a cut host times out as it would on a LAN whose cable was
//! pulled, instead of being refused at once. A listener that accepts and never answers
//! stands for a frozen process or a WAN that swallows replies; a flood holds hundreds of
//! idle TCP connections open.
//!
//! Everything is named after the test process and a counter, so tests may run in
//! parallel, and removed on drop, also when a test panics. Needs root, `ip` (Debian
//! package iproute2) and, for faults, `nft` (package nftables): a missing one fails the
//! test with that name, it never skips.
#![allow(dead_code)]

use crate::daemon::{self, Table};
use std::collections::BTreeSet;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

static LABS: AtomicUsize = AtomicUsize::new(0);

/// One host of the LAN: its namespace and address.
#[derive(Debug, Clone)]
pub struct Host {
    /// What the test calls it ("t1", "central", "attacker").
    pub name: String,
    /// The network namespace it lives in.
    pub ns: String,
    pub addr: Ipv4Addr,
}

impl Host {
    /// `addr:port` on this host.
    pub fn at(&self, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(self.addr, port)
    }

    /// An `https://` URL of this host.
    pub fn https(&self, port: u16) -> String {
        format!("https://{}:{port}", self.addr)
    }
}

/// The faults in force; the rules of every host are made from this.
#[derive(Default)]
struct Faults {
    /// Hosts cut off: they drop all input but loopback, and every other host drops
    /// their packets.
    cut: BTreeSet<usize>,
    /// (dropper, source): host `dropper` drops every packet from `source`.
    drops: BTreeSet<(usize, usize)>,
}

/// A LAN of network namespaces; removed when dropped.
pub struct Lab {
    prefix: String,
    hub: String,
    hosts: Vec<Host>,
    /// Namespaces made so far, removed in reverse order on drop (also after a
    /// construction that failed half-way).
    made: Vec<String>,
    faults: Mutex<Faults>,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for n in self.made.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", n])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Fails the test unless it runs as root with `ip` (iproute2).
pub fn require_namespaces() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "network namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run the tests as root, as .ci/run does"
    );
    let ok = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`ip` is missing: install the Debian package iproute2 (.ci/run does)"
    );
}

/// Fails the test unless `nft` (nftables) is there.
pub fn require_nft() {
    let ok = Command::new("nft")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`nft` is missing: install the Debian package nftables (.ci/run does); the network faults are nftables rules"
    );
}

/// Runs `ip ARGS`; panics with its error.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `ip` (Debian package iproute2, and the test needs root): {e}")
    });
    assert!(
        out.status.success(),
        "ip {}: {} (network namespaces need root and iproute2)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `nft` in namespace `ns` with `script` on its standard input.
fn nft(ns: &str, args: &[&str], script: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nft (Debian package nftables): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write nft script");
    let out = child.wait_with_output().expect("nft");
    assert!(
        out.status.success(),
        "nft {args:?} in {ns} failed (nftables installed, kernel nf_tables?): {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes namespaces left by an earlier test process of this harness that was killed
/// before it could clean up (its process id no longer runs).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("vbl") else {
            continue;
        };
        let Some(pid) = rest.split('x').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

impl Lab {
    /// A LAN with one host per name, at 192.0.2.1, .2, … in that order.
    pub fn new(names: &[&str]) -> Lab {
        require_namespaces();
        remove_stale();
        let prefix = format!(
            "vbl{}x{}",
            std::process::id(),
            LABS.fetch_add(1, Ordering::Relaxed)
        );
        let hub = format!("{prefix}-hub");
        let mut lab = Lab {
            prefix: prefix.clone(),
            hub: hub.clone(),
            hosts: Vec::new(),
            made: Vec::new(),
            faults: Mutex::new(Faults::default()),
        };
        ip(&["netns", "add", &hub]);
        lab.made.push(hub.clone());
        ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &hub, "link", "set", "br0", "up"]);
        for (i, name) in names.iter().enumerate() {
            let ns = format!("{prefix}-{i}");
            ip(&["netns", "add", &ns]);
            lab.made.push(ns.clone());
            let port = format!("h{i}");
            ip(&[
                "link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port,
                "netns", &hub,
            ]);
            ip(&["-n", &hub, "link", "set", &port, "master", "br0", "up"]);
            let addr = Ipv4Addr::new(192, 0, 2, i as u8 + 1);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
            lab.hosts.push(Host {
                name: name.to_string(),
                ns,
                addr,
            });
        }
        lab
    }

    /// As [`Lab::new`], and checks up front that faults can be made (nftables).
    pub fn for_faults(names: &[&str]) -> Lab {
        require_namespaces();
        require_nft();
        Lab::new(names)
    }

    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The index of the host called `name`.
    pub fn index(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name}"))
    }

    // ---- faults ---------------------------------------------------------------------

    /// Cuts `host` off: it drops all input but loopback, and every other host drops its
    /// packets, so both directions go silent (no RST, no ICMP) while its processes live.
    pub fn cut(&self, host: usize) {
        self.faults.lock().expect("faults").cut.insert(host);
        self.apply();
    }

    /// A host whose every packet is dropped: SYNs to it go unanswered, connects time
    /// out. The same rules as [`Lab::cut`].
    pub fn black_hole(&self, host: usize) {
        self.cut(host);
    }

    /// Undoes [`Lab::cut`] of `host` (partitions stay).
    pub fn uncut(&self, host: usize) {
        self.faults.lock().expect("faults").cut.remove(&host);
        self.apply();
    }

    /// Splits the LAN: each host of `a` drops every packet from the hosts of `b`, and
    /// the other way round.
    pub fn partition(&self, a: &[usize], b: &[usize]) {
        {
            let mut f = self.faults.lock().expect("faults");
            for &x in a {
                for &y in b {
                    f.drops.insert((x, y));
                    f.drops.insert((y, x));
                }
            }
        }
        self.apply();
    }

    /// Removes every fault.
    pub fn heal(&self) {
        *self.faults.lock().expect("faults") = Faults::default();
        self.apply();
    }

    /// Writes every host's rules from the faults in force (each host's table is
    /// replaced atomically).
    fn apply(&self) {
        require_nft();
        let f = self.faults.lock().expect("faults");
        for (i, h) in self.hosts.iter().enumerate() {
            let mut rules = String::from("iif \"lo\" accept\n");
            let dropped: BTreeSet<usize> = (0..self.hosts.len())
                .filter(|&j| j != i)
                .filter(|&j| f.cut.contains(&i) || f.cut.contains(&j) || f.drops.contains(&(i, j)))
                .collect();
            // One counted rule per source, so a test can see what reached the host.
            for j in dropped {
                rules.push_str(&format!("ip saddr {} counter drop\n", self.hosts[j].addr));
            }
            if f.cut.contains(&i) {
                rules.push_str("counter drop\n");
            }
            let script = format!(
                "add table inet vblab\ndelete table inet vblab\ntable inet vblab {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n{rules} }}\n}}\n"
            );
            nft(&h.ns, &["-f", "-"], &script);
        }
    }

    /// Packets `host` dropped from `from` since its rules were last written.
    pub fn dropped_from(&self, host: usize, from: usize) -> u64 {
        let out = nft(
            &self.hosts[host].ns,
            &["-j", "list", "chain", "inet", "vblab", "input"],
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("nft JSON");
        let want = self.hosts[from].addr.to_string();
        let mut packets = 0;
        for item in v["nftables"].as_array().into_iter().flatten() {
            let Some(expr) = item["rule"]["expr"].as_array() else {
                continue;
            };
            let from_it = expr
                .iter()
                .any(|e| e["match"]["right"].as_str() == Some(want.as_str()));
            if from_it {
                packets += expr
                    .iter()
                    .filter_map(|e| e["counter"]["packets"].as_u64())
                    .sum::<u64>();
            }
        }
        packets
    }

    // ---- processes and sockets in the namespaces ------------------------------------

    /// A listener on `host:port` that accepts every connection and never reads nor
    /// answers: a frozen process, or a central tally whose WAN swallows the replies
    /// after the connect.
    pub fn silent_listener(&self, host: usize, port: u16) -> SilentListener {
        self.listener(host, port, None)
    }

    /// A listener on `host:port` that completes the TLS handshake with `config` (a
    /// device key the tables list) and then never answers a request: a process that
    /// hangs after accepting, the worst case for a client that waits for answers.
    pub fn hanging_tls_listener(
        &self,
        host: usize,
        port: u16,
        config: Arc<rustls::ServerConfig>,
    ) -> SilentListener {
        self.listener(host, port, Some(config))
    }

    fn listener(
        &self,
        host: usize,
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> SilentListener {
        let at = self.hosts[host].at(port);
        let listener = in_ns(&self.hosts[host].ns, || {
            TcpListener::bind(at).unwrap_or_else(|e| panic!("bind {at}: {e}"))
        });
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (stop, peers, handshakes) = (stop.clone(), peers.clone(), handshakes.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                let mut hangers = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((s, from)) => {
                            peers.lock().expect("peers").push(from);
                            match &tls {
                                None => held.push(s),
                                Some(config) => {
                                    let (config, stop, handshakes) =
                                        (config.clone(), stop.clone(), handshakes.clone());
                                    hangers.push(std::thread::spawn(move || {
                                        hang_after_handshake(s, config, &stop, &handshakes)
                                    }));
                                }
                            }
                        }
                        // Pacing of the accept loop, not a wait for anything.
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
                for h in hangers {
                    let _ = h.join();
                }
            })
        };
        SilentListener {
            stop,
            thread: Some(thread),
            peers,
            handshakes,
        }
    }

    /// From host `from`, holds `per_target` idle TCP connections open to each target,
    /// sending nothing and opening a new one for every one the target closes, until the
    /// flood is dropped.
    pub fn flood(&self, from: usize, targets: &[SocketAddrV4], per_target: usize) -> Flood {
        raise_fd_limit();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut stats = Vec::new();
        for &target in targets {
            let s = Arc::new(FloodStats::default());
            stats.push((target, s.clone()));
            let stop = stop.clone();
            threads.push(spawn_in_ns(&self.hosts[from].ns, move || {
                flood_one(target, per_target, &stop, &s)
            }));
        }
        Flood {
            stop,
            threads,
            stats,
        }
    }
}

/// Runs `f` on a thread that has entered namespace `ns`, so its sockets live there.
pub fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                enter(ns);
                f()
            })
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Starts `f` on a new thread in namespace `ns` (threads it starts are there too).
pub fn spawn_in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        enter(&ns);
        f()
    })
}

/// Moves the calling thread into namespace `ns`.
fn enter(ns: &str) {
    use std::os::fd::AsRawFd;
    let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("netns file");
    // SAFETY: setns on a namespace file we opened; it affects only this thread.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// See [`Lab::silent_listener`]; closes its connections when dropped.
pub struct SilentListener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    handshakes: Arc<AtomicUsize>,
}

/// Completes the server side of a TLS handshake on `tcp`, then reads and drops
/// whatever comes and never writes, until the peer closes or `stop`.
fn hang_after_handshake(
    mut tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    stop: &AtomicBool,
    handshakes: &AtomicUsize,
) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_millis(100)));
    let Ok(mut conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let retry = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )
    };
    while conn.is_handshaking() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        match conn.complete_io(&mut tcp) {
            Ok((0, 0)) => return,
            Ok(_) => {}
            Err(e) if retry(&e) => {}
            Err(_) => return,
        }
    }
    handshakes.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match tcp.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if retry(&e) => {}
            Err(_) => return,
        }
    }
}

impl SilentListener {
    /// Connections accepted from `addr`.
    pub fn accepted_from(&self, addr: Ipv4Addr) -> usize {
        self.peers
            .lock()
            .expect("peers")
            .iter()
            .filter(|p| p.ip() == addr)
            .count()
    }

    pub fn accepted(&self) -> usize {
        self.peers.lock().expect("peers").len()
    }

    /// TLS handshakes completed (a [`Lab::hanging_tls_listener`]).
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::Relaxed)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What a flood did to one target.
#[derive(Default, Debug)]
pub struct FloodStats {
    /// Connections open now.
    pub open: AtomicUsize,
    /// Connections opened in all.
    pub opened: AtomicUsize,
    /// Connections the target closed.
    pub closed: AtomicUsize,
}

/// See [`Lab::flood`]; its connections close when it is dropped.
pub struct Flood {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub stats: Vec<(SocketAddrV4, Arc<FloodStats>)>,
}

impl Flood {
    /// "target: open/opened/closed by the target", for messages.
    pub fn report(&self) -> String {
        self.stats
            .iter()
            .map(|(t, s)| {
                format!(
                    "{t}: {} open, {} opened, {} closed by the table",
                    s.open.load(Ordering::Relaxed),
                    s.opened.load(Ordering::Relaxed),
                    s.closed.load(Ordering::Relaxed)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Connections open now to `target`.
    pub fn open_to(&self, target: SocketAddrV4) -> usize {
        self.stats
            .iter()
            .find(|(t, _)| *t == target)
            .map_or(0, |(_, s)| s.open.load(Ordering::Relaxed))
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Whether a connection of the flood is still open; reads away whatever the target
/// sent (a TLS alert) to see the end behind it.
fn still_open(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
}

fn flood_one(target: SocketAddrV4, n: usize, stop: &AtomicBool, stats: &FloodStats) {
    let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    while !stop.load(Ordering::Relaxed) {
        let mut open = 0;
        for slot in conns.iter_mut() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Some(s) = slot {
                if still_open(s) {
                    open += 1;
                    continue;
                }
                stats.closed.fetch_add(1, Ordering::Relaxed);
                *slot = None;
            }
            if let Ok(s) = TcpStream::connect_timeout(&target.into(), Duration::from_secs(1)) {
                s.set_nonblocking(true).expect("nonblocking");
                stats.opened.fetch_add(1, Ordering::Relaxed);
                open += 1;
                *slot = Some(s);
            }
        }
        stats.open.store(open, Ordering::Relaxed);
        // Pacing: a pass over all connections every 20 ms at most, so the attacker
        // does not simply take the machine's CPU from the tables.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Lets this process hold the flood's sockets (the soft limit up to the hard one).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A table daemon running in a host's namespace, its log (stderr) in a file.
pub struct NetTable {
    pub table: Table,
    pub ns: String,
    pub log: PathBuf,
}

impl NetTable {
    /// Starts `valgbord table --config CONFIG` in `host`'s namespace with log level
    /// info, appending its log to `log`.
    pub fn start(host: &Host, dir: &Path, config: &Path, log: &Path) -> NetTable {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &host.ns, daemon::bin()])
            .env("VALGBORD_LOG", "info")
            .stderr(Stdio::from(file));
        NetTable {
            table: Table::start_command(dir, config, cmd),
            ns: host.ns.clone(),
            log: log.to_path_buf(),
        }
    }

    /// Runs `f` with the table on a thread in its namespace, where its screen listener
    /// (loopback) is.
    pub fn at<T: Send>(&self, f: impl FnOnce(&Table) -> T + Send) -> T {
        in_ns(&self.ns, || f(&self.table))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
