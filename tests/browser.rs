//! The table screen in real headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from tests/browser, installed by `.ci/run`).

mod daemon;

use daemon::{
    PIN, SECRETARY, Table, import, place_in, prepare, run_browser_script, write_list_with,
};
use std::path::PathBuf;

#[test]
fn scan_confirm_green_then_already_voted_red() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let table = Table::start(dir.path(), &config);
    let artifacts = root.join("target/test-artifacts/browser");
    let stdout = run_browser_script(
        "table_flow.mjs",
        &[&table.base, artifacts.to_str().expect("utf8 path")],
    );
    assert!(stdout.contains("browser flow passed"), "{stdout}");
    for shot in ["1-pending.png", "2-admitted.png", "3-already-voted.png"] {
        let meta = std::fs::metadata(artifacts.join(shot)).expect("screenshot kept");
        assert!(meta.len() > 1000, "{shot} is empty");
    }
}

/// Extra voters for the layout test: one fresh card per table state, surnames in table
/// 1's share of fast bordvalg, and long names and addresses as the list has them.
fn layout_voters() -> Vec<String> {
    (1..=12)
        .map(|i| {
            format!(
                "L{i};{};D;Karen Margrethe Bodil;Abildgaard-Christoffersen;0{}-06-1985;K;Frederiksberg Allé 112, 3. tv. (baghuset);8000;Aarhus C;1;Rådhushallen;CARD-L{i:02};KV+RV;nej;",
                100 + i,
                1 + i % 9,
            )
        })
        .collect()
}

/// Issue 20, problem 2: Godkend, Annullér and the network warning are wholly on screen,
/// uncovered, in every table state and banner combination at 800×480, 1024×600 and
/// 1280×800. Screenshots in target/test-artifacts/screens/WxH/.
#[test]
fn every_table_state_and_banner_fits_at_800x480_1024x600_and_1280x800() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = layout_voters();
    for t in 1..=2 {
        import(
            &write_list_with(dir.path(), &extra),
            &dir.path().join(format!("table{t}.db")),
        );
    }
    let shares = "[fast_bordvalg]\n1 = \"A-M\"\n2 = \"N-Å\"\n";
    let p = place_in(dir, 2, |i| vec![1 - i], |_| shares.to_string());
    let artifacts = root.join("target/test-artifacts/screens");
    let stdout = run_browser_script(
        "table_layout.mjs",
        &[
            &p.tables[0].base,
            &p.keys[1].public().to_hex(),
            PIN,
            artifacts.to_str().expect("utf8 path"),
            SECRETARY,
        ],
    );
    assert!(stdout.contains("layout passed"), "{stdout}");
    for shot in [
        "800x480/dobbelt+fast+netfejl-2-kontroller.png",
        "1024x600/dobbelt+fast-2-kontroller.png",
        "1280x800/normal-3-godkendt.png",
    ] {
        let meta = std::fs::metadata(artifacts.join(shot)).expect("screenshot kept");
        assert!(meta.len() > 1000, "{shot} is empty");
    }
}

/// Issue 20, problem 7: page-wide keys no focused element can steal; a stray Enter
/// after the menu opens nothing.
#[test]
fn enter_and_numeric_pad_keys_reach_the_pending_voter_whatever_has_the_focus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let table = Table::start(dir.path(), &config);
    let stdout = run_browser_script("table_keys.mjs", &[&table.base]);
    assert!(stdout.contains("keys passed"), "{stdout}");
}

/// Issue 20, problems 8, 9 and 10: verdicts return to "Scan valgkortet" on a constant
/// timeout (driven by page.clock), pause and close ask in the page and "Nej" changes
/// nothing, and the texts are Danish sentences with technical detail behind "Detaljer".
#[test]
fn verdicts_return_pause_and_close_ask_in_the_page_and_texts_are_plain_danish() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printed = dir.path().join("printed");
    let config = prepare(
        dir.path(),
        1,
        &format!(
            "[printer]\nkind = \"simulated\"\ndir = \"{}\"\n",
            printed.display()
        ),
    );
    let table = Table::start(dir.path(), &config);
    // The valgstyrere have taken V3's brevstemme into account, as before any opening.
    table.examine_brevstemmer();
    let stdout = run_browser_script("table_texts.mjs", &[&table.base]);
    assert!(stdout.contains("texts passed"), "{stdout}");
}

/// Issue 20, problems 3, 4 and 6, on the screen: the valgsekretær's screen reached from
/// the table's menu in the kiosk's one window, touch-sized, PDFs in the page; undo and
/// check-in without card started from a voter found by search.
#[test]
fn the_secretary_screen_is_reached_from_the_table_and_acts_on_a_found_voter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = prepare(dir.path(), 1, "");
    let table = Table::start(dir.path(), &config);
    table.open();
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts/screens");
    std::fs::create_dir_all(&artifacts).expect("artifacts folder");
    let stdout = run_browser_script(
        "secretary_screen.mjs",
        &[
            &table.base,
            PIN,
            SECRETARY,
            artifacts.to_str().expect("utf8 path"),
        ],
    );
    assert!(stdout.contains("secretary screen passed"), "{stdout}");
    let shot = artifacts.join("800x480-valgsekretaer.png");
    let meta = std::fs::metadata(&shot).expect("screenshot kept");
    assert!(meta.len() > 1000, "{} is empty", shot.display());
}
