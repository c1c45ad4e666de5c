//! The one table core that the drivers, the sync node, the background tasks and the
//! screens' handlers all work on, behind one lock. Kept in a file of its own so each of
//! them can take it without importing the others.

use super::core::TableCore;
use std::sync::{Arc, Mutex};

/// The shared table, locked for each operation.
pub type SharedCore = Arc<Mutex<TableCore>>;

/// Locks the core, recovering from a poisoned lock: a panic in one request must not
/// stop the table (the store's transactions keep the data consistent).
pub fn lock(core: &SharedCore) -> std::sync::MutexGuard<'_, TableCore> {
    core.lock().unwrap_or_else(|e| e.into_inner())
}
