//! Writing metric families in the OpenMetrics text format (Prometheus' exposition format)
//! with the Prometheus project's Rust client: a [`Collector`] that fills a [`Families`] on
//! every scrape from values read at that moment.

use std::fmt::Error;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::hdr::{LIVE_BOUNDS_NS, LiveLatency};

/// The `Content-Type` of [`encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of one series.
pub type Labels<'a> = Vec<(&'a str, String)>;

/// The families of one scrape, written as they are added.
pub struct Families<'e, 'w> {
    enc: &'e mut DescriptorEncoder<'w>,
}

impl Families<'_, '_> {
    /// A counter without labels (`name` without `_total`: the encoder appends it).
    pub fn counter(&mut self, name: &str, help: &str, v: u64) -> Result<(), Error> {
        let mut m = self
            .enc
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        m.encode_counter::<NoLabelSet, _, u64>(&v, None)
    }

    pub fn gauge(&mut self, name: &str, help: &str, v: i64) -> Result<(), Error> {
        let mut m = self
            .enc
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        m.encode_gauge(&v)
    }

    /// A labelled counter family (nothing written when `rows` is empty).
    pub fn counters(
        &mut self,
        name: &str,
        help: &str,
        rows: &[(Labels<'_>, u64)],
    ) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut m = self
            .enc
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (labels, v) in rows {
            m.encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(v, None)?;
        }
        Ok(())
    }

    /// A labelled gauge family (nothing written when `rows` is empty).
    pub fn gauges(
        &mut self,
        name: &str,
        help: &str,
        rows: &[(Labels<'_>, i64)],
    ) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut m = self
            .enc
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (labels, v) in rows {
            m.encode_family(labels)?.encode_gauge(v)?;
        }
        Ok(())
    }

    /// Latency histograms in seconds, one per label set, from stages' live buckets.
    pub fn latencies(
        &mut self,
        name: &str,
        help: &str,
        rows: &[(Labels<'_>, &LiveLatency)],
    ) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut m = self
            .enc
            .encode_descriptor(name, help, None, MetricType::Histogram)?;
        for (labels, live) in rows {
            let (counts, sum_ns) = live.buckets();
            let mut buckets = Vec::with_capacity(counts.len());
            for (i, n) in counts.iter().enumerate() {
                let le = LIVE_BOUNDS_NS
                    .get(i)
                    .map_or(f64::INFINITY, |&b| b as f64 / 1e9);
                buckets.push((le, *n));
            }
            let count = counts.iter().sum();
            m.encode_family(labels)?.encode_histogram::<NoLabelSet>(
                sum_ns as f64 / 1e9,
                count,
                &buckets,
                None,
            )?;
        }
        Ok(())
    }
}

/// Something that writes its families on every scrape.
pub trait Scrape: Send + Sync + 'static {
    fn families(&self, f: &mut Families<'_, '_>) -> Result<(), Error>;
}

struct Adapter<S: Scrape>(std::sync::Arc<S>);

impl<S: Scrape> std::fmt::Debug for Adapter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("scrape")
    }
}

impl<S: Scrape> Collector for Adapter<S> {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), Error> {
        self.0.families(&mut Families { enc: &mut encoder })
    }
}

/// A registry whose one collector is `source`, encoded anew on each [`encode`].
pub fn registry<S: Scrape>(source: std::sync::Arc<S>) -> Registry {
    let mut r = Registry::default();
    r.register_collector(Box::new(Adapter(source)));
    r
}

/// The whole exposition (ending in `# EOF`).
pub fn encode(registry: &Registry) -> Result<String, Error> {
    let mut out = String::with_capacity(64 * 1024);
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}
