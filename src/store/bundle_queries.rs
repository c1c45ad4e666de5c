//! What `valgbord export` reads of a device's database for its bundle: the whole log as
//! stored (body, signature and hash exactly as written), the fork evidence and the
//! device's facts, all in the one read transaction of a [`ReadSnapshot`] on a read-only
//! connection, so exporting never changes the database and a table may go on meanwhile.

use super::Result;
use super::meta::MetaKey;
use super::read_snapshot::ReadSnapshot;
use crate::election::event::{ForkEvidence, SignedEvent};

/// One event as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub device: String,
    pub seq: u64,
    pub signed: SignedEvent,
    /// The hash the device computed when it took the event in.
    pub hash: Vec<u8>,
}

impl ReadSnapshot<'_> {
    /// Every event of every device, by device and sequence number.
    pub fn stored_events(&self) -> Result<Vec<StoredEvent>> {
        Ok(self
            .tx
            .prepare_cached("SELECT device, seq, body, sig, hash FROM events ORDER BY device, seq")?
            .query_map([], |r| {
                Ok(StoredEvent {
                    device: r.get(0)?,
                    seq: r.get::<_, i64>(1)? as u64,
                    signed: SignedEvent {
                        body: r.get(2)?,
                        sig: r.get(3)?,
                    },
                    hash: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Every proof of a fork held (both versions as signed).
    pub fn stored_forks(&self) -> Result<Vec<ForkEvidence>> {
        super::forks::evidence(&self.tx)
    }

    /// A fact of the `meta` table, read inside the snapshot.
    pub fn meta_value(&self, key: MetaKey) -> Result<Option<String>> {
        super::meta::meta(&self.tx, key)
    }
}
