//! The valgstyrere's examination of a brevstemme (KRVL § 71, FVL §§ 63–65).
//!
//! The municipality receives the brevstemmer and hands them to the polling place: the
//! office's list and changes say only "received". At the polling place at least two
//! valgstyrere examine each one before opening and decide whether it is taken into
//! account or set aside, for a reason the act names. Only one taken into account stops
//! the voter from voting in person; one set aside leaves the voter free to vote.
//!
//! A later decision about the same voter replaces an earlier one. "Later" is the order
//! of the events' (hybrid logical clock, device key, sequence number): a total order
//! every table and the central compute alike, whatever order the events reach them in.

use serde::{Deserialize, Serialize};

/// Why the valgstyrere set a brevstemme aside: the act's grounds, and two the polling
/// place meets in practice (a later brevstemme counts instead, the voter voted in
/// person).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetAsideReason {
    /// The sender is not on the list, or has moved out of the municipality.
    IkkePaaListen,
    /// The sender died before election day.
    Doed,
    /// Other material than the prescribed was used.
    AndetMateriale,
    /// The procedure was not followed (e.g. no witness, envelope open).
    Fremgangsmaade,
    /// It arrived too late.
    ForSent,
    /// A later brevstemme from the same voter is the one that counts.
    SenereBrevstemme,
    /// The voter has already voted in person at the polling place.
    StemtPersonligt,
}

impl SetAsideReason {
    pub const ALL: [SetAsideReason; 7] = [
        SetAsideReason::IkkePaaListen,
        SetAsideReason::Doed,
        SetAsideReason::AndetMateriale,
        SetAsideReason::Fremgangsmaade,
        SetAsideReason::ForSent,
        SetAsideReason::SenereBrevstemme,
        SetAsideReason::StemtPersonligt,
    ];

    /// The code stored and sent (`serde`'s name).
    pub fn code(self) -> &'static str {
        match self {
            SetAsideReason::IkkePaaListen => "ikke_paa_listen",
            SetAsideReason::Doed => "doed",
            SetAsideReason::AndetMateriale => "andet_materiale",
            SetAsideReason::Fremgangsmaade => "fremgangsmaade",
            SetAsideReason::ForSent => "for_sent",
            SetAsideReason::SenereBrevstemme => "senere_brevstemme",
            SetAsideReason::StemtPersonligt => "stemt_personligt",
        }
    }

    /// The reason as the afstemningsbog and the screen say it.
    pub fn danish(self) -> &'static str {
        match self {
            SetAsideReason::IkkePaaListen => "ikke optaget på valglisten eller fraflyttet",
            SetAsideReason::Doed => "død før valgdagen",
            SetAsideReason::AndetMateriale => "andet materiale end det foreskrevne",
            SetAsideReason::Fremgangsmaade => "fremgangsmåden er ikke fulgt",
            SetAsideReason::ForSent => "modtaget for sent",
            SetAsideReason::SenereBrevstemme => "en senere brevstemme fra vælgeren tæller",
            SetAsideReason::StemtPersonligt => "vælgeren har stemt personligt",
        }
    }

    pub fn parse(code: &str) -> Option<SetAsideReason> {
        SetAsideReason::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// Where a received brevstemme stands, as the tables decide a check-in by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Examination {
    /// Received, not yet examined: nobody may admit the voter until the valgstyrere
    /// have decided.
    Undecided,
    /// Taken into account (tages i betragtning): the voter has voted.
    Accepted,
    /// Set aside (tilsidesat): the voter may vote in person.
    SetAside,
}

impl Examination {
    /// From the latest decision, if any (`Some(true)`: accepted).
    pub fn of(accepted: Option<bool>) -> Examination {
        match accepted {
            None => Examination::Undecided,
            Some(true) => Examination::Accepted,
            Some(false) => Examination::SetAside,
        }
    }

    /// The status code of the valgsekretær screen's list.
    pub fn code(self) -> &'static str {
        match self {
            Examination::Undecided => "modtaget",
            Examination::Accepted => "tages_i_betragtning",
            Examination::SetAside => "tilsidesat",
        }
    }

    pub fn danish(self) -> &'static str {
        match self {
            Examination::Undecided => "modtaget, ikke afgjort",
            Examination::Accepted => "tages i betragtning",
            Examination::SetAside => "tilsidesat",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_parses_back_from_its_code_and_serde_agrees() {
        for r in SetAsideReason::ALL {
            assert_eq!(SetAsideReason::parse(r.code()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::json!(r.code())
            );
        }
        assert_eq!(SetAsideReason::parse("ingen_grund"), None);
    }
}
