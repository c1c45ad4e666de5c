//! Loopback ports for the processes one machine runs side by side: the demo's tables,
//! the rehearsal's and the benchmarks'. Its own module because the command line, the
//! rehearsal and the benchmarks all need it and none of them may use the others.

/// Why no ports could be had: the system would not lend one.
#[derive(Debug, thiserror::Error)]
pub enum PortsError {
    #[error("no free port: {0}")]
    NoFreePort(#[source] std::io::Error),
    #[error("{0}")]
    Address(#[source] std::io::Error),
}

/// `count` ports: consecutive from `first`, or free ones when `first` is 0 (all
/// reserved at once so they differ, then released for the devices to bind).
pub fn ports(first: u16, count: u32) -> Result<Vec<u16>, PortsError> {
    if first != 0 {
        return Ok((0..count as u16).map(|i| first + i).collect());
    }
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(PortsError::NoFreePort)?;
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .map_err(PortsError::Address)
        })
        .collect()
}
