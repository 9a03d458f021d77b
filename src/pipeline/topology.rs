//! Which stages share a thread, where each thread is pinned, and how it waits.
//!
//! `threads` lists the hot threads as `+`-joined runs of adjacent stages, in pipeline order:
//! `["io", "parse+book+strategy+dispatch"]` (the 2-core default: one hop, parked) or
//! `["io", "parse", "book", "strategy", "dispatch"]` (a tuned host: five pinned spinners).
//! A thread takes the core and wait strategy of its first stage.

use serde::Deserialize;

use super::wait::WaitStrategy;

/// The hot stages, in pipeline order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StageKind {
    Io,
    Parse,
    Book,
    Strategy,
    Dispatch,
}

impl StageKind {
    pub const ALL: [Self; 5] = [
        Self::Io,
        Self::Parse,
        Self::Book,
        Self::Strategy,
        Self::Dispatch,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Io => "io",
            Self::Parse => "parse",
            Self::Book => "book",
            Self::Strategy => "strategy",
            Self::Dispatch => "dispatch",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Placement of one stage.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StagePlacement {
    /// Core to pin the thread to (skipped with a warning if the machine lacks it).
    pub core: Option<usize>,
    pub wait: WaitStrategy,
}

impl Default for StagePlacement {
    fn default() -> Self {
        Self {
            core: None,
            wait: WaitStrategy::Park,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StagePlacements {
    pub io: StagePlacement,
    pub parse: StagePlacement,
    pub book: StagePlacement,
    pub strategy: StagePlacement,
    pub dispatch: StagePlacement,
}

impl StagePlacements {
    pub fn get(&self, k: StageKind) -> StagePlacement {
        match k {
            StageKind::Io => self.io,
            StageKind::Parse => self.parse,
            StageKind::Book => self.book,
            StageKind::Strategy => self.strategy,
            StageKind::Dispatch => self.dispatch,
        }
    }

    /// Every stage waits by `wait` (tests on 2 cores park them all).
    pub fn set_wait(&mut self, wait: WaitStrategy) {
        for st in [
            &mut self.io,
            &mut self.parse,
            &mut self.book,
            &mut self.strategy,
            &mut self.dispatch,
        ] {
            st.wait = wait;
        }
    }
}

/// Ring capacities (slots).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingSizes {
    /// io → parse: raw frames (also the number of extra pooled buffers).
    pub frames: usize,
    /// parse → book: market messages.
    pub msgs: usize,
    /// book → strategy: tops.
    pub tops: usize,
    /// strategy → dispatch: opportunities.
    pub opportunities: usize,
    /// resync worker → book: snapshot messages.
    pub snapshots: usize,
}

impl Default for RingSizes {
    fn default() -> Self {
        Self {
            frames: 4096,
            msgs: 1 << 16,
            tops: 1 << 14,
            opportunities: 1024,
            snapshots: 1 << 16,
        }
    }
}

/// `[pipeline]` in the engine's TOML.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    pub threads: Vec<String>,
    pub stages: StagePlacements,
    pub rings: RingSizes,
    /// How long a stage may stall on a full ring before it drops (and invalidates).
    pub stall_budget_ms: u64,
    /// Assets every hot stage's tables are sized for at start (at least the starting
    /// registry). Markets listed while running extend the registry up to this; past it their
    /// assets are refused (counted, logged) until a restart.
    pub max_assets: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            threads: vec!["io".into(), "parse+book+strategy+dispatch".into()],
            stages: StagePlacements::default(),
            rings: RingSizes::default(),
            stall_budget_ms: 250,
            max_assets: 8192,
        }
    }
}

/// A validated topology: for each thread, its run of stages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub threads: Vec<Vec<StageKind>>,
}

impl Topology {
    /// Checks that `threads` covers every stage once, in order, in contiguous runs.
    pub fn parse(threads: &[String]) -> Result<Self, String> {
        let mut out: Vec<Vec<StageKind>> = Vec::new();
        let mut next = 0usize;
        for t in threads {
            let mut run = Vec::new();
            for name in t.split('+').map(str::trim) {
                let k = StageKind::from_name(name).ok_or_else(|| {
                    format!("unknown stage {name:?} (stages: io, parse, book, strategy, dispatch)")
                })?;
                if StageKind::ALL.get(next) != Some(&k) {
                    return Err(format!(
                        "stage {name:?} out of order: threads must list io, parse, book, strategy, dispatch once each, in order"
                    ));
                }
                next += 1;
                run.push(k);
            }
            if run.is_empty() {
                return Err("an empty thread".into());
            }
            out.push(run);
        }
        if next != StageKind::ALL.len() {
            return Err(format!("missing stage {:?}", StageKind::ALL[next].name()));
        }
        Ok(Self { threads: out })
    }

    /// Whether `a` and the stage after it share a thread (the ring between them is elided).
    pub fn fused_with_next(&self, a: StageKind) -> bool {
        self.threads.iter().any(|t| t.windows(2).any(|w| w[0] == a))
    }

    pub fn describe(&self) -> String {
        self.threads
            .iter()
            .map(|t| t.iter().map(|k| k.name()).collect::<Vec<_>>().join("+"))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&str]) -> Result<Topology, String> {
        Topology::parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn valid_and_invalid_topologies() {
        let d = t(&["io", "parse+book+strategy+dispatch"]).unwrap();
        assert!(d.fused_with_next(StageKind::Parse));
        assert!(!d.fused_with_next(StageKind::Io));
        assert_eq!(d.describe(), "io | parse+book+strategy+dispatch");
        assert!(t(&["io", "parse", "book", "strategy", "dispatch"]).is_ok());
        assert!(t(&["io+parse+book+strategy+dispatch"]).is_ok());
        assert!(
            t(&["io", "book+parse", "strategy", "dispatch"])
                .unwrap_err()
                .contains("out of order")
        );
        assert!(
            t(&["io", "parse+book"])
                .unwrap_err()
                .contains("missing stage \"strategy\"")
        );
        assert!(
            t(&["io", "parse+bok"])
                .unwrap_err()
                .contains("unknown stage")
        );
    }
}
