//! What the marked paper valgliste reads: every voter of one polling place in list
//! order with the ballots of the check-in in force. Plain rows; `print::valgliste`
//! parses and marks them.

use super::Result;
use super::read_snapshot::ReadSnapshot;

/// One voter of the list as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub list_no: u32,
    pub list_part: String,
    pub first_names: String,
    pub last_name: String,
    pub street: String,
    pub postcode: String,
    pub town: String,
    /// ISO 3166-1 alpha-2 code of an address abroad; empty for Denmark.
    pub country: String,
    /// ISO date.
    pub birthdate: String,
    pub contests: String,
    /// A brevstemme taken into account (the one definition, view `brevstemmer_counted`).
    pub brevstemme: bool,
    /// A brevstemme received that the valgstyrere have not decided on.
    pub brevstemme_undecided: bool,
    pub struck: Option<String>,
    /// The ballots of the check-in in force (`None`: not checked in; empty: on paper).
    pub ballots: Option<String>,
}

impl ReadSnapshot<'_> {
    /// The voters of `place` in list order.
    pub fn paper_list(&self, place: &str) -> Result<Vec<ListRow>> {
        let mut stmt = self.tx.prepare(
            "SELECT v.list_no, v.list_part, v.first_names, v.last_name, v.address, v.postcode,
                    v.town, v.birthdate, v.contests,
                    EXISTS(SELECT 1 FROM brevstemmer_counted c WHERE c.voter_id = v.id),
                    v.struck, s.ballots, v.country,
                    v.brevstemme = 1 AND NOT EXISTS(
                        SELECT 1 FROM brevstemme_decisions d WHERE d.voter_id = v.id)
             FROM voters v LEFT JOIN voter_status s ON s.voter_id = v.id
             WHERE v.place = ?1 ORDER BY v.list_no",
        )?;
        let rows = stmt.query_map([place], |r| {
            Ok(ListRow {
                list_no: r.get(0)?,
                list_part: r.get(1)?,
                first_names: r.get(2)?,
                last_name: r.get(3)?,
                street: r.get(4)?,
                postcode: r.get(5)?,
                town: r.get(6)?,
                birthdate: r.get(7)?,
                contests: r.get(8)?,
                brevstemme: r.get(9)?,
                struck: r.get(10)?,
                ballots: r.get(11)?,
                country: r.get(12)?,
                brevstemme_undecided: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
