//! Real network faults on one machine, for the benchmarks and the rehearsal: a private
//! network namespace, packets dropped by the kernel's firewall (no refusal is sent, so
//! connects time out as on a real LAN), a TCP proxy that stalls or delays, and a host
//! that floods a port with connections it never uses.
//!
//! Everything here needs root (network namespaces and nftables), which CI has. Each
//! function that cannot work says which capability or Debian package is missing.
//! Nothing here is used in an election: the table and the central never call it.

pub mod firewall;
pub mod flood;
pub mod namespace;
pub mod proxy;
