//! Who may hold one of the sync listener's connections, so that a host on the LAN that
//! is not ours cannot starve the polling place's own sync.
//!
//! Before its TLS handshake ends a connection is anonymous, and a laptop can open
//! hundreds of them and send nothing. So the slots are split by what is known of the
//! remote *address*: an address from which a listed device has completed a handshake
//! (or 127.0.0.1 and ::1: the demo, and anything on the device itself) may use every
//! slot; any other address is a stranger, and strangers share a small pool with a cap
//! of a few connections each. A flood from one or a few hosts then fills at most that pool, and
//! the tables, whose addresses are known after their first handshake, keep the rest.
//! A stranger becomes known the moment a listed key completes a handshake from it, so
//! a new table on a fresh address gets in as long as the pool has room.
//!
//! Refusals and handshake time-outs are counted per address; many in a short time are
//! reported as a flood, for the log and the table's status bar, until it has been quiet
//! for a while.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Connections served at once. A polling place has a few dozen devices at most, each
/// with a connection or two to every peer.
pub const MAX_CONNECTIONS: usize = 128;
/// Of those, what addresses not (yet) known as a listed device may hold together.
pub const STRANGER_SLOTS: usize = 32;
/// What one stranger address may hold at once.
pub const PER_STRANGER: usize = 4;
/// Refusals and handshake time-outs from one address within [`FLOOD_WINDOW`] that make
/// a flood.
const FLOOD_COUNT: u64 = 20;
const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// A flood is reported over when nothing was refused for this long.
const FLOOD_QUIET: Duration = Duration::from_secs(30);
/// How often the log says again that a flood goes on.
const FLOOD_REMINDER: Duration = Duration::from_secs(60);
/// Known addresses remembered at most, unless the gate has more slots (a polling place
/// has far fewer devices; the central one per table).
const MAX_KNOWN: usize = 1024;

/// A flood of the sync port, as the status bar and the log tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flood {
    /// The address most refused.
    pub from: IpAddr,
    /// Connections refused or timed out since the flood began, from every address.
    pub refused: u64,
}

impl Flood {
    /// The status bar's words.
    pub fn danish(&self) -> String {
        format!(
            "Synkroniseringsporten overbelastes fra {} ({} forbindelser afvist). Bordene synkroniserer fortsat. Tilkald IT.",
            self.from, self.refused
        )
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Full,
    StrangersFull,
    AddressFull,
}

#[derive(Default)]
struct State {
    total: usize,
    strangers: usize,
    per_stranger: HashMap<IpAddr, usize>,
    known: HashSet<IpAddr>,
    /// Per address: refusals in the current window and when that window began.
    recent: HashMap<IpAddr, (u64, Instant)>,
    last_refusal: Option<Instant>,
    flood: Option<Flood>,
    /// When the log last said the flood goes on.
    last_reminder: Option<Instant>,
}

/// The listener's admission control; shared by the accept loop and its connections.
pub struct Gate {
    state: Mutex<State>,
    /// Connections served at once: [`MAX_CONNECTIONS`] at a table, more at the central.
    capacity: usize,
    flood_tx: watch::Sender<Option<Flood>>,
}

/// A held slot, given back when dropped.
pub struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
    stranger: bool,
}

impl Gate {
    pub fn new() -> Arc<Gate> {
        Gate::with_capacity(MAX_CONNECTIONS)
    }

    /// A gate for `capacity` connections at once: the central is reached by every
    /// table of the municipality, not the few dozen devices of a polling place.
    pub fn with_capacity(capacity: usize) -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new(State::default()),
            capacity,
            flood_tx: watch::channel(None).0,
        })
    }

    /// The flood reports: `Some` while the port is flooded.
    pub fn floods(&self) -> watch::Receiver<Option<Flood>> {
        self.flood_tx.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for a new connection from `ip`, or why not (the refusal is counted).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refusal> {
        let mut s = self.lock();
        let known = is_this_device(ip) || s.known.contains(&ip);
        let refusal = if s.total >= self.capacity {
            Some(Refusal::Full)
        } else if known {
            None
        } else if s.per_stranger.get(&ip).copied().unwrap_or(0) >= PER_STRANGER {
            Some(Refusal::AddressFull)
        } else if s.strangers >= STRANGER_SLOTS {
            Some(Refusal::StrangersFull)
        } else {
            None
        };
        if let Some(r) = refusal {
            self.count_refusal(&mut s, ip);
            return Err(r);
        }
        s.total += 1;
        if !known {
            s.strangers += 1;
            *s.per_stranger.entry(ip).or_default() += 1;
        }
        Ok(Ticket {
            gate: self.clone(),
            ip,
            stranger: !known,
        })
    }

    /// A connection whose handshake failed or did not end in time counts like a refusal.
    pub fn handshake_failed(&self, ip: IpAddr) {
        let mut s = self.lock();
        self.count_refusal(&mut s, ip);
    }

    /// Ends a flood report once it has been quiet long enough; called now and then.
    pub fn tick(&self) {
        let mut s = self.lock();
        if s.flood.is_some() && s.last_refusal.is_none_or(|t| t.elapsed() >= FLOOD_QUIET) {
            tracing::info!("sync port no longer flooded");
            s.flood = None;
            s.recent.clear();
            self.flood_tx.send_replace(None);
        }
    }

    fn count_refusal(&self, s: &mut State, ip: IpAddr) {
        let now = Instant::now();
        s.last_refusal = Some(now);
        let entry = s.recent.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) > FLOOD_WINDOW && s.flood.is_none() {
            *entry = (0, now);
        }
        entry.0 += 1;
        let from_ip = entry.0;
        let remind = s
            .last_reminder
            .is_none_or(|t| now.duration_since(t) >= FLOOD_REMINDER);
        if let Some(f) = &mut s.flood {
            f.refused += 1;
            if remind {
                tracing::warn!(from = %f.from, refused = f.refused, "sync port flooded: still refusing connections");
                s.last_reminder = Some(now);
            }
            // Published at most every 50 refusals: the status bar need not count each.
            if f.refused % 50 == 0 {
                self.flood_tx.send_replace(Some(f.clone()));
            }
        } else if from_ip >= FLOOD_COUNT {
            let refused = s.recent.values().map(|(n, _)| n).sum();
            let flood = Flood { from: ip, refused };
            tracing::warn!(from = %ip, refused, "sync port flooded: connections from this address are refused or never finish their TLS handshake; the listed devices keep their own slots");
            s.flood = Some(flood.clone());
            s.last_reminder = Some(now);
            self.flood_tx.send_replace(Some(flood));
        }
        if s.recent.len() > MAX_KNOWN {
            s.recent
                .retain(|_, (_, t)| now.duration_since(*t) <= FLOOD_WINDOW);
        }
    }
}

impl Ticket {
    /// A listed device completed its handshake on this connection: its address is known
    /// from now on, and this connection no longer takes a stranger's slot.
    pub fn listed_device(&mut self) {
        let mut s = self.gate.lock();
        // At least as many addresses as the listener has slots: a country's central
        // has thousands of tables, each on an address of its own.
        if s.known.len() < MAX_KNOWN.max(self.gate.capacity) {
            s.known.insert(self.ip);
        }
        if self.stranger {
            self.stranger = false;
            release_stranger(&mut s, self.ip);
        }
    }
}

/// The device's own loopback address. Other addresses of 127.0.0.0/8 are not exempt:
/// the benchmarks give each simulated device one of its own, a flooding one included.
fn is_this_device(ip: IpAddr) -> bool {
    ip == IpAddr::from([127, 0, 0, 1]) || ip == IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
}

fn release_stranger(s: &mut State, ip: IpAddr) {
    s.strangers = s.strangers.saturating_sub(1);
    if let Some(n) = s.per_stranger.get_mut(&ip) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            s.per_stranger.remove(&ip);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut s = self.gate.lock();
        s.total = s.total.saturating_sub(1);
        if self.stranger {
            release_stranger(&mut s, self.ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn one_stranger_gets_a_few_slots_and_the_known_tables_the_rest() {
        let gate = Gate::new();
        let mut flood = gate.floods();
        let mut held = Vec::new();
        for _ in 0..PER_STRANGER {
            held.push(gate.admit(ip(99)).expect("within the cap"));
        }
        for _ in 0..300 {
            assert_eq!(gate.admit(ip(99)).err(), Some(Refusal::AddressFull));
        }
        let f = flood.borrow_and_update().clone().expect("a flood reported");
        assert_eq!(f.from, ip(99));
        assert!(f.danish().contains("overbelast"), "{}", f.danish());
        // A table whose address is known still gets in, as many times as it needs.
        let mut t = gate
            .admit(ip(2))
            .expect("a new table while the pool has room");
        t.listed_device();
        for _ in 0..20 {
            held.push(gate.admit(ip(2)).expect("a known table"));
        }
        // 127.0.0.1 is the device itself; another loopback address is a host like any.
        for _ in 0..10 {
            held.push(gate.admit(IpAddr::from([127, 0, 0, 1])).expect("loopback"));
        }
        for _ in 0..PER_STRANGER {
            held.push(gate.admit(IpAddr::from([127, 0, 3, 1])).expect("pool"));
        }
        assert!(gate.admit(IpAddr::from([127, 0, 3, 1])).is_err());
    }

    #[test]
    fn strangers_together_fill_only_their_pool_and_slots_come_back() {
        let gate = Gate::new();
        let mut held = Vec::new();
        for host in 0..(STRANGER_SLOTS / PER_STRANGER) as u8 {
            for _ in 0..PER_STRANGER {
                held.push(gate.admit(ip(100 + host)).expect("pool"));
            }
        }
        assert_eq!(gate.admit(ip(200)).err(), Some(Refusal::StrangersFull));
        held.pop();
        assert!(gate.admit(ip(200)).is_ok(), "a freed slot is free again");
        drop(held);
        let s = gate.lock();
        assert_eq!((s.total, s.strangers), (0, 0));
        assert!(s.per_stranger.is_empty());
    }

    #[test]
    fn every_table_of_a_country_central_stays_known() {
        // 2,000 tables, each from its own address, have completed a handshake once.
        let tables = 2_000u16;
        let gate = Gate::with_capacity(2 * tables as usize);
        let addr = |n: u16| IpAddr::from([10, 1, (n >> 8) as u8, n as u8]);
        for n in 0..tables {
            gate.admit(addr(n)).expect("room").listed_device();
        }
        // Then all reconnect and hold their connections together: none is a stranger.
        let held: Vec<Ticket> = (0..tables)
            .map(|n| {
                gate.admit(addr(n))
                    .unwrap_or_else(|e| panic!("table {n}: {e:?}"))
            })
            .collect();
        assert_eq!(held.len(), tables as usize);
    }
}
