//! Loopback ports for the processes one machine runs side by side: the demo's tables,
//! the rehearsal's and the benchmarks'. Its own module because the command line, the
//! rehearsal and the benchmarks all need it and none of them may use the others.

/// Why no ports could be had: the system would not lend one.
#[derive(Debug, thiserror::Error)]
pub enum PortsError {
    #[error("no free port: {0}")]
    NoFreePort(#[source] std::io::Error),
}

/// `count` ports: consecutive from `first`, or free ones when `first` is 0.
///
/// Free ones are taken below the kernel's ephemeral range (32768 and up on Linux), each
/// once per process: a port the kernel hands out for `:0` is free again as soon as it
/// is released for the device to bind, and on a busy machine an outgoing connection can
/// take it in between (the device then fails to start, "address in use"). Below that
/// range only listeners that ask for a port by number compete.
pub fn ports(first: u16, count: u32) -> Result<Vec<u16>, PortsError> {
    if first != 0 {
        return Ok((0..count as u16).map(|i| first + i).collect());
    }
    (0..count).map(|_| free_port()).collect()
}

const LOW: u32 = 10_000;
const SPAN: u32 = 22_000;

fn free_port() -> Result<u16, PortsError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Each process starts at its own place, so two processes rarely meet.
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7_919) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    let mut last = None;
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        // Free on every address (a sync listener binds 0.0.0.0), loopback included.
        match std::net::TcpListener::bind(("0.0.0.0", port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(PortsError::NoFreePort(last.unwrap_or_else(|| {
        std::io::Error::other("every port tried is taken")
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_below_the_ephemeral_range_and_bindable() {
        let got = ports(0, 50).unwrap();
        let distinct: std::collections::HashSet<u16> = got.iter().copied().collect();
        assert_eq!(distinct.len(), 50);
        for p in got {
            assert!((LOW..LOW + SPAN).contains(&(p as u32)), "{p}");
            std::net::TcpListener::bind(("127.0.0.1", p)).unwrap();
        }
    }
}
