//! Test-mode control of replication: a table can be told to ignore certain peers, which
//! splits the LAN for rehearsals and tests without touching the network.

use crate::election::keys::DevicePublic;
use std::collections::HashSet;
use std::sync::RwLock;

#[derive(Default)]
pub struct SyncControl {
    blocked: RwLock<HashSet<DevicePublic>>,
}

impl SyncControl {
    pub fn is_blocked(&self, d: &DevicePublic) -> bool {
        self.blocked.read().map(|b| b.contains(d)).unwrap_or(false)
    }

    pub fn set_blocked(&self, devices: HashSet<DevicePublic>) {
        if let Ok(mut b) = self.blocked.write() {
            *b = devices;
        }
    }
}
