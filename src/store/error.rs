//! Errors of the store, each with an English text for the log and a Danish one for
//! the screen.

use crate::election::event::EventError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the disk is full: nothing was stored ({0})")]
    DiskFull(String),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error(transparent)]
    Event(#[from] EventError),
    #[error("gap in the log of device {device}: expected event {expected}, got {got}")]
    Gap {
        device: String,
        expected: u64,
        got: u64,
    },
    #[error(
        "broken hash chain at event {device}#{seq}: it does not follow the device's previous event"
    )]
    BrokenChain { device: String, seq: u64 },
    #[error(
        "device {device} signed two different events with number {seq}: its log is forked, and no new event of it is taken"
    )]
    Equivocation { device: String, seq: u64 },
    #[error(
        "the log of device {device} is forked (two versions were seen): no new event of it is taken"
    )]
    Forked { device: String },
    #[error("{0}")]
    Binding(String),
    #[error("{0}")]
    Invalid(String),
    #[error("voter list change refused: {0}")]
    ListChange(crate::election::list_change::ChangeError),
}

impl StoreError {
    /// The message for the people at the table.
    pub fn danish(&self) -> String {
        match self {
            StoreError::DiskFull(_) => {
                "Disken er fuld. Intet blev gemt. Tilkald valgsekretæren.".into()
            }
            StoreError::Sqlite(_) => {
                "Der skete en fejl på bordet, og intet blev gemt. Tilkald valgsekretæren.".into()
            }
            StoreError::Event(_) | StoreError::Gap { .. } | StoreError::BrokenChain { .. } => {
                "En registrering blev afvist, fordi den er ændret, forfalsket eller ufuldstændig. Tilkald valgsekretæren."
                    .into()
            }
            StoreError::Equivocation { .. } | StoreError::Forked { .. } => {
                "To enheder optræder som dette bord. Bordet må ikke registrere flere vælgere. Tag bordet ud af brug, brug papirlisten for bordet, og ring til valgkontoret.".into()
            }
            StoreError::Binding(m) | StoreError::Invalid(m) => m.clone(),
            StoreError::ListChange(e) => format!("Listeændringen blev afvist: {}", e.danish),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == rusqlite::ErrorCode::DiskFull
        {
            return StoreError::DiskFull(e.to_string());
        }
        StoreError::Sqlite(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
