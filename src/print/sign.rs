//! The A4 signs for fast bordvalg, one page per table ("BORD 2 · efternavne I–P"), to
//! hang above the tables so voters queue at the right one.

use super::error::PrintError;
use super::pdf::{A4, Doc, Weight};
use crate::election::place_mode::Share;

pub fn fast_bordvalg_signs(
    place_name: &str,
    shares: &[(u32, Share)],
) -> Result<Vec<u8>, PrintError> {
    let mut doc = Doc::new(A4, "Fast bordvalg")?;
    let cx = doc.width() / 2.0;
    for (i, (table_no, share)) in shares.iter().enumerate() {
        if i > 0 {
            doc.new_page();
        }
        doc.text_centered(cx, 720.0, 36.0, Weight::Bold, "FAST BORDVALG");
        doc.text_centered(cx, 460.0, 110.0, Weight::Bold, &format!("BORD {table_no}"));
        doc.text_centered(cx, 340.0, 44.0, Weight::Bold, &share.to_string());
        doc.text_centered(cx, 200.0, 18.0, Weight::Regular, place_name);
        doc.text_centered(
            cx,
            160.0,
            12.0,
            Weight::Regular,
            "Gå til det bord, hvis del af listen dit efternavn eller løbenummer hører til.",
        );
    }
    doc.finish()
}
