//! The pre-opening checklist: what must be right before 08:00, on the screen and as the
//! "klar til åbning" receipt. The incidents that stopped Danish polling places were
//! set-up, not scanning (a mis-configured scanner 2015, test data left on machines
//! 2022, lost brevstemme marks 2024), so each of those is an item, and an election-mode
//! table will not open while a blocking item fails.

use super::core::{TableCore, TableError};
use crate::print::receipt::{Align, Item, Receipt, Size};
use crate::store::meta::MetaKey;
use crate::sync::peer_status::PeerState;
use serde::Serialize;

/// The test card's codes: one printed as QR, one as Code 128, so both symbologies the
/// scanner must read are tried.
pub const TEST_PREFIX: &str = "VBTEST-";

pub fn test_codes(election: &str) -> (String, String) {
    (
        format!("{TEST_PREFIX}QR-{election}"),
        format!("{TEST_PREFIX}128-{election}"),
    )
}

/// Free space below this refuses opening: a full disk must not be found at 17:00.
const DISK_MIN_BYTES: u64 = 200 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckItem {
    pub id: &'static str,
    /// Danish, for the screen and the receipt.
    pub title: String,
    pub ok: bool,
    /// Opening is refused while this fails (election mode).
    pub blocking: bool,
    pub detail: String,
    /// Hashes, keys, paths, settings: behind "Detaljer" on the screen (English terms
    /// allowed), never in the sentence the tilforordnede read.
    pub technical: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub items: Vec<CheckItem>,
    /// Every blocking item passes (always true in test mode, where it is advice).
    pub ready: bool,
    pub test_mode: bool,
    /// The election id (the test card's codes name it).
    pub election: String,
}

fn item(id: &'static str, title: &str, ok: bool, blocking: bool, detail: String) -> CheckItem {
    CheckItem {
        id,
        title: title.into(),
        ok,
        blocking,
        detail,
        technical: None,
    }
}

fn with_technical(mut i: CheckItem, technical: String) -> CheckItem {
    i.technical = Some(technical);
    i
}

/// "58,2 GB fri": free disk in gigabytes with one decimal, Danish decimal comma.
pub fn free_text(bytes: u64) -> String {
    let gb = bytes as f64 / 1e9;
    format!("{gb:.1} GB fri").replace('.', ",")
}

fn free_bytes(path: &std::path::Path) -> Option<u64> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

impl TableCore {
    pub fn checklist(&self) -> Result<Checklist, TableError> {
        let election_mode = !self.id.test;
        let mut items = self.setup_items(election_mode)?;
        items.extend(self.peer_items());
        items.extend(self.device_items());
        let ready = !election_mode || items.iter().all(|i| i.ok || !i.blocking);
        Ok(Checklist {
            items,
            ready,
            test_mode: self.id.test,
            election: self.id.election.clone(),
        })
    }

    /// The election, the list, the brevstemmer, test data and the table's key: what the
    /// set-up brought onto this table.
    fn setup_items(&self, election_mode: bool) -> Result<Vec<CheckItem>, TableError> {
        let store = self.store();
        let mut items = Vec::new();
        items.push(item(
            "valg",
            "Valg og valgsted",
            true,
            false,
            format!(
                "{} · {}, bord {}",
                self.id
                    .election_name
                    .as_deref()
                    .unwrap_or(&self.id.election),
                self.place_name,
                self.id.table_no
            ),
        ));
        let signed = store.meta(MetaKey::ListSigned)?.as_deref() == Some("yes");
        let sha = store.meta(MetaKey::ListSha256)?.unwrap_or_default();
        items.push(with_technical(
            item(
                "valgliste",
                "Valglisten er kontrolleret",
                signed,
                election_mode,
                format!(
                    "{} vælgere på valgstedet, {} i alt{}",
                    store.voter_count(Some(&self.id.place))?,
                    store.voter_count(None)?,
                    if signed {
                        ", underskrevet af valgkontoret"
                    } else {
                        ", IKKE underskrevet (kun prøve)"
                    }
                ),
            ),
            format!("SHA-256 {sha}"),
        ));
        let marks = store.brevstemme_marks()?;
        // KRVL § 71: the valgstyrere examine every received brevstemme before opening.
        let undecided = store.brevstemmer_undecided(&self.id.place)?;
        items.push(with_technical(
            item(
                "brevstemmer",
                "Brevstemmer afgjort af valgstyrerne",
                undecided == 0,
                election_mode,
                format!(
                    "{} modtaget på valgstedet ({} i alt), {} taget i betragtning, {undecided} ikke afgjort{}",
                    store.brevstemmer(&self.id.place)?,
                    marks.count,
                    store.brevstemmer_counted(&self.id.place)?,
                    if undecided == 0 {
                        ""
                    } else {
                        ": to valgstyrere afgør dem på valgsekretærens skærm"
                    }
                ),
            ),
            format!("kontrolsum (SHA-256) {}", marks.sha256),
        ));
        let test_events = store.test_event_count()?;
        items.push(item(
            "testdata",
            "Ingen prøvedata på bordet",
            test_events == 0,
            election_mode,
            if test_events == 0 {
                "ingen prøveregistreringer".into()
            } else {
                format!("{test_events} prøveregistreringer: bordet skal sættes op på ny; ring til valgkontoret")
            },
        ));
        let registered = self
            .id
            .trust
            .enrolment
            .as_ref()
            .is_some_and(|e| e.contains(&self.device()));
        items.push(with_technical(
            item(
                "noegle",
                "Bordets nøgle er registreret",
                registered,
                election_mode,
                if registered {
                    "bordet står i valgstedets liste over borde".into()
                } else {
                    "bordet står IKKE i valgstedets liste over borde: ring til valgkontoret".into()
                },
            ),
            format!("device {} · config: [sync] devices", self.device().to_hex()),
        ));
        Ok(items)
    }

    /// The other tables: seen, and with clocks that agree.
    fn peer_items(&self) -> [CheckItem; 2] {
        let peers: Vec<_> = self.peers.iter().filter(|p| !p.central).collect();
        let connected = peers
            .iter()
            .filter(|p| p.state == PeerState::Connected)
            .count();
        let borde = item(
            "borde",
            "Andre borde set",
            connected == peers.len(),
            false,
            if peers.is_empty() {
                "ingen andre borde i opsætningen".into()
            } else {
                format!("{connected} af {} forbundet", peers.len())
            },
        );
        let skewed: Vec<String> = peers
            .iter()
            .filter(|p| p.state == PeerState::Connected && p.clock_skew_ms.abs() > 2_000)
            .map(|p| format!("{} ({:+} s)", p.name(), p.clock_skew_ms / 1000))
            .collect();
        let ur = item(
            "ur",
            "Uret stemmer med de andre borde",
            skewed.is_empty(),
            false,
            if skewed.is_empty() {
                "afviger mindre end 2 sekunder".into()
            } else {
                format!("afviger: {}", skewed.join(", "))
            },
        );
        [borde, ur]
    }

    /// The scanner and printer self-tests and the free disk.
    fn device_items(&self) -> [CheckItem; 3] {
        let st = &self.self_test;
        let scanner = item(
            "scanner",
            "Scannertest",
            st.qr && st.code128,
            true,
            match (st.qr, st.code128) {
                (true, true) => "testkortets QR-kode og stregkode er læst".into(),
                (true, false) => "QR-koden er læst; scan også stregkoden (Code 128)".into(),
                (false, true) => "stregkoden er læst; scan også QR-koden".into(),
                (false, false) => "scan testkortets QR-kode og stregkode".into(),
            },
        );
        let (printer_ok, printer_detail) = match (&self.id.printer, &st.printer) {
            (None, _) => (
                true,
                "ingen kvitteringsprinter (kort udskrives som PDF)".into(),
            ),
            (Some(_), Some(Ok(()))) => (true, "testudskrift lykkedes".into()),
            (Some(_), Some(Err(why))) => (false, format!("testudskrift fejlede: {why}")),
            (Some(_), None) => (false, "udskriv testkortet".into()),
        };
        let printer_item = item("printer", "Printertest", printer_ok, false, printer_detail);
        let printer = match &self.id.printer {
            Some(p) => with_technical(printer_item, p.describe()),
            None => printer_item,
        };
        let free = free_bytes(self.store().path());
        let disk = item(
            "disk",
            "Diskplads",
            free.is_none_or(|b| b >= DISK_MIN_BYTES),
            true,
            match free {
                Some(b) => free_text(b),
                None => "kunne ikke måles".into(),
            },
        );
        [scanner, printer, disk]
    }

    /// Refuses opening while a blocking item fails (election mode only).
    pub(super) fn check_before_opening(&self) -> Result<(), TableError> {
        let c = self.checklist()?;
        if c.ready {
            return Ok(());
        }
        let failing: Vec<String> = c
            .items
            .iter()
            .filter(|i| i.blocking && !i.ok)
            .map(|i| format!("{} ({})", i.title, i.detail))
            .collect();
        Err(TableError::Refused(format!(
            "Bordet kan ikke åbnes, før tjeklisten er i orden: {}. Ret punkterne, og prøv igen.",
            failing.join("; ")
        )))
    }

    /// A scan of the test card: recorded for the checklist, never a check-in.
    pub(super) fn scanner_self_test(&mut self, code: &str) -> bool {
        let (qr, bar) = test_codes(&self.id.election);
        if code == qr {
            self.self_test.qr = true;
        } else if code == bar {
            self.self_test.code128 = true;
        } else {
            return false;
        }
        tracing::info!(code, "scanner self-test read");
        true
    }

    /// Queues the test card on the printer; its outcome, reported with
    /// [`Self::test_card_printed`], counts as the printer test.
    pub fn queue_test_card(&self) -> Result<crate::print::spool::Ticket, TableError> {
        self.queue(
            self.test_card(),
            "Bordet har ingen kvitteringsprinter. Udskriv testkortet som PDF.",
        )
        .map_err(TableError::Refused)
    }

    /// `result` is the print's outcome, its error the Danish reason (see
    /// [`super::printing::Queued`]).
    pub fn test_card_printed(&mut self, result: Result<(), String>) -> Result<(), TableError> {
        self.self_test.printer = Some(result.clone());
        self.printed(&result)?;
        result.map_err(TableError::Refused)
    }

    /// The test card: a QR code and a Code 128 barcode that only the self-test accepts.
    pub fn test_card(&self) -> Receipt {
        let (qr, bar) = test_codes(&self.id.election);
        let mut r = Receipt::new("Testkort");
        r.styled("TESTKORT – SCANNER", Size::Double, true, Align::Center);
        r.centered("Ikke et valgkort. Scan begge koder.");
        r.push(Item::Qr(qr));
        r.push(Item::Code128(bar));
        r.push(Item::Cut);
        r
    }

    /// Queues the "klar til åbning" receipt, for the afstemningsbog.
    pub fn queue_checklist(
        &mut self,
    ) -> Result<(Checklist, crate::print::spool::Ticket), TableError> {
        let c = self.checklist()?;
        if self.id.printer.is_none() {
            return Err(TableError::Refused(
                "Bordet har ingen kvitteringsprinter.".into(),
            ));
        }
        let mut r = Receipt::new("Klar til åbning");
        r.styled(
            if c.ready {
                "KLAR TIL ÅBNING"
            } else {
                "IKKE KLAR TIL ÅBNING"
            },
            Size::Double,
            true,
            Align::Center,
        );
        r.centered(format!(
            "{}, bord {} · {}",
            self.place_name,
            self.id.table_no,
            crate::print::card::local_time(crate::store::now_ms())
        ));
        r.push(Item::Rule);
        for i in &c.items {
            r.bold(format!("[{}] {}", if i.ok { "OK" } else { "!!" }, i.title));
            r.line(format!("     {}", i.detail));
            // Paper for the afstemningsbog: the list hash and the key belong on it.
            if let Some(t) = &i.technical {
                r.line(format!("     {t}"));
            }
        }
        r.push(Item::Rule);
        r.line("Underskrift valgstyrer:");
        r.push(Item::Feed(3));
        r.push(Item::Cut);
        let ticket = self
            .queue(r, "Bordet har ingen kvitteringsprinter.")
            .map_err(TableError::Refused)?;
        Ok((c, ticket))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20, problem 9: "58,2 GB fri", not "60691 MB fri".
    #[test]
    fn free_disk_reads_in_gigabytes_with_one_decimal() {
        assert_eq!(free_text(60_691 * 1024 * 1024), "63,6 GB fri");
        assert_eq!(free_text(260_000_000), "0,3 GB fri");
    }
}
