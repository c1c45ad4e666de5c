//! The rehearsal's report: figures as text, and a chart of check-ins and latency per
//! hour as an SVG file written by hand (no plotting dependency for one chart).

use super::check::Verdict;
use super::day::{DAY_MINUTES, OPEN_MIN};
use super::ledger::Ledger;
use crate::election::event::RecordedMethod;
use std::collections::HashSet;
use std::fmt::Write;

const HOURS: usize = (DAY_MINUTES / 60.0) as usize;

/// Per hour of the day (08–19): check-ins confirmed, and p50/p99 of scan + confirm in ms.
pub struct Hourly {
    pub checkins: [usize; HOURS],
    pub p50: [f64; HOURS],
    pub p99: [f64; HOURS],
}

fn hour_of(sim: f64) -> usize {
    (((sim - OPEN_MIN) / 60.0).floor().max(0.0) as usize).min(HOURS - 1)
}

/// The `q` quantile of sorted values (0 when empty).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).saturating_sub(1);
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub fn hourly(l: &Ledger) -> Hourly {
    let mut h = Hourly {
        checkins: [0; HOURS],
        p50: [0.0; HOURS],
        p99: [0.0; HOURS],
    };
    for g in &l.greens {
        h.checkins[hour_of(g.sim)] += 1;
    }
    for i in 0..HOURS {
        let lat = sorted(
            l.latency
                .iter()
                .filter(|x| hour_of(x.0) == i)
                .map(|x| x.1 + x.2)
                .collect(),
        );
        h.p50[i] = quantile(&lat, 0.5);
        h.p99[i] = quantile(&lat, 0.99);
    }
    h
}

pub struct Figures<'a> {
    pub tables: u32,
    pub electorate: usize,
    pub brevstemmer: usize,
    pub list_size: usize,
    pub seed: u64,
    pub day_seconds: f64,
    pub setup_s: f64,
    pub day_s: f64,
    /// Real seconds the simulated clock stood still while the lines were long.
    pub held_s: f64,
    pub converge_s: f64,
    pub total_s: f64,
    /// Double registrations flagged on the tables at the end.
    pub doubles: usize,
    /// Which network the devices talked over ([`super::net::Network::line`]).
    pub network: &'a str,
    pub notes: &'a [String],
}

pub fn text(f: &Figures, l: &Ledger, verdicts: &[Verdict], svg: &str) -> String {
    let mut s = String::new();
    let persons: HashSet<usize> = l.greens.iter().map(|g| g.voter).collect();
    let by = |m: RecordedMethod| l.greens.iter().filter(|g| g.method == m).count();
    let _ = writeln!(
        s,
        "valgbord simulate — generalprøve: {} borde, {} vælgere på valgstedet ({} brevstemmer), liste med {} vælgere, seed {}",
        f.tables, f.electorate, f.brevstemmer, f.list_size, f.seed
    );
    let _ = writeln!(
        s,
        "Tid: opsætning {:.1} s, valgdag 08–20 på {:.0} s (kørte {:.1} s, heraf stod uret stille {:.1} s mens køerne var lange), samstemning {:.1} s, i alt {:.1} s",
        f.setup_s, f.day_seconds, f.day_s, f.held_s, f.converge_s, f.total_s
    );
    let _ = writeln!(s, "{}", f.network);
    for n in f.notes {
        let _ = writeln!(s, "Bemærk: {n}");
    }
    let _ = writeln!(s, "\nAnkomster:");
    let mut arrivals: Vec<_> = l.arrivals.iter().collect();
    arrivals.sort();
    for (label, n) in arrivals {
        let _ = writeln!(s, "  {label:<28} {n:>7}");
    }
    let _ = writeln!(s, "\nUdfald (ærinde → svar):");
    let mut outcomes: Vec<_> = l.outcomes.iter().collect();
    outcomes.sort();
    for ((label, code), n) in outcomes {
        let _ = writeln!(s, "  {label:<28} {code:<34} {n:>7}");
    }
    let _ = writeln!(
        s,
        "\nRegistreringer: {} ({} med kort, {} uden kort, {} fra papir) — {} personer = {:.1} % af vælgerne",
        l.greens.len(),
        by(RecordedMethod::Card),
        by(RecordedMethod::Manual),
        by(RecordedMethod::Paper),
        persons.len(),
        100.0 * persons.len() as f64 / f.electorate.max(1) as f64
    );
    let _ = writeln!(
        s,
        "Sendt til et andet bord: {}; bekræftelser uden svar: {}; gamle kort afvist: {}; gentagne forsøg afvist: {}, indlagt under fejl: {}",
        l.moved,
        l.unsure.len(),
        l.superseded_refused,
        l.repeats_refused,
        l.repeats_admitted_in_fault
    );
    let _ = writeln!(
        s,
        "Dobbeltregistreringer markeret til valgsekretæren: {} (papirkonflikter: {})",
        f.doubles, l.paper_conflicts
    );
    let lat = sorted(l.latency.iter().map(|x| x.1 + x.2).collect());
    let peak = sorted(
        l.latency
            .iter()
            .filter(|x| (16.0 * 60.0..19.5 * 60.0).contains(&x.0))
            .map(|x| x.1 + x.2)
            .collect(),
    );
    let _ = writeln!(
        s,
        "Svartid scan + bekræft (HTTP, disk-fsync med): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; spidsbelastning 16–19:30: p50 {:.1} ms, p99 {:.1} ms",
        quantile(&lat, 0.5),
        quantile(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0),
        quantile(&peak, 0.5),
        quantile(&peak, 0.99)
    );
    let h = hourly(l);
    let _ = writeln!(
        s,
        "\nTime   registreringer  % af vælgerne   p50 ms   p99 ms"
    );
    for i in 0..HOURS {
        let _ = writeln!(
            s,
            "{:02}-{:02} {:>14} {:>14.1} {:>8.1} {:>8.1}",
            8 + i,
            9 + i,
            h.checkins[i],
            100.0 * h.checkins[i] as f64 / f.electorate.max(1) as f64,
            h.p50[i],
            h.p99[i]
        );
    }
    let _ = writeln!(s, "\nFejl:");
    if l.fault_log.is_empty() {
        let _ = writeln!(s, "  ingen");
    }
    // Logged as each fault ended; read in the order they began ("HH:MM–…" sorts so).
    let mut faults: Vec<&String> = l.fault_log.iter().collect();
    faults.sort();
    for line in faults {
        let _ = writeln!(s, "  {line}");
    }
    let _ = writeln!(s, "\nInvarianter:");
    for v in verdicts {
        let _ = writeln!(s, "  [{}] {}", if v.held() { "OK" } else { "FEJL" }, v.name);
        for f in v.failures.iter().take(10) {
            let _ = writeln!(s, "        {f}");
        }
        if v.failures.len() > 10 {
            let _ = writeln!(s, "        … og {} mere", v.failures.len() - 10);
        }
    }
    let _ = writeln!(s, "\nDiagram: {svg}");
    s
}

/// Bars of check-ins per hour, and p50/p99 latency lines on a second axis.
pub fn svg(h: &Hourly, title: &str) -> String {
    let (w, ht) = (820.0, 440.0);
    let (left, right, top, bottom) = (70.0, 70.0, 50.0, 60.0);
    let pw = w - left - right;
    let ph = ht - top - bottom;
    let max_n = h.checkins.iter().copied().max().unwrap_or(0).max(1) as f64;
    let max_ms = h.p99.iter().copied().fold(1.0_f64, f64::max) * 1.1;
    let slot = pw / HOURS as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{ht}" viewBox="0 0 {w} {ht}" font-family="DejaVu Sans, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{ht}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        w / 2.0,
        escape(title)
    );
    for i in 0..=4 {
        let y = top + ph - ph * i as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{:.0}</text><text x="{}" y="{:.1}">{:.1}</text>"##,
            left + pw,
            left - 6.0,
            y + 4.0,
            max_n * i as f64 / 4.0,
            left + pw + 6.0,
            y + 4.0,
            max_ms * i as f64 / 4.0
        );
    }
    for i in 0..HOURS {
        let bh = ph * h.checkins[i] as f64 / max_n;
        let x = left + slot * i as f64 + slot * 0.15;
        let _ = writeln!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#6a9bd1"><title>{:02}-{:02}: {} registreringer</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle">{:02}</text>"##,
            top + ph - bh,
            slot * 0.7,
            8 + i,
            9 + i,
            h.checkins[i],
            left + slot * (i as f64 + 0.5),
            top + ph + 16.0,
            8 + i
        );
    }
    for (series, colour, name) in [(&h.p50, "#2a7a2a", "p50"), (&h.p99, "#c0392b", "p99")] {
        let pts: Vec<String> = series
            .iter()
            .enumerate()
            .map(|(i, ms)| {
                format!(
                    "{:.1},{:.1}",
                    left + slot * (i as f64 + 0.5),
                    top + ph - ph * ms / max_ms
                )
            })
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"><title>{name}</title></polyline>"#,
            pts.join(" ")
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{left}" y="{}" >klokkeslæt (time)</text><text x="16" y="{}" transform="rotate(-90 16 {})">registreringer pr. time</text><text x="{}" y="{}" transform="rotate(90 {} {})">scan + bekræft, ms</text>"##,
        ht - 20.0,
        top + ph / 2.0 + 60.0,
        top + ph / 2.0,
        w - 16.0,
        top + ph / 2.0 - 60.0,
        w - 16.0,
        top + ph / 2.0
    );
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="12" height="12" fill="#6a9bd1"/><text x="{}" y="{}">registreringer</text><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#2a7a2a" stroke-width="2"/><text x="{}" y="{}">p50</text><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#c0392b" stroke-width="2"/><text x="{}" y="{}">p99</text>"##,
        w - 330.0,
        ht - 30.0,
        w - 314.0,
        ht - 20.0,
        w - 200.0,
        w - 180.0,
        ht - 24.0,
        ht - 24.0,
        w - 175.0,
        ht - 20.0,
        w - 130.0,
        w - 110.0,
        ht - 24.0,
        ht - 24.0,
        w - 105.0,
        ht - 20.0
    );
    s.push_str("</svg>\n");
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_well_formed_svg_with_a_bar_per_hour() {
        let h = Hourly {
            checkins: [10, 20, 30, 30, 30, 25, 25, 30, 45, 45, 45, 35],
            p50: [3.0; HOURS],
            p99: [9.0; HOURS],
        };
        let s = svg(&h, "Bord & stol <test>");
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("registreringer</title>").count(), HOURS);
        assert!(s.contains("Bord &amp; stol &lt;test&gt;"));
        assert_eq!(s.matches("<polyline").count(), 2);
    }

    #[test]
    fn quantiles_of_sorted_values() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
