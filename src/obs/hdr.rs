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

/// Percentiles of a histogram that its owning thread publishes now and then (about once a
/// second, off the per-message path) for live views on other threads.
#[derive(Debug, Default)]
pub struct LiveLatency {
    pub count: super::Counter,
    pub p50: super::Counter,
    pub p99: super::Counter,
    pub max: super::Counter,
}

impl LiveLatency {
    pub fn publish(&self, h: &LatencyHistogram) {
        let s = h.summary();
        self.count.set(s.count);
        self.p50.set(s.p50);
        self.p99.set(s.p99);
        self.max.set(s.max);
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
}
