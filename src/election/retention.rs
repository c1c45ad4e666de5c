//! How long a polling place's material must be kept before it may be destroyed
//! (DOMAIN.md, "Privacy and retention"; KRVL § 106). The acts say: not before the
//! complaint deadline has passed and complaints are decided. valgbord models it as a
//! first day by date and, where another body must first approve the election, an
//! explicit statement that it has.

use super::contest::Contest;
use chrono::{Days, NaiveDate};

/// Days after election day within which a complaint may still arrive: a week, for
/// every kind of election. Destruction is allowed from the day after.
pub const COMPLAINT_DAYS: u64 = 7;

/// The first day the material of an election on `election_day` may be destroyed: the
/// day after the complaint week.
pub fn first_destruction_day(election_day: NaiveDate) -> NaiveDate {
    election_day
        .checked_add_days(Days::new(COMPLAINT_DAYS + 1))
        .unwrap_or(NaiveDate::MAX)
}

/// Whether destruction also waits for the election's approval: for a folketingsvalg
/// Folketinget decides on its validity; a folkeafstemning and a Europa-Parlamentsvalg
/// wait likewise until the result is approved. A kommunal- or regionsrådsvalg waits
/// for the complaint week alone (complaints still undecided after it are the
/// municipality's to know, and a research hold keeps the material).
pub fn needs_approval(contests: &[Contest]) -> bool {
    contests
        .iter()
        .any(|c| matches!(c, Contest::Fv | Contest::Fa | Contest::Ep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_material_is_kept_for_the_complaint_week_and_for_fv_fa_ep_until_approved() {
        let day = NaiveDate::from_ymd_opt(2025, 11, 18).unwrap();
        assert_eq!(
            first_destruction_day(day),
            NaiveDate::from_ymd_opt(2025, 11, 26).unwrap()
        );
        assert!(!needs_approval(&[Contest::Kv, Contest::Rv]));
        assert!(needs_approval(&[Contest::Fv]));
        assert!(needs_approval(&[Contest::Fa, Contest::Fv]));
        assert!(needs_approval(&[Contest::Ep]));
    }
}
