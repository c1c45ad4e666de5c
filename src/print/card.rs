//! The replacement valgkort ("ERSTATNINGSVALGKORT") that the valgsekretær prints when a
//! voter has lost theirs: as an A6 PDF for an office printer and as a receipt for the
//! table's ESC/POS printer. Both carry the card code as Code 128 (what every table
//! resolves to the voter) and the signed QR payload of `card_payload` (what shows a
//! forged card).
//!
//! Building a card changes nothing: the reissue itself is the `CardReissued` event the
//! table appends first; this only prints the voter's current card.

use super::card_payload::sign_card_payload;
use super::code128::Code128;
use super::pdf::{A6, Doc, MM, Weight};
use super::receipt::{Align, Item, Receipt, Size};
use super::{error::PrintError, escpos};
use crate::election::keys::{DevicePublic, DeviceSecret};
use crate::election::voter::Voter;
use crate::store::Store;
use chrono::{Datelike, NaiveDate, TimeZone};

/// The election as printed on cards and lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectionInfo {
    /// The id the database is bound to (and the card payload names).
    pub id: String,
    /// The name people read ("Kommunal- og regionsrådsvalg 2025").
    pub name: String,
    pub date: Option<NaiveDate>,
}

impl ElectionInfo {
    /// The election the database is bound to; the name defaults to the id.
    pub fn from_store(
        store: &Store,
        name: Option<&str>,
        date: Option<NaiveDate>,
    ) -> Result<ElectionInfo, PrintError> {
        let id = store.bound_election()?.ok_or_else(|| {
            PrintError::Invalid(format!(
                "the database {} is not bound to an election (import a list with --election first)",
                store.path().display()
            ))
        })?;
        Ok(ElectionInfo {
            name: name.map(str::to_string).unwrap_or_else(|| id.clone()),
            id,
            date,
        })
    }

    /// "Kommunalvalg, tirsdag den 18. november 2025", or just the name.
    pub fn heading(&self) -> String {
        match self.date {
            Some(d) => format!("{}, {}", self.name, danish_date(d)),
            None => self.name.clone(),
        }
    }
}

/// A valgkort ready to print.
#[derive(Debug, Clone)]
pub struct Card {
    pub election: ElectionInfo,
    pub voter: Voter,
    pub place_name: String,
    /// The card code (Code 128).
    pub code: String,
    /// When it was printed, milliseconds since the epoch.
    pub issued_ms: i64,
    /// The signed QR text; `None` when printed without a device key (no QR then).
    pub payload: Option<String>,
    pub device: Option<DevicePublic>,
}

impl Card {
    /// A card for `code`, signed by `key` when given.
    pub fn new(
        election: &ElectionInfo,
        voter: Voter,
        place_name: &str,
        code: &str,
        issued_ms: i64,
        key: Option<&DeviceSecret>,
    ) -> Card {
        let payload = key.map(|k| sign_card_payload(k, &election.id, &voter.id, code, issued_ms));
        Card {
            election: election.clone(),
            place_name: place_name.to_string(),
            code: code.to_string(),
            issued_ms,
            payload,
            device: key.map(DeviceSecret::public),
            voter,
        }
    }

    /// The voter's current card (the newest reissued one, or the posted one).
    pub fn current(
        store: &Store,
        election: &ElectionInfo,
        voter_id: &str,
        issued_ms: i64,
        key: Option<&DeviceSecret>,
    ) -> Result<Card, PrintError> {
        let voter = store
            .voter(voter_id)?
            .ok_or_else(|| PrintError::UnknownVoter(voter_id.to_string()))?;
        let code = store.current_card(&voter)?;
        let place_name = store
            .place_name(&voter.place)?
            .unwrap_or_else(|| voter.place.clone());
        Ok(Card::new(
            election,
            voter,
            &place_name,
            &code,
            issued_ms,
            key,
        ))
    }

    fn printed_line(&self) -> String {
        let mut s = format!("Udskrevet {}", local_time(self.issued_ms));
        if let Some(d) = self.device {
            s.push_str(&format!(" af enhed {}", d.short()));
        }
        s
    }

    fn place_line(&self) -> String {
        if self.place_name == self.voter.place {
            format!("Valgsted: {}", self.place_name)
        } else {
            format!("Valgsted: {} ({})", self.place_name, self.voter.place)
        }
    }

    /// The card as an A6 page.
    pub fn to_pdf(&self) -> Result<Vec<u8>, PrintError> {
        let barcode = Code128::new(&self.code)
            .map_err(|e| PrintError::Invalid(format!("card code {:?}: {e}", self.code)))?;
        let mut d = Doc::new(
            A6,
            &format!("Erstatningsvalgkort {}", self.voter.full_name()),
        )?;
        let (w, h) = A6;
        let margin = 7.0 * MM;
        let inner = w - 2.0 * margin;
        let cx = w / 2.0;

        let mut y = h - margin - 12.0;
        d.text_centered(cx, y, 15.0, Weight::Bold, "ERSTATNINGSVALGKORT");
        y -= 15.0;
        d.text_fit(
            margin,
            y,
            (9.0, 6.5),
            inner,
            Weight::Regular,
            &self.election.name,
        );
        if let Some(date) = self.election.date {
            y -= 11.0;
            d.text(
                margin,
                y,
                9.0,
                Weight::Regular,
                &capitalise(&danish_date(date)),
            );
        }
        y -= 7.0;
        d.line(margin, y, w - margin, y, 0.6);

        y = self.pdf_voter(&mut d, y, margin, inner);

        // Code 128: as wide a module as fits (at most 0.6 mm), quiet zones included.
        let module = (inner / barcode.modules_with_quiet_zone() as f32).min(0.6 * MM);
        let bw = barcode.modules_with_quiet_zone() as f32 * module;
        let bar_h = 13.0 * MM;
        y -= bar_h + 2.0;
        d.code128(cx - bw / 2.0, y, module, bar_h, &barcode);
        y -= 10.0;
        d.text_centered(cx, y, 9.0, Weight::Regular, &self.code);

        self.pdf_footer(&mut d, y, margin, inner)?;
        d.finish()
    }

    /// The voter's block of the A6 card below `y`: name, address, list number and
    /// polling place. Returns where it ends.
    fn pdf_voter(&self, d: &mut Doc, mut y: f32, margin: f32, inner: f32) -> f32 {
        let (street, rest) = self.voter.address_lines();
        let (w, _) = A6;
        y -= 16.0;
        d.text_fit(
            margin,
            y,
            (12.5, 8.0),
            inner,
            Weight::Bold,
            &self.voter.full_name(),
        );
        y -= 14.0;
        d.text_fit(margin, y, (10.0, 7.0), inner, Weight::Regular, &street);
        y -= 12.0;
        d.text_fit(margin, y, (10.0, 7.0), inner, Weight::Regular, &rest);
        y -= 20.0;
        d.text(margin, y, 9.0, Weight::Regular, "Løbenummer");
        d.text(
            margin + 62.0,
            y,
            14.0,
            Weight::Bold,
            &self.voter.list_no.to_string(),
        );
        if !self.voter.list_part.is_empty() {
            d.text_right(
                w - margin,
                y,
                9.0,
                Weight::Regular,
                &format!("Listeafsnit {}", self.voter.list_part),
            );
        }
        y -= 14.0;
        y = d.paragraph(margin, y, 9.0, 11.0, inner, &self.place_line());

        y
    }

    /// The signed QR in the room left above the footer (or why there is none), and the
    /// footer lines.
    fn pdf_footer(&self, d: &mut Doc, y: f32, margin: f32, inner: f32) -> Result<(), PrintError> {
        let cx = A6.0 / 2.0;
        let footer_top = margin + 30.0;
        if let Some(payload) = &self.payload {
            let q = qr_code(payload)?;
            // The QR with its 4-module quiet zone fills the space left above the footer.
            let room = (y - 6.0 - footer_top).min(inner * 0.6);
            let module = room / (q.width() + 8) as f32;
            let side = q.width() as f32 * module;
            let qy = footer_top + (room - side) / 2.0;
            d.qr(cx - side / 2.0, qy, module, &q);
        } else {
            d.text_centered(
                cx,
                footer_top + 30.0,
                8.0,
                Weight::Regular,
                "(uden QR-kode: udskrevet uden enhedsnøgle)",
            );
        }
        d.text(
            margin,
            margin + 20.0,
            7.0,
            Weight::Regular,
            &self.printed_line(),
        );
        d.text(
            margin,
            margin + 10.0,
            7.0,
            Weight::Bold,
            "Dette kort erstatter alle tidligere valgkort.",
        );
        d.text(
            margin,
            margin,
            7.0,
            Weight::Regular,
            "Tag kortet med til valgbordet.",
        );
        Ok(())
    }

    /// The card as a receipt for the table's printer.
    pub fn to_receipt(&self) -> Receipt {
        let mut r = Receipt::new(&format!("Erstatningsvalgkort {}", self.voter.id));
        r.styled("ERSTATNINGSVALGKORT", Size::Double, true, Align::Center);
        r.centered(self.election.name.clone());
        if let Some(date) = self.election.date {
            r.centered(capitalise(&danish_date(date)));
        }
        r.push(Item::Rule);
        r.styled(self.voter.full_name(), Size::Tall, true, Align::Left);
        let (street, rest) = self.voter.address_lines();
        r.line(street);
        r.line(rest);
        r.push(Item::Feed(1));
        r.styled(
            format!("Løbenummer {}", self.voter.list_no),
            Size::Double,
            true,
            Align::Left,
        );
        if !self.voter.list_part.is_empty() {
            r.line(format!("Listeafsnit {}", self.voter.list_part));
        }
        r.line(self.place_line());
        r.push(Item::Feed(1));
        r.push(Item::Code128(self.code.clone()));
        if let Some(p) = &self.payload {
            r.push(Item::Feed(1));
            r.push(Item::Qr(p.clone()));
        }
        r.push(Item::Feed(1));
        r.line(self.printed_line());
        r.bold("Dette kort erstatter alle tidligere valgkort.");
        r.push(Item::Feed(3));
        r.push(Item::Cut);
        r
    }

    /// The ESC/POS bytes of the receipt.
    pub fn to_escpos(&self) -> Result<Vec<u8>, PrintError> {
        Ok(escpos::encode(&self.to_receipt())?)
    }
}

pub(crate) fn qr_code(text: &str) -> Result<qrcode::QrCode, PrintError> {
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| PrintError::Invalid(format!("QR code: {e}")))
}

const WEEKDAYS: [&str; 7] = [
    "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
];
const MONTHS: [&str; 12] = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
];

/// "tirsdag den 18. november 2025".
pub fn danish_date(d: NaiveDate) -> String {
    format!(
        "{} den {}. {} {}",
        WEEKDAYS[d.weekday().num_days_from_monday() as usize],
        d.day(),
        MONTHS[d.month0() as usize],
        d.year()
    )
}

/// "23-11-2025 kl. 14.03" in the table's local time (the time as Danish public
/// bodies write it).
pub fn local_time(ms: i64) -> String {
    match chrono::Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%d-%m-%Y kl. %H.%M").to_string(),
        None => format!("{ms} ms"),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::card_payload::verify_card_payload;

    fn card(key: Option<&DeviceSecret>) -> Card {
        let mut v = crate::election::testdata::voter("V-1", "3");
        v.first_names = "Åse Ørnfeldt".into();
        v.last_name = "Æbelø-Sørensen".into();
        let e = ElectionInfo {
            id: "kv2025".into(),
            name: "Kommunal- og regionsrådsvalg".into(),
            date: NaiveDate::from_ymd_opt(2025, 11, 18),
        };
        Card::new(&e, v, "Skolen", "VB123456789012", 1_763_900_000_000, key)
    }

    #[test]
    fn danish_dates() {
        let d = NaiveDate::from_ymd_opt(2025, 11, 18).unwrap();
        assert_eq!(danish_date(d), "tirsdag den 18. november 2025");
    }

    #[test]
    fn receipt_holds_the_code_the_signed_qr_and_a_cut() {
        let k = DeviceSecret::from_seed([4; 32]);
        let c = card(Some(&k));
        let r = c.to_receipt();
        assert!(r.items.contains(&Item::Code128("VB123456789012".into())));
        let qr = r
            .items
            .iter()
            .find_map(|i| match i {
                Item::Qr(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap();
        let trusted = [k.public()].into_iter().collect();
        let p = verify_card_payload(&qr, &trusted, "kv2025").unwrap();
        assert_eq!(p.code, "VB123456789012");
        assert_eq!(p.voter_id, "V-1");
        assert_eq!(r.items.last(), Some(&Item::Cut));
        let text = r.to_text(48);
        assert!(text.contains("Åse Ørnfeldt Æbelø-Sørensen"), "{text}");
        assert!(c.to_escpos().is_ok());
    }

    #[test]
    fn pdf_is_made_with_and_without_a_key() {
        let k = DeviceSecret::from_seed([4; 32]);
        assert!(card(Some(&k)).to_pdf().unwrap().starts_with(b"%PDF"));
        assert!(card(None).to_pdf().unwrap().starts_with(b"%PDF"));
        assert!(
            card(None)
                .to_receipt()
                .items
                .iter()
                .all(|i| !matches!(i, Item::Qr(_)))
        );
    }
}
