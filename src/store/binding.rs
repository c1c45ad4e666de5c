//! A device database belongs to one election, and to either a real election day or a
//! rehearsal. Test data left on machines once showed voters as already voted (FA 2022);
//! these checks make that impossible.

use super::meta::MetaKey;
use super::retention::DestroyRules;
use super::{Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, OpenOptions};
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

/// Read from the configuration files' `mode` key, so a misspelt mode is refused by the
/// parser with the line it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The real election: only signed lists, no test events. The default, so a
    /// configuration that forgets `mode` can never count as a rehearsal.
    #[default]
    Election,
    /// Rehearsal and demo: unsigned lists allowed, events marked as test.
    Test,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Election => "election",
            Mode::Test => "test",
        }
    }
}

impl Store {
    pub fn bound_election(&self) -> Result<Option<String>> {
        self.meta(MetaKey::Election)
    }

    /// Binds a fresh database to an election, or checks that it already belongs to it.
    pub fn bind(&self, election: &str, mode: Mode) -> Result<()> {
        match self.bound_election()? {
            None => {
                self.set_meta(MetaKey::Election, election)?;
                self.set_meta(MetaKey::Mode, mode.as_str())?;
                Ok(())
            }
            Some(_) => self.check_binding(election, mode),
        }
    }

    /// Refuses to work on another election's database, or to run an election on a
    /// database that holds a rehearsal's events.
    pub fn check_binding(&self, election: &str, mode: Mode) -> Result<()> {
        let path = self.path().display().to_string();
        let bound = self.bound_election()?;
        if let Some(b) = &bound
            && b != election
        {
            return Err(StoreError::Binding(format!(
                "Databasen {path} tilhører valget \"{b}\", ikke \"{election}\". \
                 Brug en ny database til dette valg, eller slet den gamle med `valgbord destroy --db {path}`."
            )));
        }
        if mode == Mode::Election {
            let test = self.test_event_count()?;
            let bound_mode = self.meta(MetaKey::Mode)?;
            if test > 0 || bound_mode.as_deref() == Some(Mode::Test.as_str()) {
                return Err(StoreError::Binding(format!(
                    "Databasen {path} er brugt til en prøvekørsel ({test} testhændelser) og kan ikke bruges til valget. \
                     Slet den med `valgbord destroy --db {path}` og indlæs valglisten igen."
                )));
            }
            if self.meta(MetaKey::ListSigned)?.as_deref() == Some("no") {
                return Err(StoreError::Binding(format!(
                    "Valglisten i {path} er ikke underskrevet af valgkontoret. \
                     Indlæs den med --signature og --office-key."
                )));
            }
        }
        Ok(())
    }

    /// SHA-256 over the hashes of every event in (device, seq) order: a fingerprint of
    /// the whole log for receipts.
    pub fn log_hash(&self) -> Result<[u8; 32]> {
        let mut stmt = self
            .conn
            .prepare("SELECT hash FROM events ORDER BY device, seq")?;
        let mut rows = stmt.query([])?;
        let mut h = Sha256::new();
        while let Some(r) = rows.next()? {
            let b: Vec<u8> = r.get(0)?;
            h.update(&b);
        }
        Ok(h.finalize().into())
    }
}

/// What `valgbord destroy` leaves behind as proof.
#[derive(Debug, Clone, Serialize)]
pub struct DestructionReceipt {
    pub election: String,
    pub device: String,
    pub database: String,
    pub voters: i64,
    pub events: u64,
    pub log_sha256: String,
    pub list_sha256: String,
    pub destroyed_at: String,
    pub files: Vec<String>,
    /// The first day destruction was allowed (the complaint deadline passed).
    pub allowed_from: String,
    /// The exported closing report kept for the afstemningsbog: its SHA-256 and file.
    pub closing_report_sha256: String,
    pub closing_report_file: String,
    /// Copies outside the database, to destroy by hand.
    pub by_hand: Vec<String>,
}

impl DestructionReceipt {
    pub fn to_text(&self) -> String {
        format!(
            "DESTRUKTIONSKVITTERING / DESTRUCTION RECEIPT\n\
             valg / election:        {}\n\
             enhed / device:         {}\n\
             database:               {}\n\
             vælgere / voters:       {}\n\
             hændelser / events:     {}\n\
             log SHA-256:            {}\n\
             valgliste SHA-256:      {}\n\
             tidspunkt / time:       {}\n\
             tilladt fra / allowed from: {}\n\
             afslutningsrapport SHA-256 (bevares / kept): {}\n  {}\n\
             filer overskrevet og slettet / files overwritten and deleted:\n  {}\n\
             destruér også i hånden / also destroy by hand:\n  {}\n",
            self.election,
            self.device,
            self.database,
            self.voters,
            self.events,
            self.log_sha256,
            self.list_sha256,
            self.destroyed_at,
            self.allowed_from,
            self.closing_report_sha256,
            self.closing_report_file,
            self.files.join("\n  "),
            self.by_hand.join("\n  ")
        )
    }
}

/// Overwrites the database (and its WAL and shared-memory files) with zeros, syncs,
/// and deletes them, once `rules` allow it (see [`Store::destruction_permit`]). The
/// receipt is made before, from the data being destroyed.
pub fn destroy(db: &Path, device: &str, rules: &DestroyRules) -> Result<DestructionReceipt> {
    if !db.exists() {
        return Err(StoreError::Invalid(format!(
            "there is no database at {}",
            db.display()
        )));
    }
    let store = Store::open(db)?;
    let permit = store.destruction_permit(rules)?;
    let receipt = DestructionReceipt {
        election: store
            .bound_election()?
            .unwrap_or_else(|| "(ikke bundet)".into()),
        device: device.to_string(),
        database: db.display().to_string(),
        voters: store.voter_count(None)?,
        events: store.event_count()?,
        log_sha256: hex::encode(store.log_hash()?),
        list_sha256: store.meta(MetaKey::ListSha256)?.unwrap_or_default(),
        destroyed_at: chrono::Local::now().to_rfc3339(),
        files: Vec::new(),
        allowed_from: permit.first_day.to_string(),
        closing_report_sha256: permit.report.sha256,
        closing_report_file: format!("{} ({})", permit.report.file, permit.report.at),
        by_hand: permit.by_hand,
    };
    drop(store);
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            wipe(&p).map_err(|e| {
                StoreError::Invalid(format!("could not overwrite {}: {e}", p.display()))
            })?;
            files.push(p.display().to_string());
        }
    }
    Ok(DestructionReceipt { files, ..receipt })
}

fn wipe(p: &Path) -> std::io::Result<()> {
    let len = fs::metadata(p)?.len();
    let mut f = OpenOptions::new().write(true).open(p)?;
    f.rewind()?;
    let zeros = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    drop(f);
    fs::remove_file(p)
}
