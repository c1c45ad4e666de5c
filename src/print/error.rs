//! Why printing failed, in English for the log and in Danish for the screen.

use super::escpos;

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("cannot encode the receipt: {0}")]
    Encode(#[from] escpos::EncodeError),
    #[error("printer {target}: {source}")]
    Io {
        target: String,
        source: std::io::Error,
    },
    #[error("printer {target}: {detail}")]
    Device { target: String, detail: String },
    #[error("printer {target} took no data for {seconds} s (out of paper, lid open?)")]
    Stalled { target: String, seconds: u64 },
    #[error("cannot write {path}: {source}")]
    Output {
        path: String,
        source: std::io::Error,
    },
    #[error("PDF: {0}")]
    Pdf(String),
    #[error("database: {0}")]
    Store(String),
    #[error("voter {0} is not on the list")]
    UnknownVoter(String),
    #[error("polling place {0} is not on the list")]
    UnknownPlace(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Key(#[from] crate::store::keyfile::KeyFileError),
}

impl PrintError {
    /// The text for the screen.
    pub fn danish(&self) -> String {
        match self {
            PrintError::Encode(e) => e.danish(),
            // The device and the file go to the log (the English text) and behind
            // "Detaljer" on the table's screen, never into the sentence.
            PrintError::Io { .. } | PrintError::Device { .. } => {
                "Printeren svarer ikke. Tjek, at den er tændt, har papir og er sluttet til, og udskriv igen."
                    .into()
            }
            PrintError::Stalled { seconds, .. } => format!(
                "Printeren har ikke taget imod data i {seconds} sekunder. Tjek papiret, og at låget er lukket. Udskriv derefter igen."
            ),
            PrintError::Output { .. } => {
                "Udskriften kunne ikke gemmes. Prøv igen, eller ring til valgkontoret.".into()
            }
            PrintError::Pdf(_) => "PDF-filen kunne ikke laves. Prøv igen.".into(),
            PrintError::Store(_) => {
                "Valglisten på bordet kunne ikke læses. Prøv igen, eller ring til valgkontoret."
                    .into()
            }
            PrintError::UnknownVoter(_) => {
                "Vælgeren findes ikke på valglisten. Søg vælgeren frem igen.".into()
            }
            PrintError::UnknownPlace(id) => format!("Valgsted {id} findes ikke på valglisten."),
            PrintError::Invalid(e) => format!("Ugyldigt input: {e}"),
            PrintError::Key(e) => e.danish(),
        }
    }
}

impl From<crate::store::StoreError> for PrintError {
    fn from(e: crate::store::StoreError) -> Self {
        PrintError::Store(e.to_string())
    }
}

impl From<rusqlite::Error> for PrintError {
    fn from(e: rusqlite::Error) -> Self {
        PrintError::Store(e.to_string())
    }
}
