//! Election-day changes to the voter list, made by the election office: a voter added,
//! struck (dead, moved, lost eligibility), reinstated, given another entitlement, or
//! marked with an accepted brevstemme.
//!
//! A change is a JSON text signed by the office key. The text travels verbatim inside a
//! table event, so every table (and the central tally) checks the office's signature
//! itself rather than trusting the table that applied it. Changes carry a serial number
//! from the office; the effective row of a voter is the imported row with every change
//! that names the voter applied in serial order, so the result does not depend on the
//! order changes reach a table.
//!
//! Every change also states the full set of accepted brevstemmer after it (count and
//! hash). A table that applies it checks its own set against that: the brevstemme marks
//! can then never be lost silently by a reload or repair (this happened in 2024).

use super::contest::Contest;
use super::keys::{DevicePublic, DeviceSecret};
use super::voter::Voter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separation for the office's signature over a change.
pub const CHANGE_SIGNING_CONTEXT: &[u8] = b"valgbord-list-change-v1\0";
pub const FORMAT: &str = "valgbord-list-change-v1";

/// One change file: what the office decided, in one signed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListChange {
    pub format: String,
    pub election: String,
    /// 1, 2, 3 … per election, in the order the office made them.
    pub serial: u64,
    /// When the office made it (its own clock, for the audit trail).
    pub issued: String,
    #[serde(default)]
    pub note: String,
    pub items: Vec<ChangeItem>,
    /// Every accepted brevstemme after this change and all before it.
    pub brevstemmer: BrevstemmeDigest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeItem {
    /// A voter added to the list (e.g. a late move into the municipality upheld).
    Add { voter: Box<Voter> },
    /// Struck: dead, moved, lost eligibility. The reason is shown at the table.
    Strike { voter_id: String, reason: String },
    /// A strike made in error, undone.
    Reinstate { voter_id: String },
    /// The contests the voter may vote in.
    Entitlement {
        voter_id: String,
        contests: Vec<Contest>,
    },
    /// A brevstemme accepted after the list was made.
    Brevstemme { voter_id: String },
    /// Moved to another polling place, with its list number there (e.g. FVL § 47, a
    /// disabled voter's application): the old place then refuses the card as the wrong
    /// place, naming the new one, and the new place admits the voter. Not for a voter
    /// already checked in.
    Move {
        voter_id: String,
        place: String,
        list_no: u32,
    },
}

impl ChangeItem {
    pub fn voter_id(&self) -> &str {
        match self {
            ChangeItem::Add { voter } => &voter.id,
            ChangeItem::Strike { voter_id, .. }
            | ChangeItem::Reinstate { voter_id }
            | ChangeItem::Entitlement { voter_id, .. }
            | ChangeItem::Brevstemme { voter_id }
            | ChangeItem::Move { voter_id, .. } => voter_id,
        }
    }

    pub fn action(&self) -> &'static str {
        match self {
            ChangeItem::Add { .. } => "add",
            ChangeItem::Strike { .. } => "strike",
            ChangeItem::Reinstate { .. } => "reinstate",
            ChangeItem::Entitlement { .. } => "entitlement",
            ChangeItem::Brevstemme { .. } => "brevstemme",
            ChangeItem::Move { .. } => "move",
        }
    }

    /// The row after this item, from the row before it. An item for a voter who is not
    /// on the list leaves it so (a change is checked for that before it is applied).
    pub fn apply(&self, before: Option<Voter>) -> Option<Voter> {
        match self {
            ChangeItem::Add { voter } => Some(voter.as_ref().clone()),
            ChangeItem::Strike { reason, .. } => before.map(|mut v| {
                v.struck = Some(reason.clone());
                v
            }),
            ChangeItem::Reinstate { .. } => before.map(|mut v| {
                v.struck = None;
                v
            }),
            ChangeItem::Entitlement { contests, .. } => before.map(|mut v| {
                v.contests = contests.clone();
                v
            }),
            ChangeItem::Brevstemme { .. } => before.map(|mut v| {
                v.brevstemme = true;
                v
            }),
            ChangeItem::Move { place, list_no, .. } => before.map(|mut v| {
                v.place = place.clone();
                v.list_no = *list_no;
                v
            }),
        }
    }

    /// For the audit trail, in Danish.
    pub fn describe(&self) -> String {
        match self {
            ChangeItem::Add { voter } => format!(
                "tilføjet: {} ({}, løbenr. {})",
                voter.full_name(),
                voter.place,
                voter.list_no
            ),
            ChangeItem::Strike { reason, .. } => format!("slettet: {reason}"),
            ChangeItem::Reinstate { .. } => "genindsat".into(),
            ChangeItem::Entitlement { contests, .. } => format!(
                "valgret ændret til {}",
                super::contest::format_contests(contests)
            ),
            ChangeItem::Brevstemme { .. } => "brevstemme modtaget".into(),
            ChangeItem::Move { place, list_no, .. } => {
                format!("flyttet til valgsted {place}, løbenr. {list_no}")
            }
        }
    }
}

/// The set of accepted brevstemmer, by count and a hash of the sorted voter ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrevstemmeDigest {
    pub count: u64,
    pub sha256: String,
}

impl BrevstemmeDigest {
    /// The marks of a list of voters (the brevstemmer among them).
    pub fn of_voters<'a>(voters: impl IntoIterator<Item = &'a Voter>) -> Self {
        Self::of(
            voters
                .into_iter()
                .filter(|v| v.brevstemme)
                .map(|v| v.id.as_str()),
        )
    }

    /// `ids` in any order.
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut h = Sha256::new();
        for id in &ids {
            h.update(id.as_bytes());
            h.update(b"\n");
        }
        BrevstemmeDigest {
            count: ids.len() as u64,
            sha256: hex::encode(h.finalize()),
        }
    }
}

/// A change as stored and sent: the exact signed text and the office's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedListChange {
    pub body: String,
    /// Hex ed25519 signature by the office key; empty for an unsigned test change.
    pub signature: String,
}

/// Why a change cannot be applied. English for the log; `danish` for the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeError {
    pub english: String,
    pub danish: String,
}

impl ChangeError {
    pub fn new(english: impl Into<String>, danish: impl Into<String>) -> Self {
        ChangeError {
            english: english.into(),
            danish: danish.into(),
        }
    }
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english)
    }
}

impl SignedListChange {
    pub fn sign(change: &ListChange, office: &DeviceSecret) -> Self {
        let body = serde_json::to_string_pretty(change).unwrap_or_default();
        let signature = hex::encode(office.sign(&message(&body)).to_bytes());
        SignedListChange { body, signature }
    }

    /// The change's identity: applying the same signed text twice is one change.
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(self.body.as_bytes()))
    }

    /// Parses the text as sent by the office (a file or an API body).
    pub fn from_json(text: &[u8]) -> Result<Self, ChangeError> {
        serde_json::from_slice(text).map_err(|e| {
            ChangeError::new(
                format!("not a signed list change: {e}"),
                format!("ikke en underskrevet listeændring: {e}"),
            )
        })
    }

    /// Checks the signature (unless `office` is `None`, allowed only in test mode) and
    /// the election, and parses the body.
    pub fn open(
        &self,
        office: Option<DevicePublic>,
        election: &str,
    ) -> Result<ListChange, ChangeError> {
        if let Some(office) = office {
            let sig: Option<[u8; 64]> = hex::decode(self.signature.trim())
                .ok()
                .and_then(|b| b.try_into().ok());
            let Some(sig) = sig else {
                return Err(ChangeError::new(
                    "the change has no valid office signature",
                    "ændringen er ikke underskrevet af valgkontoret",
                ));
            };
            if !office.verify(&message(&self.body), &sig) {
                return Err(ChangeError::new(
                    "the office signature does not match the change (forged or altered)",
                    "valgkontorets signatur passer ikke: ændringen er forfalsket eller ændret",
                ));
            }
        }
        let change: ListChange = serde_json::from_str(&self.body).map_err(|e| {
            ChangeError::new(
                format!("the change does not parse: {e}"),
                format!("ændringen kan ikke læses: {e}"),
            )
        })?;
        if change.format != FORMAT {
            return Err(ChangeError::new(
                format!("unknown change format \"{}\"", change.format),
                format!("ukendt ændringsformat \"{}\"", change.format),
            ));
        }
        if change.election != election {
            return Err(ChangeError::new(
                format!(
                    "the change is for election \"{}\", not \"{election}\"",
                    change.election
                ),
                format!("ændringen gælder et andet valg ({})", change.election),
            ));
        }
        if change.serial == 0 {
            return Err(ChangeError::new(
                "serial numbers start at 1",
                "ændringens løbenummer skal være 1 eller mere",
            ));
        }
        for (i, item) in change.items.iter().enumerate() {
            if item.voter_id().trim().is_empty() {
                return Err(ChangeError::new(
                    format!("item {}: no voter id", i + 1),
                    format!("punkt {}: mangler vælger-id", i + 1),
                ));
            }
        }
        Ok(change)
    }
}

fn message(body: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHANGE_SIGNING_CONTEXT.len() + body.len());
    m.extend_from_slice(CHANGE_SIGNING_CONTEXT);
    m.extend_from_slice(body.as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::testdata::voter;

    fn change(items: Vec<ChangeItem>) -> ListChange {
        ListChange {
            format: FORMAT.into(),
            election: "KV25".into(),
            serial: 1,
            issued: "2025-11-18T09:00:00+01:00".into(),
            note: String::new(),
            items,
            brevstemmer: BrevstemmeDigest::of(["a", "b"]),
        }
    }

    #[test]
    fn signed_change_opens_and_a_flipped_byte_is_forged() {
        let office = DeviceSecret::from_seed([7; 32]);
        let c = change(vec![ChangeItem::Strike {
            voter_id: "V1".into(),
            reason: "død".into(),
        }]);
        let s = SignedListChange::sign(&c, &office);
        assert_eq!(s.open(Some(office.public()), "KV25").unwrap(), c);
        let mut forged = s.clone();
        forged.body = forged.body.replace("død", "dod");
        let e = forged.open(Some(office.public()), "KV25").unwrap_err();
        assert!(e.danish.contains("forfalsket"), "{e:?}");
        let other = DeviceSecret::from_seed([8; 32]);
        assert!(s.open(Some(other.public()), "KV25").is_err());
        let e = s.open(Some(office.public()), "FV26").unwrap_err();
        assert!(e.danish.contains("andet valg"), "{e:?}");
        let mut unsigned = s.clone();
        unsigned.signature.clear();
        assert!(unsigned.open(Some(office.public()), "KV25").is_err());
        assert_eq!(unsigned.open(None, "KV25").unwrap(), c);
    }

    #[test]
    fn items_apply_to_the_row() {
        let v = voter("V1", "1");
        let struck = ChangeItem::Strike {
            voter_id: v.id.clone(),
            reason: "fraflyttet".into(),
        }
        .apply(Some(v.clone()))
        .unwrap();
        assert_eq!(struck.struck.as_deref(), Some("fraflyttet"));
        let back = ChangeItem::Reinstate {
            voter_id: v.id.clone(),
        }
        .apply(Some(struck))
        .unwrap();
        assert_eq!(back.struck, None);
        let rv = ChangeItem::Entitlement {
            voter_id: v.id.clone(),
            contests: vec![Contest::Rv],
        }
        .apply(Some(back))
        .unwrap();
        assert_eq!(rv.contests, vec![Contest::Rv]);
        let b = ChangeItem::Brevstemme {
            voter_id: v.id.clone(),
        }
        .apply(Some(rv))
        .unwrap();
        assert!(b.brevstemme);
        assert_eq!(
            ChangeItem::Strike {
                voter_id: "X".into(),
                reason: "død".into()
            }
            .apply(None),
            None
        );
    }

    #[test]
    fn digest_ignores_order_and_repeats() {
        assert_eq!(
            BrevstemmeDigest::of(["b", "a", "a"]),
            BrevstemmeDigest::of(["a", "b"])
        );
        assert_ne!(
            BrevstemmeDigest::of(["a"]).sha256,
            BrevstemmeDigest::of(["b"]).sha256
        );
        assert_eq!(BrevstemmeDigest::of(["a", "b"]).count, 2);
    }

    #[test]
    fn unknown_fields_and_actions_are_refused() {
        let s = SignedListChange {
            body: r#"{"format":"valgbord-list-change-v1","election":"KV25","serial":1,"issued":"x","items":[{"action":"delete","voter_id":"V1"}],"brevstemmer":{"count":0,"sha256":""}}"#.into(),
            signature: String::new(),
        };
        assert!(s.open(None, "KV25").is_err());
    }
}
