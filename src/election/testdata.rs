//! Fixtures shared by the unit tests of the domain.

use super::contest::Contest;
use super::voter::{Sex, Voter};
use chrono::NaiveDate;

pub fn voter(id: &str, place: &str) -> Voter {
    Voter {
        id: id.into(),
        list_no: 17,
        list_part: "A".into(),
        first_names: "Jørgen Åge".into(),
        last_name: "Møller-Aagaard".into(),
        birthdate: NaiveDate::from_ymd_opt(1980, 3, 15).expect("valid date"),
        sex: Sex::Mand,
        address: "Æblevej 3, 2. th".into(),
        postcode: "8000".into(),
        town: "Aarhus C".into(),
        country: String::new(),
        place: place.into(),
        card_code: format!("C{id}"),
        contests: vec![Contest::Kv, Contest::Rv],
        brevstemme: false,
        struck: None,
    }
}
