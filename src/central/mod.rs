//! The central tally of the election office (valgkontoret): one more sync peer that never
//! checks anyone in. It takes the signed events of every table (pushed by the tables,
//! pulled from the tables it is given URLs of), verifies them with the keys of the
//! election configuration, stores them with the same projections as a table, and serves
//! totals, turnout snapshots, exports and the election office screen.

pub mod clock;
pub mod config;
pub mod demo;
pub mod export;
pub mod group_commit;
pub mod login_limit;
pub mod metrics;
pub mod mode;
pub mod node;
pub mod office_tls;
pub mod open;
pub mod password_checks;
pub mod read_error;
pub mod snapshots;
pub mod tally;
pub mod tasks;
pub mod users;

use crate::print::card::ElectionInfo;
use crate::print::report::ClosingReport;
use crate::store::{Store, StoreError};
use chrono::{Local, NaiveDate, TimeZone};
use node::CentralNode;
use read_error::ReadError;
use serde::Serialize;
use snapshots::{Due, Snapshot};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tally::{Tally, Turnout};

/// A table heard from within this long is in contact.
const FRESH_MS: i64 = 30_000;
/// Heard from within this long: late, not yet lost.
const LATE_MS: i64 = 5 * 60_000;
/// Figures are read again at most this often (the dashboard polls; a country's
/// projections take a moment to sum).
const CACHE_FOR: Duration = Duration::from_millis(500);

/// "14.03.07": the time as a sentence on the screen writes it ("kl. 14.03.07").
pub fn shown_time(ms: i64) -> String {
    local_time(ms).replace(':', ".")
}

/// "14:03:07" in the central's local time: the snapshot labels and the exports.
pub fn local_time(ms: i64) -> String {
    match Local.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%H:%M:%S").to_string(),
        None => format!("{ms} ms"),
    }
}

/// The running tally: the sync node, a read connection for the screens and what the
/// configuration says about the day.
pub struct Central {
    pub node: Arc<CentralNode>,
    reader: Mutex<Store>,
    pub database: PathBuf,
    /// The central's device key file (its public half names it in its bundle).
    pub key_file: PathBuf,
    pub election: ElectionInfo,
    pub test: bool,
    pub day: NaiveDate,
    pub schedule: Vec<Due>,
    tables_by_place: BTreeMap<String, Vec<u32>>,
    cache: Mutex<Option<(u64, Instant, Arc<Tally>)>>,
    electorate: crate::store::tally_queries::ElectorateCache,
}

/// One table on the election office screen.
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    pub table_no: u32,
    /// First characters of the table's key, to tell devices apart.
    pub device: String,
    pub state: String,
    pub checkins: i64,
    pub last_contact_ms: Option<i64>,
    /// Events the table had that the central lacked, at the last contact.
    pub lag: u64,
    /// "ok", "forsinket", "ingen_kontakt" or "afvist".
    pub health: &'static str,
    /// Danish, for the screen.
    pub health_text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlaceView {
    #[serde(flatten)]
    pub figures: tally::PlaceFigures,
    pub table_health: Vec<TableView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub election: String,
    pub election_name: String,
    pub test: bool,
    pub now_ms: i64,
    pub events_stored: u64,
    pub total: tally::Figures,
    pub total_per_contest: Vec<tally::ContestCount>,
    pub double_registrations: i64,
    pub reissued_cards: i64,
    pub places: Vec<PlaceView>,
    /// Tables whose log exists in two versions (`store::forks`): the office must call
    /// the polling place at once.
    pub forks: Vec<ForkView>,
}

/// "To versioner af bord N's log" at the office, with the polling place to call.
#[derive(Debug, Clone, Serialize)]
pub struct ForkView {
    pub place: Option<String>,
    pub table_no: Option<u32>,
    pub device: String,
    pub title: String,
    pub detail: String,
}

/// A scheduled snapshot and whether it was taken.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotsView {
    pub now_ms: i64,
    pub schedule: Vec<ScheduleItem>,
    pub taken: Vec<Snapshot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleItem {
    pub label: String,
    pub at_ms: i64,
    pub taken: bool,
}

impl Central {
    /// The tally of `cfg`'s election day. The day is `election_date`, or the day of the
    /// central's clock now.
    pub fn new(
        node: Arc<CentralNode>,
        reader: Store,
        election: ElectionInfo,
        cfg: &config::CentralConfig,
    ) -> Result<Central, config::CentralConfigError> {
        let day = cfg.election_date.unwrap_or_else(|| {
            chrono::DateTime::from_timestamp_millis(node.clock.now_ms())
                .map(|t| t.with_timezone(&Local).date_naive())
                .unwrap_or_default()
        });
        Ok(Central {
            schedule: snapshots::schedule(day, &cfg.snapshot_times()?),
            node,
            reader: Mutex::new(reader),
            database: cfg.database.clone(),
            key_file: cfg.key.clone(),
            election,
            test: cfg.is_test(),
            day,
            tables_by_place: cfg.tables_by_place(),
            cache: Mutex::new(None),
            electorate: crate::store::tally_queries::ElectorateCache::default(),
        })
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Store> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tally, read again when events arrived and the last read is old enough.
    pub fn tally(&self) -> Result<Arc<Tally>, StoreError> {
        let generation = self.node.generation();
        {
            let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((g, at, t)) = c.as_ref()
                && (*g == generation || at.elapsed() < CACHE_FOR)
            {
                return Ok(t.clone());
            }
        }
        let t = Arc::new(tally::read(
            &self.reader(),
            &self.tables_by_place,
            &self.electorate,
        )?);
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, Instant::now(), t.clone()));
        Ok(t)
    }

    /// The tally read from the database now, past the cache (for `bench central`).
    pub fn tally_fresh(&self) -> Result<Arc<Tally>, StoreError> {
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.tally()
    }

    pub fn overview(&self) -> Result<Overview, StoreError> {
        let t = self.tally()?;
        let now = self.node.clock.now_ms();
        let contacts = self.node.contacts();
        let places = t
            .places
            .iter()
            .map(|p| {
                let table_health = p
                    .tables
                    .iter()
                    .map(|tf| {
                        let known = self
                            .node
                            .tables()
                            .iter()
                            .find(|k| k.place == p.id && k.table_no == tf.table_no);
                        let contact = known.and_then(|k| contacts.get(&k.key)).cloned();
                        let contact = contact.unwrap_or_default();
                        let last = contact.last_contact(now);
                        let (health, health_text) = health(now, last, &contact, known.is_some());
                        TableView {
                            table_no: tf.table_no,
                            device: known.map(|k| k.key.short()).unwrap_or_default(),
                            state: tf.state.clone(),
                            checkins: tf.checkins,
                            last_contact_ms: last,
                            lag: contact.lag,
                            health,
                            health_text,
                        }
                    })
                    .collect();
                PlaceView {
                    figures: p.clone(),
                    table_health,
                }
            })
            .collect();
        Ok(Overview {
            election: self.election.id.clone(),
            election_name: self.election.name.clone(),
            test: self.test,
            now_ms: now,
            events_stored: self.node.stored(),
            total: t.total,
            total_per_contest: t.total_per_contest.clone(),
            double_registrations: t.double_registrations,
            reissued_cards: t.reissued_cards,
            places,
            forks: self.fork_views()?,
        })
    }

    /// Every forked table log, named by the configuration's place and table number for
    /// the key (the key alone when the configuration does not list it).
    fn fork_views(&self) -> Result<Vec<ForkView>, StoreError> {
        let forks = self.reader().forks()?;
        Ok(forks
            .iter()
            .map(|f| {
                let known = self.node.tables().iter().find(|k| k.key == f.device);
                let table_no = known.map(|k| k.table_no).or(f.table_no);
                let (table, title) = match table_no {
                    Some(n) => (format!("bord {n}"), format!("Bord {n}")),
                    None => {
                        let short = f.device.short();
                        (format!("enheden {short}"), format!("Enheden {short}"))
                    }
                };
                let place = known.map(|k| k.place.clone());
                let at = place
                    .as_deref()
                    .map(|p| format!(" på valgsted {p}"))
                    .unwrap_or_default();
                ForkView {
                    title: format!("{title}{at} findes to gange"),
                    // The sequence number and the key are in the audit and the log.
                    detail: format!(
                        "To enheder optræder som {table}. Ring til valgstedet: {table} må ikke registrere flere vælgere. Bordet skal tages ud af brug, og valgstedet bruger papirlisten for det bord."
                    ),
                    place,
                    table_no,
                    device: f.device.to_hex(),
                }
            })
            .collect())
    }

    /// The turnout curve of the election day so far (07:00 to now, at most 21:00).
    pub fn turnout(&self) -> Result<Turnout, StoreError> {
        let at = |h: u32| {
            self.day
                .and_hms_opt(h, 0, 0)
                .and_then(|d| Local.from_local_datetime(&d).earliest())
                .map(|d| d.timestamp_millis())
                .unwrap_or(0)
        };
        let (from, until) = (at(7), at(21));
        let now = self.node.clock.now_ms().clamp(from, until);
        tally::turnout(&self.reader(), from, now, &self.electorate)
    }

    pub fn snapshots(&self) -> Result<SnapshotsView, StoreError> {
        let taken = snapshots::list(&self.reader())?;
        let schedule = self
            .schedule
            .iter()
            .map(|d| ScheduleItem {
                label: d.label.clone(),
                at_ms: d.at_ms,
                taken: taken.iter().any(|s| s.scheduled && s.at_ms == d.at_ms),
            })
            .collect();
        Ok(SnapshotsView {
            now_ms: self.node.clock.now_ms(),
            schedule,
            taken,
        })
    }

    /// Takes every scheduled snapshot whose time has come and is not yet taken.
    /// Returns how many were taken.
    pub fn take_due(&self) -> Result<usize, StoreError> {
        let now = self.node.clock.now_ms();
        let done = snapshots::taken(&self.node.writer())?;
        let mut n = 0;
        for d in &self.schedule {
            if d.at_ms <= now && !done.contains(&d.at_ms) {
                self.take(&d.label, d.at_ms, true)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Takes a snapshot at `at_ms` now: the figures are read, then stored unchanged.
    pub fn take(&self, label: &str, at_ms: i64, scheduled: bool) -> Result<(), StoreError> {
        let figures = snapshots::figures_at(&self.reader(), at_ms, &self.electorate)?;
        let taken = self.node.clock.now_ms();
        if snapshots::insert(
            &self.node.writer(),
            label,
            at_ms,
            taken,
            scheduled,
            &figures,
        )?
        .is_some()
        {
            let total: i64 = figures.iter().map(|(_, f)| f.total).sum();
            tracing::info!(snapshot = %label, places = figures.len(), total, "turnout snapshot taken");
        }
        Ok(())
    }

    /// The closing report of every polling place (or one).
    pub fn closing_reports(&self, place: Option<&str>) -> Result<Vec<ClosingReport>, ReadError> {
        let now = self.node.clock.now_ms();
        let ids: Vec<String> = match place {
            Some(p) => vec![p.to_string()],
            None => {
                let mut v: Vec<String> = self
                    .reader()
                    .places()?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                v.sort_by_key(|id| tally::place_order(id));
                v
            }
        };
        ids.iter()
            .map(|id| ClosingReport::read(&self.database, id, now).map_err(ReadError::from))
            .collect()
    }
}

/// A table's health from its last contact, in words for the screen.
fn health(
    now: i64,
    last: Option<i64>,
    contact: &node::Contact,
    configured: bool,
) -> (&'static str, String) {
    if !configured {
        return (
            "afvist",
            "ikke i valgkontorets opsætning: dets hændelser afvises".into(),
        );
    }
    if let Some(why) = contact
        .pull_problem
        .as_ref()
        .filter(|w| w.contains("afviser"))
    {
        return ("afvist", why.clone());
    }
    match last {
        None => ("ingen_kontakt", "aldrig hørt fra".into()),
        Some(t) if now - t <= FRESH_MS => {
            if contact.lag > 0 {
                (
                    "forsinket",
                    format!("forbundet, mangler {} hændelser", contact.lag),
                )
            } else {
                ("ok", "forbundet".into())
            }
        }
        Some(t) if now - t <= LATE_MS => {
            ("forsinket", format!("sidst hørt fra kl. {}", shown_time(t)))
        }
        Some(t) => (
            "ingen_kontakt",
            format!("ingen kontakt siden kl. {}", shown_time(t)),
        ),
    }
}
