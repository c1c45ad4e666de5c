//! Finding the other tables on the LAN by mDNS (DNS-SD), so a polling place works
//! without anyone typing addresses, and a table that gets a new address (DHCP) is found
//! again.
//!
//! Each table announces `_valgbord._tcp.local.` with its sync (TLS) port and TXT records
//! naming its election, polling place, table number and device key, and browses for the
//! others. An announcement is only a hint: whom to *try*. A table added from one must
//! still pass the TLS handshake with a listed device key, so a forged announcement can at
//! worst name an address that is then refused.

use super::client::{NewPeer, PeerAdder};
use super::tls::TrustedKeys;
use crate::election::keys::DevicePublic;
use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

/// The DNS-SD service type of a table's sync listener.
pub const SERVICE: &str = "_valgbord._tcp.local.";

/// What a table announces about itself, and what it compares others' announcements to.
#[derive(Debug, Clone)]
pub struct Announce {
    pub election: String,
    pub place: String,
    pub table_no: u32,
    pub device: DevicePublic,
    /// The TLS sync port.
    pub port: u16,
}

impl Announce {
    fn txt(&self) -> HashMap<String, String> {
        [
            ("election", self.election.clone()),
            ("place", self.place.clone()),
            ("table", self.table_no.to_string()),
            ("key", self.device.to_hex()),
            ("port", self.port.to_string()),
            ("v", env!("CARGO_PKG_VERSION").to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn instance(&self) -> String {
        format!(
            "valgbord-{}-{}-{}",
            self.place,
            self.table_no,
            self.device.short()
        )
    }
}

/// What to do with one resolved announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A table of our election and polling place with a listed key: sync with it.
    Peer(NewPeer),
    /// Our own announcement.
    Own,
    /// Not a table to sync with; why, for the log.
    Ignore(String),
}

/// Decides about an announcement (pure, so it is tested without a network).
pub fn judge(
    me: &Announce,
    trusted: &TrustedKeys,
    txt: &HashMap<String, String>,
    addresses: &[IpAddr],
    port: u16,
) -> Verdict {
    let (Some(election), Some(place), Some(key)) =
        (txt.get("election"), txt.get("place"), txt.get("key"))
    else {
        return Verdict::Ignore("announcement without election, place or key".into());
    };
    let device = match DevicePublic::from_hex(key) {
        Ok(d) => d,
        Err(e) => return Verdict::Ignore(format!("announced key: {e}")),
    };
    if device == me.device {
        return Verdict::Own;
    }
    if *election != me.election {
        return Verdict::Ignore(format!("a table of another election ({election})"));
    }
    if *place != me.place {
        return Verdict::Ignore(format!("a table of another polling place ({place})"));
    }
    if !trusted.allows(&device) {
        return Verdict::Ignore(format!(
            "device {} is not listed in [sync] devices",
            device.short()
        ));
    }
    // IPv4 first: IPv6 link-local addresses need an interface in the URL, which HTTP
    // clients do not take.
    let usable = |ip: &&IpAddr| !ip.is_loopback() && !ip.is_unspecified();
    let v4 = addresses.iter().filter(usable).find(|ip| ip.is_ipv4());
    let v6 = addresses.iter().filter(usable).find(|ip| match ip {
        IpAddr::V6(v6) => !v6.is_unicast_link_local(),
        IpAddr::V4(_) => false,
    });
    let url = match (v4, v6) {
        (Some(ip), _) => format!("https://{ip}:{port}"),
        (None, Some(ip)) => format!("https://[{ip}]:{port}"),
        (None, None) => return Verdict::Ignore("no usable address announced".into()),
    };
    Verdict::Peer(NewPeer {
        url,
        device: Some(device),
    })
}

/// A running announcement and browse; stopped when dropped.
pub struct Discovery {
    daemon: ServiceDaemon,
}

impl Drop for Discovery {
    fn drop(&mut self) {
        let _ = self.daemon.shutdown();
    }
}

/// Why discovery did not start. The table then syncs with its configured peers only;
/// the cause goes to the log with the error.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("mDNS cannot start: {0}")]
    Start(#[source] mdns_sd::Error),
    #[error("mDNS: {0}")]
    Interfaces(#[source] mdns_sd::Error),
    #[error("mDNS announcement: {0}")]
    Announcement(#[source] mdns_sd::Error),
    #[error("mDNS cannot announce this table: {0}")]
    Register(#[source] mdns_sd::Error),
    #[error("mDNS cannot browse: {0}")]
    Browse(#[source] mdns_sd::Error),
    #[error("mDNS: cannot start the browse thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Announces this table and adds every table found that `judge` accepts to the sync
/// client. Loopback is left out: a table must never be told to sync with itself, nor
/// announce an address no other table can reach.
pub fn start(
    me: Announce,
    trusted: TrustedKeys,
    adder: PeerAdder,
) -> Result<Discovery, DiscoveryError> {
    let daemon = ServiceDaemon::new().map_err(DiscoveryError::Start)?;
    daemon
        .disable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])
        .map_err(DiscoveryError::Interfaces)?;
    let host = format!("valgbord-{}.local.", me.device.short());
    let info = ServiceInfo::new(SERVICE, &me.instance(), &host, "", me.port, me.txt())
        .map_err(DiscoveryError::Announcement)?
        .enable_addr_auto();
    daemon.register(info).map_err(DiscoveryError::Register)?;
    let events = daemon.browse(SERVICE).map_err(DiscoveryError::Browse)?;
    tracing::info!(
        service = SERVICE,
        port = me.port,
        "mDNS: announcing this table and looking for the others"
    );
    std::thread::Builder::new()
        .name("mdns-browse".into())
        .spawn(move || {
            // Each reason is logged once per announcer, not at every re-announcement.
            let mut told: HashSet<(String, String)> = HashSet::new();
            // Ends when the daemon shuts down and closes the channel.
            while let Ok(event) = events.recv() {
                let ServiceEvent::ServiceResolved(svc) = event else {
                    continue;
                };
                let txt = svc.get_properties().clone().into_property_map_str();
                let addresses: Vec<IpAddr> =
                    svc.get_addresses().iter().map(|a| a.to_ip_addr()).collect();
                match judge(&me, &trusted, &txt, &addresses, svc.get_port()) {
                    Verdict::Own => {}
                    Verdict::Peer(peer) => {
                        let url = peer.url.clone();
                        if !adder.add(peer) {
                            break;
                        }
                        if told.insert((svc.get_fullname().to_string(), url.clone())) {
                            tracing::info!(name = %svc.get_fullname(), %url, "mDNS: found a table of this polling place");
                        }
                    }
                    Verdict::Ignore(why) => {
                        if told.insert((svc.get_fullname().to_string(), why.clone())) {
                            tracing::info!(name = %svc.get_fullname(), reason = %why, "mDNS: ignored");
                        }
                    }
                }
            }
        })
        .map_err(DiscoveryError::Thread)?;
    Ok(Discovery { daemon })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::keys::DeviceSecret;

    fn me() -> Announce {
        Announce {
            election: "kv".into(),
            place: "1".into(),
            table_no: 1,
            device: DeviceSecret::from_seed([1; 32]).public(),
            port: 8443,
        }
    }

    fn other(device: DevicePublic) -> Announce {
        Announce {
            table_no: 2,
            device,
            ..me()
        }
    }

    #[test]
    fn a_listed_table_of_the_same_place_becomes_a_peer() {
        let d = DeviceSecret::from_seed([2; 32]).public();
        let trusted = TrustedKeys::Listed([d].into());
        let addrs: Vec<IpAddr> = vec![
            "127.0.0.1".parse().unwrap(),
            "fe80::1".parse().unwrap(),
            "192.0.2.7".parse().unwrap(),
        ];
        let v = judge(&me(), &trusted, &other(d).txt(), &addrs, 9443);
        assert_eq!(
            v,
            Verdict::Peer(NewPeer {
                url: "https://192.0.2.7:9443".into(),
                device: Some(d)
            })
        );
        // IPv6 only: a global address in brackets; link-local and loopback never.
        let v6: Vec<IpAddr> = vec!["fe80::1".parse().unwrap(), "2001:db8::5".parse().unwrap()];
        let v = judge(&me(), &trusted, &other(d).txt(), &v6, 8443);
        assert!(matches!(v, Verdict::Peer(p) if p.url == "https://[2001:db8::5]:8443"));
        let lo: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "fe80::1".parse().unwrap()];
        assert!(matches!(
            judge(&me(), &trusted, &other(d).txt(), &lo, 8443),
            Verdict::Ignore(_)
        ));
    }

    #[test]
    fn other_elections_places_unlisted_keys_and_ourselves_are_not_peers() {
        let d = DeviceSecret::from_seed([2; 32]).public();
        let trusted = TrustedKeys::Listed([d].into());
        let addrs: Vec<IpAddr> = vec!["192.0.2.7".parse().unwrap()];
        let check = |a: Announce, trusted: &TrustedKeys, want: &str| match judge(
            &me(),
            trusted,
            &a.txt(),
            &addrs,
            8443,
        ) {
            Verdict::Ignore(why) => assert!(why.contains(want), "{why}"),
            v => panic!("expected ignore ({want}), got {v:?}"),
        };
        check(
            Announce {
                election: "fv".into(),
                ..other(d)
            },
            &trusted,
            "another election",
        );
        check(
            Announce {
                place: "2".into(),
                ..other(d)
            },
            &trusted,
            "another polling place",
        );
        let stranger = DeviceSecret::from_seed([3; 32]).public();
        check(other(stranger), &trusted, "not listed");
        // Test mode without a key list takes any device of the election and place.
        assert!(matches!(
            judge(
                &me(),
                &TrustedKeys::Any,
                &other(stranger).txt(),
                &addrs,
                8443
            ),
            Verdict::Peer(_)
        ));
        assert_eq!(
            judge(&me(), &trusted, &me().txt(), &addrs, 8443),
            Verdict::Own
        );
        let mut broken = other(d).txt();
        broken.remove("key");
        assert!(matches!(
            judge(&me(), &trusted, &broken, &addrs, 8443),
            Verdict::Ignore(_)
        ));
    }
}
