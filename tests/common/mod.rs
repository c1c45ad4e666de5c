//! Helpers shared by the integration tests: the built binary, temporary directories,
//! running a command and capturing what it printed.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod test_bin;

/// The `valgbord` binary these tests start (cargo's, or `VALGBORD_TEST_BIN`).
pub fn bin() -> &'static str {
    test_bin::path()
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with everything the command printed unless it succeeded.
    #[track_caller]
    pub fn expect_ok(&self, what: &str) -> &Self {
        assert!(
            self.ok(),
            "{what} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `valgbord ARGS…` to completion. Logging is kept to warnings so stderr holds
/// only what the command itself reports.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(bin())
        .args(args)
        .env("VALGBORD_LOG", "warn")
        .env_remove("JOURNAL_STREAM")
        .output()
        .expect("start the valgbord binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh temporary directory, deleted when the value is dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("make a temporary directory")
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Copies a database together with any WAL beside it.
pub fn copy_db(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy database");
    for suffix in ["-wal", "-shm"] {
        let mut f = from.as_os_str().to_owned();
        f.push(suffix);
        let mut t = to.as_os_str().to_owned();
        t.push(suffix);
        if Path::new(&f).exists() {
            std::fs::copy(&f, &t).expect("copy database side file");
        }
    }
}

/// The header of a voter list with every column, in the order the generator writes.
pub const HEADER: &str = "vaelger_id;loebenummer;listeafsnit;fornavne;efternavn;foedselsdato;koen;adresse;postnr;by;valgsted;valgstedsnavn;kortkode;stemmeret;brevstemme;slettet";

/// The header's column names.
pub fn columns() -> Vec<&'static str> {
    HEADER.split(';').collect()
}

/// A valid row for voter number `n` (ids, card codes and løbenumre derived from `n`) in
/// valgsted 1.
pub fn row(n: u32) -> Vec<String> {
    vec![
        format!("V{n}"),
        n.to_string(),
        "A".into(),
        "Jørgen Åge".into(),
        format!("Ærø{n}"),
        "15-03-1980".into(),
        if n % 2 == 0 { "K" } else { "M" }.into(),
        format!("Æblevej {n}"),
        "8000".into(),
        "Aarhus C".into(),
        "1".into(),
        "Rådhuset".into(),
        format!("C{n:04}"),
        "KV+RV".into(),
        "nej".into(),
        String::new(),
    ]
}

/// The row with the field of column `col` replaced by `value`.
pub fn row_with(n: u32, col: &str, value: &str) -> Vec<String> {
    let mut r = row(n);
    let i = columns()
        .iter()
        .position(|c| *c == col)
        .unwrap_or_else(|| panic!("no column {col}"));
    r[i] = value.to_string();
    r
}

/// A file of the given header and rows, `\n` line endings, final newline.
pub fn list_file(header: &str, rows: &[Vec<String>]) -> Vec<u8> {
    let mut s = String::from(header);
    s.push('\n');
    for r in rows {
        s.push_str(&r.join(";"));
        s.push('\n');
    }
    s.into_bytes()
}

/// A good list of `n` voters (V1…Vn, cards C0001…).
pub fn good_list(n: u32) -> Vec<u8> {
    let rows: Vec<_> = (1..=n).map(row).collect();
    list_file(HEADER, &rows)
}
