//! The valgstyrere's examination of the brevstemmer at a table (KRVL § 71, FVL §§
//! 63–65): the list of the place's received brevstemmer, and a decision made by two
//! different valgstyrere, each proven by a personal PIN ([`Secretary`], which only
//! `PinCheck::verify` makes). Each decision is a signed event naming both, which every
//! table of the place and the central follow.

use super::core::{TableCore, TableError};
use super::screen::clock;
use super::secretary::Secretary;
use crate::election::brevstemme::{Examination, SetAsideReason};
use crate::election::event::EventKind;
use crate::election::official::OfficialRole;
use serde::Serialize;

/// One received brevstemme on the valgstyrere's screen.
#[derive(Debug, Clone, Serialize)]
pub struct BrevstemmeEntry {
    pub voter_id: String,
    pub name: String,
    pub birthdate: String,
    pub list_no: i64,
    /// `modtaget`, `tages_i_betragtning` or `tilsidesat`.
    pub status: &'static str,
    pub status_text: &'static str,
    pub reason: Option<SetAsideReason>,
    pub reason_text: Option<&'static str>,
    pub valgstyrere: Vec<String>,
    /// "har stemt personligt kl. 10.42": the voter checked in before or after the
    /// office's mark came, for the valgstyrere to weigh (the act gives it to them).
    pub flag: Option<String>,
    pub struck: Option<String>,
}

/// The list and what the screen offers to decide with.
#[derive(Debug, Clone, Serialize)]
pub struct BrevstemmeList {
    pub brevstemmer: Vec<BrevstemmeEntry>,
    pub undecided: usize,
    /// The act's reasons for setting one aside: code and Danish text.
    pub reasons: Vec<(&'static str, &'static str)>,
}

/// Refuses anyone but a valgstyrer: the act gives the examination to the valgstyrere.
pub fn must_be_valgstyrer(who: &Secretary) -> Result<(), TableError> {
    if who.role() == OfficialRole::Valgstyrer {
        return Ok(());
    }
    Err(TableError::Refused(format!(
        "Kun valgstyrere afgør brevstemmer; {} er {}. Log ind som valgstyrer.",
        who.who(),
        who.role().danish()
    )))
}

/// The reason of a decision as the screen sends it: none when taken into account, one
/// of the act's when set aside.
pub fn set_aside_reason(
    accepted: bool,
    code: Option<&str>,
) -> Result<Option<SetAsideReason>, TableError> {
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    match (accepted, code) {
        (true, None) => Ok(None),
        (true, Some(_)) => Err(TableError::Refused(
            "En brevstemme, der tages i betragtning, har ingen grund til tilsidesættelse.".into(),
        )),
        (false, Some(c)) => SetAsideReason::parse(c).map(Some).ok_or_else(|| {
            TableError::Refused(format!(
                "Ukendt grund \"{c}\". Vælg en af lovens grunde: {}.",
                reasons_text()
            ))
        }),
        (false, None) => Err(TableError::Refused(format!(
            "Vælg grunden til at tilsidesætte brevstemmen: {}.",
            reasons_text()
        ))),
    }
}

fn reasons_text() -> String {
    SetAsideReason::ALL
        .iter()
        .map(|r| r.danish())
        .collect::<Vec<_>>()
        .join("; ")
}

impl TableCore {
    /// Why the voter's brevstemme stops them from voting in person, if it does: taken
    /// into account, or received and not yet decided. `None` for a voter without one
    /// or whose brevstemme was set aside.
    pub fn brevstemme_stops(
        &self,
        voter: &crate::election::voter::Voter,
    ) -> Result<Option<&'static str>, TableError> {
        if !voter.brevstemme {
            return Ok(None);
        }
        Ok(
            match Examination::of(self.store().brevstemme_decision(&voter.id)?) {
                Examination::Accepted => Some("Brevstemme taget i betragtning – må ikke stemme"),
                Examination::Undecided => {
                    Some("Brevstemme modtaget, ikke afgjort – tilkald valgstyrerne")
                }
                Examination::SetAside => None,
            },
        )
    }

    /// The place's received brevstemmer in list order.
    pub fn brevstemmer(&self, _by: &Secretary) -> Result<BrevstemmeList, TableError> {
        let rows = self.store().brevstemme_rows(&self.id.place)?;
        let brevstemmer: Vec<BrevstemmeEntry> = rows
            .into_iter()
            .map(|r| BrevstemmeEntry {
                status: r.examination.code(),
                status_text: r.examination.danish(),
                reason_text: r.reason.map(SetAsideReason::danish),
                flag: r
                    .checked_in_ms
                    .map(|at| format!("har stemt personligt kl. {}", clock(at))),
                voter_id: r.voter_id,
                name: r.name,
                birthdate: chrono::NaiveDate::parse_from_str(&r.birthdate, "%Y-%m-%d")
                    .map(|d| d.format("%d-%m-%Y").to_string())
                    .unwrap_or(r.birthdate),
                list_no: r.list_no,
                reason: r.reason,
                valgstyrere: r.valgstyrere,
                struck: r.struck,
            })
            .collect();
        Ok(BrevstemmeList {
            undecided: brevstemmer
                .iter()
                .filter(|b| b.status == Examination::Undecided.code())
                .count(),
            brevstemmer,
            reasons: SetAsideReason::ALL
                .iter()
                .map(|r| (r.code(), r.danish()))
                .collect(),
        })
    }

    /// Records the decision of `first` and `second` on each of `voter_ids`: taken into
    /// account (`reason` `None`) or set aside for `reason`. Everything is checked before
    /// anything is written, so a bad id leaves no half-decided batch. Returns the
    /// sentence for the screen.
    pub fn examine_brevstemmer(
        &mut self,
        voter_ids: &[String],
        reason: Option<SetAsideReason>,
        first: &Secretary,
        second: &Secretary,
    ) -> Result<String, TableError> {
        must_be_valgstyrer(first)?;
        if second.role() != OfficialRole::Valgstyrer {
            return Err(TableError::Refused(format!(
                "Den anden skal også være valgstyrer; {} er {}.",
                second.who(),
                second.role().danish()
            )));
        }
        if first.who() == second.who() {
            return Err(TableError::Refused(
                "En brevstemme afgøres af mindst to forskellige valgstyrere (KRVL § 71). Den anden valgstyrer skal give sit eget navn og sin egen PIN.".into(),
            ));
        }
        if voter_ids.is_empty() {
            return Err(TableError::Refused("Vælg mindst én brevstemme.".into()));
        }
        for id in voter_ids {
            let voter = self.store().voter(id)?;
            match voter {
                Some(v) if v.place == self.id.place && v.brevstemme => {}
                Some(v) if v.place != self.id.place => {
                    return Err(TableError::Refused(format!(
                        "{} hører ikke til dette valgsted; brevstemmen afgøres ikke her.",
                        v.full_name()
                    )));
                }
                Some(v) => {
                    return Err(TableError::Refused(format!(
                        "Der er ikke modtaget en brevstemme fra {}.",
                        v.full_name()
                    )));
                }
                None => {
                    return Err(TableError::Refused(
                        "En af de markerede vælgere findes ikke på valglisten. Søg igen, og markér på ny."
                            .into(),
                    ));
                }
            }
        }
        let valgstyrere = [first.who().to_string(), second.who().to_string()];
        for id in voter_ids {
            self.append_as(
                EventKind::BrevstemmeExamined {
                    voter_id: id.clone(),
                    place: self.id.place.clone(),
                    accepted: reason.is_none(),
                    reason,
                    valgstyrere: valgstyrere.clone(),
                },
                Some(first.acted_by()),
            )?;
        }
        tracing::info!(
            count = voter_ids.len(),
            accepted = reason.is_none(),
            first = first.who(),
            second = second.who(),
            "brevstemmer examined"
        );
        self.publish()?;
        let what = match reason {
            None => "taget i betragtning".to_string(),
            Some(r) => format!("tilsidesat ({})", r.danish()),
        };
        let n = voter_ids.len();
        Ok(format!(
            "{n} {} {what} af {} og {}.",
            if n == 1 { "brevstemme" } else { "brevstemmer" },
            valgstyrere[0],
            valgstyrere[1]
        ))
    }
}
