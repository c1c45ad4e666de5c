//! The turnout chart of the audit's PDF: a polling place's check-ins per hour of the
//! day (local time) as bars, from the replayed logs. An examiner sees at a glance what a
//! table of figures hides: check-ins before opening or after closing, an hour with none
//! in the middle of the day, a table that stopped.

use super::replay::HourCount;
use crate::print::pdf::{Doc, Weight};
use chrono::{TimeZone, Timelike};
use std::collections::{BTreeMap, BTreeSet};

/// Height the chart takes on the page, its labels included.
pub const HEIGHT: f32 = 200.0;
/// The polls' usual hours (8–20), always shown so a short day still reads as a day.
const DAY: (u32, u32) = (8, 20);

/// Check-ins per local hour of the day (0–23), and on how many dates they fell.
pub fn per_hour_of_day(hours: &[HourCount]) -> (BTreeMap<u32, i64>, usize) {
    let mut per_hour = BTreeMap::new();
    let mut dates = BTreeSet::new();
    for h in hours.iter().filter(|h| h.checkins != 0) {
        let Some(t) = chrono::Local.timestamp_millis_opt(h.hour_ms).single() else {
            continue;
        };
        *per_hour.entry(t.hour()).or_insert(0) += h.checkins;
        dates.insert(t.date_naive());
    }
    (per_hour, dates.len())
}

/// A round step for the count axis: 1, 2 or 5 × 10ⁿ, at most five steps to `max`.
fn step(max: i64) -> i64 {
    let mut unit = 1;
    loop {
        for s in [unit, 2 * unit, 5 * unit] {
            if max <= 5 * s {
                return s;
            }
        }
        unit *= 10;
    }
}

/// Draws the bars with their axes in the box whose top left corner is (x, top).
pub fn draw(doc: &mut Doc, x: f32, top: f32, width: f32, per_hour: &BTreeMap<u32, i64>) {
    let first = per_hour.keys().next().copied().unwrap_or(DAY.0).min(DAY.0);
    let end = per_hour
        .keys()
        .last()
        .map_or(DAY.1, |h| h + 1)
        .max(DAY.1)
        .min(24);
    let max = per_hour.values().copied().max().unwrap_or(0).max(1);
    let step = step(max);
    let top_count = max.div_euclid(step) * step + if max % step == 0 { 0 } else { step };
    // The plot area, leaving room for the count labels left and the hours below.
    let (left, right) = (x + 34.0, x + width);
    let (bottom, plot_top) = (top - HEIGHT + 30.0, top - 16.0);
    let y_of = |n: i64| bottom + (plot_top - bottom) * n as f32 / top_count as f32;
    doc.text(x, top - 8.0, 8.0, Weight::Bold, "Registreringer");
    let mut n = 0;
    while n <= top_count {
        let y = y_of(n);
        if n > 0 {
            doc.fill_rect_gray(left, y - 0.2, right - left, 0.4, 0.8);
        }
        doc.text_right(left - 4.0, y - 2.5, 7.5, Weight::Regular, &n.to_string());
        n += step;
    }
    let slot = (right - left) / (end - first) as f32;
    for hour in first..end {
        let sx = left + (hour - first) as f32 * slot;
        let count = per_hour.get(&hour).copied().unwrap_or(0);
        if count > 0 {
            doc.fill_rect_gray(
                sx + slot * 0.15,
                bottom,
                slot * 0.7,
                y_of(count) - bottom,
                0.45,
            );
            let label = count.to_string();
            doc.text_centered(
                sx + slot / 2.0,
                y_of(count) + 2.5,
                7.0,
                Weight::Regular,
                &label,
            );
        }
        doc.line(sx, bottom, sx, bottom - 3.0, 0.5);
        doc.text_centered(
            sx,
            bottom - 11.0,
            7.5,
            Weight::Regular,
            &format!("{hour:02}"),
        );
    }
    doc.line(right, bottom, right, bottom - 3.0, 0.5);
    doc.text_centered(
        right,
        bottom - 11.0,
        7.5,
        Weight::Regular,
        &format!("{end:02}"),
    );
    doc.line(left, bottom, right, bottom, 0.8);
    doc.line(left, bottom, left, plot_top, 0.8);
    doc.text_centered(
        (left + right) / 2.0,
        bottom - 23.0,
        8.0,
        Weight::Bold,
        "Klokkeslæt (lokal tid)",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round_and_few() {
        assert_eq!(step(1), 1);
        assert_eq!(step(5), 1);
        assert_eq!(step(6), 2);
        assert_eq!(step(11), 5);
        assert_eq!(step(26), 10);
        assert_eq!(step(328), 100);
    }

    #[test]
    fn hours_are_summed_by_hour_of_the_day() {
        let at = |ms: i64, n| HourCount {
            hour_ms: ms,
            checkins: n,
        };
        let day = 86_400_000;
        let (h, dates) = per_hour_of_day(&[at(0, 3), at(day, 4), at(3_600_000, 0)]);
        assert_eq!(h.values().sum::<i64>(), 7);
        assert_eq!(h.len(), 1);
        assert_eq!(dates, 2);
    }
}
