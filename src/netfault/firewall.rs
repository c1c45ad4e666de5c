//! Packets dropped by nftables in the current network namespace: silently, so the
//! sender gets no refusal and its connects and requests time out, as behind a dead WAN
//! or a cut cable.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

/// The rules of one table of this module's own; dropped when this is dropped.
pub struct Firewall {
    table: String,
}

fn nft(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `nft` (Debian package nftables; needs root): {e}"))?;
    child
        .stdin
        .take()
        .ok_or("nft: no stdin")?
        .write_all(script.as_bytes())
        .map_err(|e| format!("nft: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft refused the rules ({}): {}",
            script.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "ip" } else { "ip6" }
}

impl Firewall {
    /// An empty rule set of our own, on the input hook (on loopback every packet passes
    /// it once, so a drop there is a drop on the wire).
    pub fn new(name: &str) -> Result<Firewall, String> {
        let table = format!("valgbord_{name}");
        nft(&format!(
            "add table inet {table}\nadd chain inet {table} input {{ type filter hook input priority 0; policy accept; }}\n"
        ))?;
        Ok(Firewall { table })
    }

    /// Every packet to `ip` is dropped: it cannot be reached (SYNs go unanswered).
    pub fn drop_to(&self, ip: IpAddr) -> Result<(), String> {
        self.rule(&format!("{} daddr {ip} drop", family(ip)))
    }

    /// `ip` is cut off: nothing reaches it and nothing it sends arrives.
    pub fn cut(&self, ip: IpAddr) -> Result<(), String> {
        self.drop_to(ip)?;
        self.rule(&format!("{} saddr {ip} drop", family(ip)))
    }

    /// A lossy link to and from `ip`: each packet is dropped with `percent` % chance.
    pub fn lossy(&self, ip: IpAddr, percent: u32) -> Result<(), String> {
        let f = family(ip);
        self.rule(&format!(
            "{f} daddr {ip} numgen random mod 100 < {percent} drop"
        ))?;
        self.rule(&format!(
            "{f} saddr {ip} numgen random mod 100 < {percent} drop"
        ))
    }

    /// A split LAN: nothing from `a` reaches `b` and nothing from `b` reaches `a`, while
    /// each side keeps talking within itself and to every other address (the WAN).
    /// Packets are dropped, not refused, so each side sees the other time out, as
    /// behind a dead switch. Addresses of either family; a pair of mixed families has
    /// no packets to drop.
    pub fn partition(&self, a: &[IpAddr], b: &[IpAddr]) -> Result<(), String> {
        for f in ["ip", "ip6"] {
            let set = |side: &[IpAddr]| {
                let v: Vec<String> = side
                    .iter()
                    .filter(|ip| family(**ip) == f)
                    .map(IpAddr::to_string)
                    .collect();
                (!v.is_empty()).then(|| format!("{{ {} }}", v.join(", ")))
            };
            if let (Some(sa), Some(sb)) = (set(a), set(b)) {
                self.rule(&format!("{f} saddr {sa} {f} daddr {sb} drop"))?;
                self.rule(&format!("{f} saddr {sb} {f} daddr {sa} drop"))?;
            }
        }
        Ok(())
    }

    /// Every rule removed: the network is whole again.
    pub fn heal(&self) -> Result<(), String> {
        nft(&format!("flush chain inet {} input\n", self.table))
    }

    fn rule(&self, rule: &str) -> Result<(), String> {
        nft(&format!("add rule inet {} input {rule}\n", self.table))
    }
}

impl Drop for Firewall {
    fn drop(&mut self) {
        let _ = nft(&format!("delete table inet {}\n", self.table));
    }
}
