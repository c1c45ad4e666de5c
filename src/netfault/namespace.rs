//! A network namespace of the calling process's own, so the faults made in it touch
//! nothing else on the machine.

/// Why the private namespace could not be made.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("cannot make a network namespace ({0}): this needs root (CAP_SYS_ADMIN), as in CI")]
    Unshare(#[source] rustix::io::Errno),
    #[error("cannot run `ip` (Debian package iproute2): {0}")]
    NoIp(#[source] std::io::Error),
    /// What `ip` wrote on stderr.
    #[error("ip link set lo up: {0}")]
    LoopbackDown(String),
}

/// Moves this process into a new, empty network namespace with loopback up. Must run
/// before any other thread starts: a namespace is per thread, and only threads started
/// afterwards inherit it. The whole of 127.0.0.0/8 is local there, so each simulated
/// device gets an address of its own (127.0.1.N) that the firewall can tell apart.
pub fn enter_private() -> Result<(), NamespaceError> {
    // SAFETY: only the network namespace is unshared, never the file table, so no
    // thread can be left with descriptors it cannot use.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .map_err(NamespaceError::Unshare)?;
    let out = std::process::Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .output()
        .map_err(NamespaceError::NoIp)?;
    if !out.status.success() {
        return Err(NamespaceError::LoopbackDown(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

/// Raises the open-file limit to its hard maximum: a flood holds thousands of sockets.
pub fn raise_file_limit() {
    crate::open_files::raise_to_hard();
}
