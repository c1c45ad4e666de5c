//! The figures every benchmark prints: percentiles of timed samples, in milliseconds.
//! A leaf of its own so each benchmark file can use it without using the others.

use std::time::Duration;

/// p50, p99 and max of a set of durations.
pub fn percentiles(mut d: Vec<Duration>) -> (Duration, Duration, Duration) {
    if d.is_empty() {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    d.sort();
    let at = |q: f64| {
        d[((d.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(d.len() - 1)]
    };
    (at(0.50), at(0.99), d[d.len() - 1])
}

/// "p50 1.2 ms  p99 3.4 ms  max 5.6 ms" of a set of durations, to a tenth of a
/// millisecond (the central's and the connects' figures).
pub fn spread(d: Vec<Duration>) -> String {
    spread_by(d, |d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
}

/// "p50 …  p99 …  max …" of a set of durations, each written by `fmt` (the table's
/// benchmarks use [`ms`], to a microsecond).
pub fn spread_by(d: Vec<Duration>, fmt: impl Fn(Duration) -> String) -> String {
    let (p50, p99, max) = percentiles(d);
    format!("p50 {}  p99 {}  max {}", fmt(p50), fmt(p99), fmt(max))
}

/// The two latencies of a table's check-in: scan to verdict, confirm to stored.
pub fn print_scan_confirm(scan_times: Vec<Duration>, confirm_times: Vec<Duration>) {
    let admitted = confirm_times.len();
    println!("  scan -> verdict    {}", spread_by(scan_times, ms));
    println!(
        "  confirm -> stored  {}  ({admitted} check-ins, fsync included)",
        spread_by(confirm_times, ms)
    );
}

/// A duration as the benchmarks print it.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
