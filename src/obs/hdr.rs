//! Latency histograms (hdrhistogram), printed as percentile tables and saved as `.hgrm` files.
//!
//! Recording is allocation-free and lock-free (a histogram is owned by one stage); reports are
//! produced off the hot path, at the end of a run or from a copy.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use hdrhistogram::Histogram;

/// Nanosecond latencies from 1 ns to 60 s at 3 significant digits.
#[derive(Clone)]
pub struct LatencyHistogram {
    name: &'static str,
    hist: Histogram<u64>,
    /// Values above the histogram's range, clamped into the top bucket (counted, not lost).
    pub clamped: u64,
}

/// The percentiles every report shows, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

const HIGHEST_NS: u64 = 60_000_000_000;

impl LatencyHistogram {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            // Bounds are constants inside hdrhistogram's valid range, so this cannot fail.
            hist: Histogram::new_with_bounds(1, HIGHEST_NS, 3).expect("valid histogram bounds"),
            clamped: 0,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    #[inline]
    pub fn record(&mut self, ns: u64) {
        let v = ns.clamp(1, HIGHEST_NS);
        if v != ns && ns > HIGHEST_NS {
            self.clamped += 1;
        }
        // In range by construction: cannot fail.
        let _ = self.hist.record(v);
    }

    pub fn add(&mut self, other: &Self) {
        let _ = self.hist.add(&other.hist);
        self.clamped += other.clamped;
    }

    pub fn reset(&mut self) {
        self.hist.reset();
        self.clamped = 0;
    }

    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    pub fn summary(&self) -> LatencySummary {
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.hist.len(),
            p50: self.hist.value_at_quantile(0.50),
            p90: self.hist.value_at_quantile(0.90),
            p99: self.hist.value_at_quantile(0.99),
            p999: self.hist.value_at_quantile(0.999),
            max: self.hist.max(),
        }
    }

    /// The `.hgrm` percentile-distribution text (values in microseconds).
    pub fn hgrm(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:>12} {:>14} {:>10} {:>14}\n",
            "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
        );
        for v in self.hist.iter_quantiles(5) {
            let q = v.quantile_iterated_to();
            let inv = if q < 1.0 {
                1.0 / (1.0 - q)
            } else {
                f64::INFINITY
            };
            let _ = writeln!(
                out,
                "{:>12.3} {:>14.12} {:>10} {:>14.2}",
                v.value_iterated_to() as f64 / 1000.0,
                q,
                v.count_since_last_iteration(),
                inv
            );
        }
        let s = self.summary();
        let _ = writeln!(
            out,
            "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
            self.hist.mean() / 1000.0,
            self.hist.stdev() / 1000.0
        );
        let _ = writeln!(
            out,
            "#[Max     = {:>12.3}, Total count    = {:>12}]",
            s.max as f64 / 1000.0,
            s.count
        );
        out
    }

    pub fn save_hgrm(&self, path: &Path) -> io::Result<()> {
        std::fs::write(path, self.hgrm())
    }
}

/// Upper bounds (ns) of the buckets a live histogram is published in: the `le` bounds of the
/// Prometheus histograms on `/metrics` (a last, unbounded bucket follows).
pub const LIVE_BOUNDS_NS: [u64; 16] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    50_000_000,
    100_000_000,
    1_000_000_000,
];

/// Percentiles of a histogram that its owning thread publishes now and then (about once a
/// second, off the per-message path) for live views on other threads, with its counts per
/// [`LIVE_BOUNDS_NS`] bucket and its sum for the metrics endpoint.
#[derive(Debug, Default)]
pub struct LiveLatency {
    pub count: super::Counter,
    pub p50: super::Counter,
    pub p99: super::Counter,
    pub max: super::Counter,
    /// Values per bucket (not cumulative); the last one is above every bound.
    pub buckets: [super::Counter; LIVE_BOUNDS_NS.len() + 1],
    /// Sum of every value, ns (each at its hdr bucket's upper value).
    pub sum_ns: super::Counter,
}

impl LiveLatency {
    /// One pass over the recorded values besides the percentiles: about as much work as the
    /// summary, once a second, never per message.
    pub fn publish(&self, h: &LatencyHistogram) {
        let s = h.summary();
        self.count.set(s.count);
        self.p50.set(s.p50);
        self.p99.set(s.p99);
        self.max.set(s.max);
        let mut counts = [0u64; LIVE_BOUNDS_NS.len() + 1];
        let mut sum = 0u64;
        for v in h.hist.iter_recorded() {
            let value = v.value_iterated_to();
            let n = v.count_since_last_iteration();
            sum = sum.saturating_add(value.saturating_mul(n));
            counts[LIVE_BOUNDS_NS.partition_point(|&b| b < value)] += n;
        }
        for (c, n) in self.buckets.iter().zip(counts) {
            c.set(n);
        }
        self.sum_ns.set(sum);
    }

    /// The published buckets (not cumulative) and sum.
    pub fn buckets(&self) -> ([u64; LIVE_BOUNDS_NS.len() + 1], u64) {
        let mut out = [0u64; LIVE_BOUNDS_NS.len() + 1];
        for (o, c) in out.iter_mut().zip(&self.buckets) {
            *o = c.get();
        }
        (out, self.sum_ns.get())
    }

    pub fn read(&self) -> LatencySummary {
        LatencySummary {
            count: self.count.get(),
            p50: self.p50.get(),
            p90: 0,
            p99: self.p99.get(),
            p999: 0,
            max: self.max.get(),
        }
    }
}

impl LatencySummary {
    /// One row of a percentile table, in microseconds.
    pub fn row(&self, name: &str) -> String {
        let us = |ns: u64| ns as f64 / 1000.0;
        format!(
            "{name:<28} {:>10} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            self.count,
            us(self.p50),
            us(self.p90),
            us(self.p99),
            us(self.p999),
            us(self.max)
        )
    }

    pub fn header() -> String {
        format!(
            "{:<28} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "latency (µs)", "count", "p50", "p90", "p99", "p99.9", "max"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_hgrm() {
        let mut h = LatencyHistogram::new("t");
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        h.record(u64::MAX);
        let s = h.summary();
        assert_eq!(s.count, 1001);
        assert!((495_000..=505_000).contains(&s.p50), "{s:?}");
        assert_eq!(h.clamped, 1);
        let text = h.hgrm();
        assert!(text.contains("Percentile") && text.contains("Total count"));
    }

    #[test]
    fn live_buckets_count_every_value_once() {
        let mut h = LatencyHistogram::new("t");
        for ns in [500, 1_500, 1_500, 40_000, 3_000_000_000] {
            h.record(ns);
        }
        let live = LiveLatency::default();
        live.publish(&h);
        let (b, sum) = live.buckets();
        assert_eq!(b.iter().sum::<u64>(), 5);
        assert_eq!((b[0], b[1], b[5], b[16]), (1, 2, 1, 1), "{b:?}");
        assert!(sum >= 3_000_043_500, "{sum}");
    }
}
