//! Importing the valgliste into the store: the checked list (`election::voter_list`)
//! written in one transaction, so a file with any error changes nothing.

use super::meta::{MetaKey, set_meta};
use super::schema::{VOTER_INDEX_NAMES, VOTER_INDEXES};
use super::{Result, Store, StoreError};
use crate::election::contest::format_contests;
use crate::election::names::fold;
use crate::election::voter::Voter;
use crate::election::voter_list::{ListError, find_duplicates, parse_chunks};
use rusqlite::params;

/// Why an import did not happen.
#[derive(Debug)]
pub enum ImportFailure {
    /// The file has errors; all of them, sorted by line.
    List(Vec<ListError>),
    Store(StoreError),
}

impl From<StoreError> for ImportFailure {
    fn from(e: StoreError) -> Self {
        ImportFailure::Store(e)
    }
}

impl From<rusqlite::Error> for ImportFailure {
    fn from(e: rusqlite::Error) -> Self {
        ImportFailure::Store(e.into())
    }
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    pub voters: usize,
    pub places: usize,
    pub sha256: [u8; 32],
}

pub(crate) const INSERT_VOTER: &str =
    "INSERT INTO voters(id, list_no, list_part, first_names, last_name, birthdate, sex,
       address, postcode, town, place, card_code, contests, brevstemme, struck,
       fold_first, fold_last, fold_address, country)
     VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

pub(crate) fn insert_voter(stmt: &mut rusqlite::Statement<'_>, v: &Voter) -> rusqlite::Result<()> {
    stmt.execute(params![
        v.id,
        v.list_no,
        v.list_part,
        v.first_names,
        v.last_name,
        v.birthdate.format("%Y-%m-%d").to_string(),
        v.sex.code(),
        v.address,
        v.postcode,
        v.town,
        v.place,
        v.card_code,
        format_contests(&v.contests),
        v.brevstemme,
        v.struck,
        fold(&v.first_names),
        fold(&v.last_name),
        fold(&v.address),
        v.country,
    ])?;
    Ok(())
}

impl Store {
    /// Checks a list file and replaces the voter list with it, in one transaction: a
    /// file with any error changes nothing. Parsing runs on a second thread while the
    /// first writes, which halves the time for a large municipality.
    ///
    /// Refused once the log holds events: from then on the list changes only through
    /// signed change events.
    pub fn import_file(
        &mut self,
        bytes: &[u8],
        signed: bool,
        progress: impl FnMut(u64) + Send,
    ) -> Result<ImportReport, ImportFailure> {
        // A rollback journal instead of WAL while the list is written: the WAL would
        // receive every page and then copy it again at the checkpoint, and building the
        // indexes over dirty WAL pages is several times slower. The import is one
        // transaction either way, so it stays atomic. (A larger page cache was tried and
        // makes the index sorts slower, not faster.)
        self.conn.pragma_update(None, "journal_mode", "DELETE")?;
        let result = self.import_in_tx(bytes, signed, progress);
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        result
    }

    fn import_in_tx(
        &mut self,
        bytes: &[u8],
        signed: bool,
        progress: impl FnMut(u64) + Send,
    ) -> Result<ImportReport, ImportFailure> {
        let tx = self.conn.transaction()?;
        let events: i64 = tx.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        if events > 0 {
            return Err(StoreError::Binding(format!(
                "the database already holds {events} events; a voter list can only be replaced before the first event"
            ))
            .into());
        }
        for idx in VOTER_INDEX_NAMES {
            tx.execute_batch(&format!("DROP INDEX IF EXISTS {idx}"))?;
        }
        tx.execute("DELETE FROM voters", [])?;
        tx.execute("DELETE FROM places", [])?;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<(Vec<Voter>, Vec<u64>)>(8);
        let (outcome, voters, lines, write_error) = std::thread::scope(|scope| {
            let parser = scope.spawn(move || {
                parse_chunks(bytes, progress, |v, l| {
                    // The receiver only goes away after a write error; parsing then
                    // finishes to report the file's own errors too.
                    let _ = sender.send((v, l));
                })
            });
            let mut voters: Vec<Voter> = Vec::new();
            let mut lines: Vec<u64> = Vec::new();
            let mut write_error: Option<rusqlite::Error> = None;
            match tx.prepare(INSERT_VOTER) {
                Ok(mut stmt) => {
                    for (chunk, chunk_lines) in receiver {
                        if write_error.is_none()
                            && let Err(e) =
                                chunk.iter().try_for_each(|v| insert_voter(&mut stmt, v))
                        {
                            write_error = Some(e);
                        }
                        voters.extend(chunk);
                        lines.extend(chunk_lines);
                    }
                }
                Err(e) => write_error = Some(e),
            }
            let outcome = parser.join();
            (outcome, voters, lines, write_error)
        });
        let mut outcome = outcome.map_err(|_| {
            StoreError::Invalid("the list parser stopped unexpectedly; nothing was imported".into())
        })?;
        find_duplicates(&voters, &lines, &mut outcome.errors);
        if !outcome.errors.is_empty() {
            outcome.errors.sort_by_key(|e| e.line);
            return Err(ImportFailure::List(outcome.errors));
        }
        if let Some(e) = write_error {
            return Err(ImportFailure::Store(e.into()));
        }
        {
            let mut pl = tx.prepare("INSERT INTO places(id, name) VALUES(?1, ?2)")?;
            for (id, name) in &outcome.places {
                pl.execute(params![id, name])?;
            }
        }
        for idx in VOTER_INDEXES {
            tx.execute_batch(idx)?;
        }
        set_meta(&tx, MetaKey::ListSha256, &hex::encode(outcome.sha256))?;
        set_meta(&tx, MetaKey::ListSigned, if signed { "yes" } else { "no" })?;
        set_meta(&tx, MetaKey::ListVoters, &voters.len().to_string())?;
        tx.commit()?;
        Ok(ImportReport {
            voters: voters.len(),
            places: outcome.places.len(),
            sha256: outcome.sha256,
        })
    }
}
