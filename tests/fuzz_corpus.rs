//! The fuzz bodies of `valgbord::fuzzing` on stable Rust: every file of the checked-in
//! corpus (`fuzz/corpus/<target>/`, which holds the seeds and any input that ever
//! crashed), then seeded mutations of the seeds. cargo-fuzz on nightly goes further
//! (`.ci/run` runs it when available); this keeps every CI run honest without it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use valgbord::election::roles::Enrolment;
use valgbord::fuzzing::{self, TARGETS};

/// Mutations per target: enough to reach the error paths, a few seconds in debug.
const MUTATIONS: usize = 3_000;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("corpus file"))
        .collect()
}

/// One libFuzzer-like mutation: flip, insert, delete, duplicate or splice bytes.
fn mutate(rng: &mut ChaCha8Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = if v.is_empty() {
            0
        } else {
            rng.random_range(0..v.len())
        };
        match rng.random_range(0..6) {
            0 if !v.is_empty() => v[at] ^= 1 << rng.random_range(0..8),
            1 => v.insert(at, rng.random()),
            2 if !v.is_empty() => {
                let n = rng.random_range(1..=8).min(v.len() - at);
                v.drain(at..at + n);
            }
            3 if !v.is_empty() => {
                let n = rng.random_range(1..=16).min(v.len() - at);
                let chunk = v[at..at + n].to_vec();
                v.splice(at..at, chunk);
            }
            4 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let n = rng.random_range(1..=32).min(other.len() - from);
                v.splice(at..at, other[from..from + n].iter().copied());
            }
            _ => {
                let special: &[&[u8]] = &[
                    b"\"",
                    b";",
                    b"\n",
                    b"\r\n",
                    b"{",
                    b"}",
                    b"\0",
                    b"\xff",
                    b"\xc3\xa6",
                    b"-1",
                    b"99999999999999999999",
                ];
                let s = special[rng.random_range(0..special.len())];
                v.splice(at..at, s.iter().copied());
            }
        }
    }
    v
}

#[test]
fn the_corpus_holds_the_seeds_of_every_target() {
    for (name, _) in TARGETS {
        let files = corpus(name);
        for seed in fuzzing::seeds(name) {
            assert!(
                files.contains(&seed),
                "fuzz/corpus/{name} lacks a seed; run `cargo test --test fuzz_corpus -- --ignored write_seed_corpus`"
            );
        }
    }
}

#[test]
fn the_sync_seed_verifies_so_the_fuzzer_reaches_the_store() {
    let seed = &fuzzing::seeds("sync")[0];
    let signed = fuzzing::sign_text(std::str::from_utf8(seed).expect("utf8"));
    let mut store = valgbord::store::Store::open_in_memory().expect("store");
    let trust = valgbord::election::event::Trust {
        election: fuzzing::ELECTION.into(),
        enrolment: Some(Enrolment::reserves_of(
            "1",
            [fuzzing::trusted_key().public()],
        )),
        allow_test: true,
    };
    store
        .ingest(&signed, &trust)
        .expect("seed event is accepted");
    assert_eq!(store.event_count().expect("count"), 1);
}

#[test]
fn every_target_survives_its_corpus_and_seeded_mutations() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    for (name, body) in TARGETS {
        let inputs = corpus(name);
        for input in &inputs {
            body(input);
        }
        for _ in 0..MUTATIONS {
            let a = &inputs[rng.random_range(0..inputs.len())];
            let b = &inputs[rng.random_range(0..inputs.len())];
            body(&mutate(&mut rng, a, b));
        }
        // Plain random bytes, short and long.
        for _ in 0..200 {
            let n = rng.random_range(0..2_000);
            let v: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            body(&v);
        }
    }
}

/// Writes the seeds into `fuzz/corpus/` (run once when a seed changes).
#[test]
#[ignore = "a tool, not a check: rewrites fuzz/corpus/ when a seed changes"]
fn write_seed_corpus() {
    for (name, _) in TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (i, seed) in fuzzing::seeds(name).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).expect("write seed");
        }
    }
}
