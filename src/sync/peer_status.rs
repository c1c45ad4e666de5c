//! What the table's status bar and the central's screen show of each sync peer. It is
//! kept apart from the client that fills it in, so that the [`super::node::SyncNode`]
//! trait (which receives it) and the client (which drives a node) need not import each
//! other.

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    Connected,
    Lost,
    /// Another election, list or software version: never synced with.
    WrongConfig(String),
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeerStatus {
    pub url: String,
    /// The peer's table number, from the hello of its first answer (mutual TLS with a
    /// listed device key, unlike an mDNS announcement); `None` until it has answered.
    pub table_no: Option<u32>,
    pub state: PeerState,
    /// Events the peer has that we lack, at the last contact.
    pub we_lack: u64,
    /// Events we have that the peer lacks, at the last contact.
    pub they_lack: u64,
    pub last_contact_ms: Option<i64>,
    /// The peer's wall clock minus ours (half the round trip allowed for), in ms.
    pub clock_skew_ms: i64,
    /// This peer is the central tally (shown apart in the status bar).
    pub central: bool,
}

impl PeerStatus {
    /// How a person is told of this peer: "bord 2" once its answers have named its
    /// number (people know their tables by number, not by address), its URL until then
    /// and for a central tally.
    pub fn name(&self) -> String {
        match self.table_no {
            Some(n) if !self.central => format!("bord {n}"),
            _ => self.url.clone(),
        }
    }

    /// Whether a screen shows `other` as it shows this: everything but the time of the
    /// last contact (which changes with every answer) and a skew within the same second.
    pub fn shows_as(&self, other: &PeerStatus) -> bool {
        let plain = |s: &PeerStatus| PeerStatus {
            last_contact_ms: None,
            clock_skew_ms: s.clock_skew_ms / 1000,
            ..s.clone()
        };
        plain(self) == plain(other)
    }
}
