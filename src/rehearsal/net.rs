//! The network the rehearsed polling place talks over.
//!
//! As root the rehearsal makes a network namespace of its own, so its faults are those
//! of a real LAN: each table syncs over TLS on an address of its own (127.0.1.N), and a
//! split is packets dropped by nftables between the two halves (connects and requests
//! time out, nothing is refused), as behind a failed switch. A flooding host gets an
//! address of its own too. Without root (or without `ip`/`nft`) the tables sync in
//! plain HTTP on their screen ports on the machine's loopback, and a split is the
//! daemons' test-mode filter (`/api/test/partition`): the sync logic is rehearsed, the
//! network's behaviour is not, and the report says so.
//!
//! The screens and the central stay on 127.0.0.1 either way: the simulator plays the
//! people at the tables and the election office, not a device on the LAN.

use crate::netfault::{firewall::Firewall, namespace};
use std::net::{IpAddr, SocketAddr};

/// Where the tables serve sync over TLS in the namespace (each on its own address).
pub const SYNC_PORT: u16 = 8443;
/// The host on the LAN that is not ours, for the flood fault.
pub const FLOODER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 3, 1));
/// Where the tables reach the office's central over the WAN in the namespace: a proxy
/// (`crate::netfault::proxy`) on an address of its own, so the `wan` fault can make
/// that one link slow (the proxy's delay) and lossy (nftables drops) and nothing else.
pub const CENTRAL_FRONT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 2, 1));
/// Tables on addresses of their own: 127.0.1.1 up to 127.0.1.250.
pub const MAX_TABLES: u32 = 250;

pub enum Network {
    /// A network namespace of the rehearsal's own, with the firewall its faults use.
    Namespace(Firewall),
    /// The machine's loopback, and why not a namespace of its own.
    Loopback { why: String },
}

impl Network {
    /// Enters a network namespace of its own when it can (root, `ip`, `nft`), else
    /// stays on loopback. Must run before any thread starts (see
    /// [`namespace::enter_private`]): the runtime and the table processes started
    /// afterwards live in the namespace.
    pub fn choose() -> Network {
        if !rustix::process::geteuid().is_root() {
            return Network::Loopback {
                why: "ikke root".into(),
            };
        }
        if let Err(e) = namespace::enter_private() {
            return Network::Loopback { why: e.to_string() };
        }
        // A flood holds hundreds of sockets in this process.
        namespace::raise_file_limit();
        match Firewall::new("simulate") {
            Ok(f) => Network::Namespace(f),
            // Loopback of the fresh namespace still works; the faults cannot be real.
            Err(e) => Network::Loopback { why: e.to_string() },
        }
    }

    pub fn firewall(&self) -> Option<&Firewall> {
        match self {
            Network::Namespace(f) => Some(f),
            Network::Loopback { .. } => None,
        }
    }

    /// The report's line on the network used.
    pub fn line(&self) -> String {
        match self {
            Network::Namespace(_) => {
                "Netværk: eget netværksnavnerum, fejl som tabte pakker (nftables); bordene synkroniserer over TLS på hver sin adresse (127.0.1.N)".into()
            }
            Network::Loopback { why } => {
                format!("Netværk: loopback, LAN-deling som test-filter ({why})")
            }
        }
    }
}

/// The address of table `i` (0-based) in the namespace.
pub fn table_ip(i: usize) -> IpAddr {
    IpAddr::from([127, 0, 1, (i % MAX_TABLES as usize) as u8 + 1])
}

/// Where table `i` serves sync over TLS in the namespace.
pub fn sync_addr(i: usize) -> SocketAddr {
    SocketAddr::new(table_ip(i), SYNC_PORT)
}
