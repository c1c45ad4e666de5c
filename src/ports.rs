//! Loopback ports for the processes one machine runs side by side: the demo's tables,
//! the rehearsal's and the benchmarks'. Its own module because the command line, the
//! rehearsal and the benchmarks all need it and none of them may use the others.

/// `count` ports: consecutive from `first`, or free ones when `first` is 0 (all
/// reserved at once so they differ, then released for the devices to bind).
pub fn ports(first: u16, count: u32) -> Result<Vec<u16>, String> {
    if first != 0 {
        return Ok((0..count as u16).map(|i| first + i).collect());
    }
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("no free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string()))
        .collect()
}
