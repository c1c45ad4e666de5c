//! Schema and migrations, run with `PRAGMA user_version` (the migration crates pin an
//! older rusqlite and do not link beside the bundled one).

use rusqlite::Connection;

/// Each entry moves the schema one version up. Never edit a released entry: add one.
const MIGRATIONS: &[&str] = &[
    // 1: list, log and projections.
    r#"
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE places(id TEXT PRIMARY KEY, name TEXT NOT NULL);
    CREATE TABLE voters(
        id TEXT NOT NULL,
        list_no INTEGER NOT NULL,
        list_part TEXT NOT NULL,
        first_names TEXT NOT NULL,
        last_name TEXT NOT NULL,
        birthdate TEXT NOT NULL,
        sex TEXT NOT NULL,
        address TEXT NOT NULL,
        postcode TEXT NOT NULL,
        town TEXT NOT NULL,
        place TEXT NOT NULL,
        card_code TEXT NOT NULL,
        contests TEXT NOT NULL,
        brevstemme INTEGER NOT NULL,
        struck TEXT,
        fold_first TEXT NOT NULL,
        fold_last TEXT NOT NULL,
        fold_address TEXT NOT NULL
    );
    CREATE TABLE events(
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        test INTEGER NOT NULL,
        body TEXT NOT NULL,
        sig TEXT NOT NULL,
        hash BLOB NOT NULL,
        received_ms INTEGER NOT NULL,
        PRIMARY KEY(device, seq)
    ) WITHOUT ROWID;
    CREATE INDEX events_hlc ON events(hlc);

    -- Projections: derived from events only; `rebuild_projections` recreates them.
    CREATE TABLE checkins(
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        voter_id TEXT NOT NULL,
        place TEXT NOT NULL,
        table_no INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        method TEXT NOT NULL,
        ballots TEXT NOT NULL,
        card_code TEXT,
        PRIMARY KEY(device, seq)
    ) WITHOUT ROWID;
    CREATE INDEX checkins_voter ON checkins(voter_id);
    CREATE TABLE undone(
        target_device TEXT NOT NULL,
        target_seq INTEGER NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        voter_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        PRIMARY KEY(target_device, target_seq)
    ) WITHOUT ROWID;
    CREATE TABLE voter_status(
        voter_id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        place TEXT NOT NULL,
        table_no INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        method TEXT NOT NULL,
        ballots TEXT NOT NULL,
        active INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE double_resolved(
        voter_id TEXT PRIMARY KEY,
        hlc INTEGER NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        note TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE hourly(
        place TEXT NOT NULL,
        table_no INTEGER NOT NULL,
        hour INTEGER NOT NULL,
        checkins INTEGER NOT NULL,
        PRIMARY KEY(place, table_no, hour)
    ) WITHOUT ROWID;
    CREATE TABLE cards(
        code TEXT PRIMARY KEY,
        voter_id TEXT NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX cards_voter ON cards(voter_id, hlc);
    CREATE TABLE table_state(
        place TEXT NOT NULL,
        table_no INTEGER NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        hlc INTEGER NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        PRIMARY KEY(place, table_no)
    ) WITHOUT ROWID;
    CREATE TABLE reconciliation(
        place TEXT NOT NULL,
        table_no INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        handed_out TEXT NOT NULL,
        returned TEXT NOT NULL,
        PRIMARY KEY(place, table_no)
    ) WITHOUT ROWID;
    "#,
    // 2: election-day list changes from the office.
    r#"
    CREATE TABLE list_changes(
        change_id TEXT PRIMARY KEY,
        serial INTEGER NOT NULL,
        issued TEXT NOT NULL,
        note TEXT NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        items INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE list_change_items(
        change_id TEXT NOT NULL,
        item_no INTEGER NOT NULL,
        serial INTEGER NOT NULL,
        voter_id TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY(change_id, item_no)
    ) WITHOUT ROWID;
    CREATE INDEX list_change_items_voter ON list_change_items(voter_id, serial);
    -- The imported row of each changed voter (NULL: added by a change). Not emptied by a
    -- rebuild directly: the rebuild first puts these rows back.
    CREATE TABLE list_change_base(voter_id TEXT PRIMARY KEY, row TEXT) WITHOUT ROWID;
    "#,
    // 3: the registration mode of each polling place.
    r#"
    CREATE TABLE place_mode(
        place TEXT PRIMARY KEY,
        mode TEXT NOT NULL,
        reason TEXT NOT NULL,
        hlc INTEGER NOT NULL,
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 4: what a resolved double registration covered (NULL: any number of check-ins).
    r#"
    ALTER TABLE double_resolved ADD COLUMN checkins INTEGER;
    "#,
    // 5: the screen's counts (persons checked in, double registrations) read an index
    // range instead of every voter's status; a table builds its screen at every event.
    r#"
    CREATE INDEX voter_status_place ON voter_status(place, active);
    "#,
    // 6: evidence of forked logs (`store::forks`): both versions as signed, so the proof
    // can be checked again and sent on; kept beside the log, never emptied by a rebuild.
    r#"
    CREATE TABLE forks(
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        first_body TEXT NOT NULL,
        first_sig TEXT NOT NULL,
        other_body TEXT NOT NULL,
        other_sig TEXT NOT NULL,
        seen_ms INTEGER NOT NULL,
        PRIMARY KEY(device, seq)
    ) WITHOUT ROWID;
    "#,
    // 7: the country of an address abroad (ISO 3166-1 alpha-2; empty for Denmark):
    // udlandsdanskere on FV/FA lists, Danes in another EU country and EU citizens on EP.
    r#"
    ALTER TABLE voters ADD COLUMN country TEXT NOT NULL DEFAULT '';
    "#,
    // 8: spoiled ballots exchanged for new ones (ombyttet), counted apart from returned.
    r#"
    ALTER TABLE reconciliation ADD COLUMN exchanged TEXT NOT NULL DEFAULT '[]';
    "#,
    // 9: the valgstyrere's decisions on brevstemmer (KRVL § 71): every decision kept,
    // the one in force per voter the latest by (clock, device, seq); and the one
    // definition of "brevstemmer taken into account" every count reads.
    r#"
    CREATE TABLE brevstemme_decisions(
        device TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        voter_id TEXT NOT NULL,
        place TEXT NOT NULL,
        accepted INTEGER NOT NULL,
        reason TEXT,
        valgstyrer1 TEXT NOT NULL,
        valgstyrer2 TEXT NOT NULL,
        PRIMARY KEY(device, seq)
    ) WITHOUT ROWID;
    CREATE INDEX brevstemme_decisions_voter ON brevstemme_decisions(voter_id, hlc, device, seq);
    CREATE VIEW brevstemme_latest AS
        SELECT d.* FROM brevstemme_decisions d
        WHERE NOT EXISTS(SELECT 1 FROM brevstemme_decisions l
            WHERE l.voter_id = d.voter_id AND (l.hlc, l.device, l.seq) > (d.hlc, d.device, d.seq));
    CREATE VIEW brevstemmer_counted AS
        SELECT v.id AS voter_id, v.place AS place
        FROM brevstemme_latest b JOIN voters v ON v.id = b.voter_id
        WHERE b.accepted = 1 AND v.brevstemme = 1 AND v.struck IS NULL;
    "#,
    // 10: the valgsekretær's list of sends reads only these two rare kinds, and its page
    // asks every 2 s while the table holds its lock; a partial index keeps that from
    // scanning the whole log, and costs the inserts of every other event nothing.
    r#"
    CREATE INDEX events_sends ON events(hlc, device, seq)
        WHERE kind IN ('manual_check_in_sent', 'sent_voter_noted');
    "#,
];

/// Indexes on the voter list. Dropped during a bulk import and built once afterwards,
/// which is several times faster than maintaining them row by row.
pub const VOTER_INDEXES: &[&str] = &[
    "CREATE UNIQUE INDEX IF NOT EXISTS voters_id ON voters(id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS voters_card ON voters(card_code)",
    "CREATE INDEX IF NOT EXISTS voters_birthdate ON voters(birthdate)",
    "CREATE INDEX IF NOT EXISTS voters_fold_last ON voters(fold_last, fold_first)",
    "CREATE INDEX IF NOT EXISTS voters_fold_first ON voters(fold_first, fold_last)",
    "CREATE INDEX IF NOT EXISTS voters_place_list ON voters(place, list_no)",
];

pub const VOTER_INDEX_NAMES: &[&str] = &[
    "voters_id",
    "voters_card",
    "voters_birthdate",
    "voters_fold_last",
    "voters_fold_first",
    "voters_place_list",
];

/// Projection tables, emptied by a rebuild.
pub const PROJECTION_TABLES: &[&str] = &[
    "checkins",
    "undone",
    "voter_status",
    "double_resolved",
    "hourly",
    "cards",
    "table_state",
    "reconciliation",
    "list_changes",
    "list_change_items",
    "place_mode",
    "brevstemme_decisions",
];

pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i == 0 {
            for idx in VOTER_INDEXES {
                tx.execute_batch(idx)?;
            }
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
