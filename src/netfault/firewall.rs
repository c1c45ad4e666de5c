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

/// Why nft did not set the rules: it would not run (not installed, not root), or it
/// refused them. The cause stays attached for the report.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("cannot run `nft` (Debian package nftables; needs root): {0}")]
    Spawn(#[source] std::io::Error),
    #[error("nft: no stdin")]
    NoStdin,
    #[error("nft: {0}")]
    Io(#[source] std::io::Error),
    #[error("nft refused the rules ({script}): {stderr}")]
    Refused { script: String, stderr: String },
}

fn nft(script: &str) -> Result<(), FirewallError> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(FirewallError::Spawn)?;
    child
        .stdin
        .take()
        .ok_or(FirewallError::NoStdin)?
        .write_all(script.as_bytes())
        .map_err(FirewallError::Io)?;
    let out = child.wait_with_output().map_err(FirewallError::Io)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(FirewallError::Refused {
            script: script.trim().to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "ip" } else { "ip6" }
}

impl Firewall {
    /// An empty rule set of our own, on the input hook (on loopback every packet passes
    /// it once, so a drop there is a drop on the wire).
    pub fn new(name: &str) -> Result<Firewall, FirewallError> {
        let table = format!("valgbord_{name}");
        nft(&format!(
            "add table inet {table}\nadd chain inet {table} input {{ type filter hook input priority 0; policy accept; }}\n"
        ))?;
        Ok(Firewall { table })
    }

    /// Every packet to `ip` is dropped: it cannot be reached (SYNs go unanswered).
    pub fn drop_to(&self, ip: IpAddr) -> Result<(), FirewallError> {
        self.rule(&format!("{} daddr {ip} drop", family(ip)))
    }

    /// `ip` is cut off: nothing reaches it and nothing it sends arrives.
    pub fn cut(&self, ip: IpAddr) -> Result<(), FirewallError> {
        self.drop_to(ip)?;
        self.rule(&format!("{} saddr {ip} drop", family(ip)))
    }

    /// A lossy link to and from `ip`: each packet is dropped with `percent` % chance.
    pub fn lossy(&self, ip: IpAddr, percent: u32) -> Result<(), FirewallError> {
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
    pub fn partition(&self, a: &[IpAddr], b: &[IpAddr]) -> Result<(), FirewallError> {
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
    pub fn heal(&self) -> Result<(), FirewallError> {
        nft(&format!("flush chain inet {} input\n", self.table))
    }

    fn rule(&self, rule: &str) -> Result<(), FirewallError> {
        nft(&format!("add rule inet {} input {rule}\n", self.table))
    }
}

impl Drop for Firewall {
    fn drop(&mut self) {
        let _ = nft(&format!("delete table inet {}\n", self.table));
    }
}
