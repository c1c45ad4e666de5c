//! The `meta` table: the facts a device database holds about itself (its election,
//! its mode, its list). The keys are an enum so a misspelt key cannot read as "not
//! set"; their text is what databases of today hold, and must stay so.

use super::{Result, Store};
use rusqlite::{Connection, OptionalExtension};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKey {
    /// The election the database is bound to.
    Election,
    /// `Mode::as_str` of the binding: a rehearsal's database never runs an election.
    Mode,
    /// This device's public key (hex), set on the table's first start.
    Device,
    /// The election office's public key (hex) the list was signed with.
    OfficeKey,
    /// SHA-256 (hex) of the imported voter list file.
    ListSha256,
    /// "yes" when the list was imported with the office's signature, else "no".
    ListSigned,
    /// How many voters the imported list holds.
    ListVoters,
    /// Wrong PINs in a row at this table and until when (wall-clock ms) the next
    /// attempt waits: "3;1764640000000", kept so a restart resets no delay or lockout.
    PinAttempts,
    /// The election day (YYYY-MM-DD) and the contests ("KV+RV"), recorded by the
    /// table at its start: `destroy` reads the complaint deadline from them.
    ElectionDate,
    Contests,
    /// Where the table wrote its paper-list PDFs, for the destruction receipt.
    PaperListDir,
    /// The municipality's research hold (JSON `ResearchHold`): no destruction while set.
    ResearchHold,
    /// The last exported closing report (JSON `ExportedReport`).
    ClosingReport,
    /// The voters sent to this table without a card and not yet approved or cancelled
    /// (JSON), so a restart shows them again.
    SentHere,
}

impl MetaKey {
    /// The key as stored in the `meta` table.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaKey::Election => "election",
            MetaKey::Mode => "mode",
            MetaKey::Device => "device",
            MetaKey::OfficeKey => "office_key",
            MetaKey::ListSha256 => "list_sha256",
            MetaKey::ListSigned => "list_signed",
            MetaKey::ListVoters => "list_voters",
            MetaKey::PinAttempts => "pin_attempts",
            MetaKey::ElectionDate => "election_date",
            MetaKey::Contests => "contests",
            MetaKey::PaperListDir => "paper_list_dir",
            MetaKey::ResearchHold => "research_hold",
            MetaKey::ClosingReport => "closing_report",
            MetaKey::SentHere => "sent_here",
        }
    }
}

impl Store {
    pub fn meta(&self, key: MetaKey) -> Result<Option<String>> {
        meta(&self.conn, key)
    }

    pub fn set_meta(&self, key: MetaKey, value: &str) -> Result<()> {
        set_meta(&self.conn, key, value)
    }

    /// The table's PIN attempts as [`save_pin_attempts`] left them: wrong PINs in a
    /// row and until when (wall-clock ms) the next must wait. None: none recorded (or
    /// an unreadable value, which the next wrong PIN overwrites).
    pub fn pin_attempts(&self) -> Result<Option<(u32, Option<i64>)>> {
        let Some(text) = self.meta(MetaKey::PinAttempts)? else {
            return Ok(None);
        };
        let (wrong, until) = text.split_once(';').unwrap_or((text.as_str(), ""));
        Ok(wrong.parse().ok().map(|w| (w, until.parse().ok())))
    }
}

/// Records a table's PIN attempts in its database, on a connection of its own: the PIN
/// is checked outside the table's lock, so the table's own connection is not at hand.
pub fn save_pin_attempts(db: &std::path::Path, wrong: u32, until_ms: Option<i64>) -> Result<()> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let until = until_ms.map(|u| u.to_string()).unwrap_or_default();
    set_meta(&conn, MetaKey::PinAttempts, &format!("{wrong};{until}"))
}

/// [`Store::meta`] on a connection or transaction of the store.
pub(crate) fn meta(conn: &Connection, key: MetaKey) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key=?1", [key.as_str()], |r| {
            r.get(0)
        })
        .optional()?)
}

/// [`Store::set_meta`] on a connection or transaction of the store.
pub(crate) fn set_meta(conn: &Connection, key: MetaKey, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES(?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value=excluded.value",
        [key.as_str(), value],
    )?;
    Ok(())
}
