//! The opportunity contract: `polyarb replay --frames F --groups G --opportunities`.
//!
//! F is replayed exactly as `replay --dump-books` replays it (every line of F is a frame,
//! numbered from 1; blank lines count and change nothing). After each frame, every group one
//! of whose books the frame touched is evaluated, and a JSON line is printed when its
//! opportunity appears, changes (side, sets or any leg's worst price) or disappears.
//!
//! A group is evaluated only when every YES and NO book of it exists and is `ok`. Each side
//! (YES: the YES books, paying 1 per set; NO: the NO books, paying N − 1) is walked by
//! [`super::walk::sets_within`] over the whole ask ladders with the threshold
//! `payout − min_profit`; the total is floored to 0.01 share, then capped at `max_sets`. Each
//! leg's cost is Σ price × shares through its levels for that many sets, rounded up to 1e-6;
//! the side is dropped when the sets are under `min_order_size` or any leg costs under 1.
//! When both sides qualify the larger edge wins, a tie goes to YES. Fees are zero here.

use std::io::{self, BufRead, Write};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::GroupSide;
use super::walk::{fill, sets_within};
use crate::book::{Books, OrderBook};
use crate::core::decimal::{MICROS_PER_UNIT, parse_micros, write_micros};
use crate::core::{AssetIndex, AssetRegistry, MarketMsg, Price};

/// One group of the groups file, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: String,
    questions: Vec<RawQuestion>,
    min_profit: String,
    max_sets: String,
    min_order_size: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    yes: String,
    no: String,
}

/// A group of the contract: the questions of one neg-risk event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContractGroup {
    pub id: String,
    /// The YES token id of every question, in order.
    pub yes: Vec<String>,
    /// The NO token id of every question, in the same order.
    pub no: Vec<String>,
    /// Micro-pUSD per set.
    pub min_profit: u64,
    /// Micro-shares.
    pub max_sets: u64,
    /// Micro-shares.
    pub min_order_size: u64,
}

impl ContractGroup {
    fn side(&self, side: GroupSide) -> &[String] {
        match side {
            GroupSide::Yes => &self.yes,
            GroupSide::No => &self.no,
        }
    }
}

/// Why a groups file was refused.
#[derive(Debug, thiserror::Error)]
pub enum GroupsError {
    #[error("groups file is not a JSON array of groups: {0}")]
    Json(#[from] serde_json::Error),
    #[error("group {group}: {field} {value:?} is not a non-negative decimal of at most 6 places")]
    Decimal {
        group: String,
        field: &'static str,
        value: String,
    },
    #[error("group {0}: no questions")]
    Empty(String),
    #[error("group id {0} appears twice")]
    Duplicate(String),
}

/// Parses a groups file (see the module doc).
pub fn parse_groups(json: &[u8]) -> Result<Vec<ContractGroup>, GroupsError> {
    let raw: Vec<RawGroup> = serde_json::from_slice(json)?;
    let mut out: Vec<ContractGroup> = Vec::with_capacity(raw.len());
    for g in raw {
        let dec = |field: &'static str, v: &str| {
            parse_micros(v.as_bytes()).map_err(|_| GroupsError::Decimal {
                group: g.id.clone(),
                field,
                value: v.to_string(),
            })
        };
        let min_profit = dec("min_profit", &g.min_profit)?;
        let max_sets = dec("max_sets", &g.max_sets)?;
        let min_order_size = dec("min_order_size", &g.min_order_size)?;
        if g.questions.is_empty() {
            return Err(GroupsError::Empty(g.id));
        }
        if out.iter().any(|o| o.id == g.id) {
            return Err(GroupsError::Duplicate(g.id));
        }
        out.push(ContractGroup {
            yes: g.questions.iter().map(|q| q.yes.clone()).collect(),
            no: g.questions.iter().map(|q| q.no.clone()).collect(),
            id: g.id,
            min_profit,
            max_sets,
            min_order_size,
        });
    }
    Ok(out)
}

/// One leg of a found opportunity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundLeg {
    pub asset_id: String,
    pub worst_price: Price,
    /// Micro-pUSD, rounded up.
    pub cost: u64,
}

/// One side's opportunity on a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub side: GroupSide,
    /// Micro-shares.
    pub sets: u64,
    /// Micro-pUSD: Σ legs' costs.
    pub cost: u64,
    /// Micro-pUSD: payout × sets − cost (negative only through rounding with no margin).
    pub edge: i128,
    pub legs: Vec<FoundLeg>,
}

impl Found {
    /// What the print-on-change rule compares.
    fn key(&self) -> (GroupSide, u64, impl Iterator<Item = Price> + '_) {
        (
            self.side,
            self.sets,
            self.legs.iter().map(|l| l.worst_price),
        )
    }

    fn same(&self, other: &Found) -> bool {
        let (a, b) = (self.key(), other.key());
        a.0 == b.0 && a.1 == b.1 && a.2.eq(b.2)
    }
}

/// The group's books, if every YES and NO book exists and is `ok`.
fn ok_books<'a>(
    g: &ContractGroup,
    books: &'a Books,
    registry: &AssetRegistry,
) -> Option<(Vec<&'a OrderBook>, Vec<&'a OrderBook>)> {
    let get = |t: &String| {
        let a = registry.lookup(t.as_bytes())?;
        books.book(a).filter(|b| b.is_tradeable())
    };
    let yes = g.yes.iter().map(get).collect::<Option<Vec<_>>>()?;
    let no = g.no.iter().map(get).collect::<Option<Vec<_>>>()?;
    Some((yes, no))
}

/// One side of a group over its books' whole ask ladders (see the module doc).
fn side(g: &ContractGroup, side: GroupSide, legs: &[&OrderBook]) -> Option<Found> {
    let n = legs.len();
    let payout = side.payout(n);
    let limit = payout.checked_sub(g.min_profit)?;
    let (mut idx, mut rem) = (vec![0u32; n], vec![0u64; n]);
    let total = sets_within(
        n,
        |k, i| legs[k].asks.level(i),
        |_, _| 0,
        limit,
        u64::MAX,
        &mut idx,
        &mut rem,
    );
    let sets = (total - total % 10_000).min(g.max_sets);
    if sets < g.min_order_size {
        return None;
    }
    let mut found = Found {
        side,
        sets,
        cost: 0,
        edge: 0,
        legs: Vec::with_capacity(n),
    };
    for (book, asset_id) in legs.iter().zip(g.side(side)) {
        let f = fill(sets, |i| book.asks.level(i), |_, _| {})?;
        let cost = f.cost_ceil();
        if cost < MICROS_PER_UNIT {
            return None;
        }
        found.cost += cost;
        found.legs.push(FoundLeg {
            asset_id: asset_id.clone(),
            worst_price: f.worst,
            cost,
        });
    }
    found.edge = i128::from(payout) * i128::from(sets) / i128::from(MICROS_PER_UNIT)
        - i128::from(found.cost);
    Some(found)
}

/// The group's opportunity after the books as they are, if it has one.
pub fn evaluate(g: &ContractGroup, books: &Books, registry: &AssetRegistry) -> Option<Found> {
    let (yes, no) = ok_books(g, books, registry)?;
    let y = side(g, GroupSide::Yes, &yes);
    let n = side(g, GroupSide::No, &no);
    match (y, n) {
        (Some(y), Some(n)) => Some(if n.edge > y.edge { n } else { y }),
        (y, n) => y.or(n),
    }
}

fn dec(micros: u64) -> String {
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = write_micros(&mut s, micros);
    s
}

fn signed_dec(v: i128) -> String {
    let m = u64::try_from(v.unsigned_abs()).unwrap_or(u64::MAX);
    if v < 0 {
        format!("-{}", dec(m))
    } else {
        dec(m)
    }
}

#[derive(Serialize)]
struct LineLeg<'a> {
    asset_id: &'a str,
    worst_price: String,
    cost: String,
}

#[derive(Serialize)]
struct Line<'a> {
    frame: u64,
    group: &'a str,
    side: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sets: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    legs: Option<Vec<LineLeg<'a>>>,
}

/// The output line for a group's opportunity (or its disappearance), without a newline.
pub fn line(frame: u64, group: &str, found: Option<&Found>) -> String {
    let l = match found {
        None => Line {
            frame,
            group,
            side: None,
            sets: None,
            cost: None,
            edge: None,
            legs: None,
        },
        Some(f) => Line {
            frame,
            group,
            side: Some(f.side.as_str()),
            sets: Some(dec(f.sets)),
            cost: Some(dec(f.cost)),
            edge: Some(signed_dec(f.edge)),
            legs: Some(
                f.legs
                    .iter()
                    .map(|l| LineLeg {
                        asset_id: &l.asset_id,
                        worst_price: l.worst_price.to_string(),
                        cost: dec(l.cost),
                    })
                    .collect(),
            ),
        },
    };
    // A struct of strings and integers always serializes.
    serde_json::to_string(&l).unwrap_or_default()
}

/// Replays frames and prints the contract's lines (see the module doc).
pub struct OpportunityReplay {
    groups: Vec<ContractGroup>,
    /// Token id → the groups that hold it.
    by_token: FxHashMap<String, Vec<usize>>,
    /// Asset index → the groups that hold it (filled as the registry grows).
    by_asset: Vec<Vec<usize>>,
    last: Vec<Option<Found>>,
    pub replayer: crate::replay::Replayer,
    msgs: Vec<MarketMsg>,
    touched: Vec<bool>,
    frame: u64,
}

impl OpportunityReplay {
    pub fn new(groups: Vec<ContractGroup>) -> Self {
        let mut by_token: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for (i, g) in groups.iter().enumerate() {
            for t in g.yes.iter().chain(&g.no) {
                let v = by_token.entry(t.clone()).or_default();
                if !v.contains(&i) {
                    v.push(i);
                }
            }
        }
        Self {
            last: vec![None; groups.len()],
            touched: vec![false; groups.len()],
            groups,
            by_token,
            by_asset: Vec::new(),
            replayer: crate::replay::Replayer::new(),
            msgs: Vec::with_capacity(1024),
            frame: 0,
        }
    }

    /// Extends the asset → groups table to every asset the registry knows.
    fn map_new_assets(&mut self) {
        let reg = &self.replayer.registry;
        while self.by_asset.len() < reg.len() {
            let next = AssetIndex(self.by_asset.len() as u32);
            let gs = reg
                .info(next)
                .and_then(|i| self.by_token.get(&*i.token_str))
                .cloned()
                .unwrap_or_default();
            self.by_asset.push(gs);
        }
    }

    /// Applies one line of the frames file (the next frame) and writes the lines it causes.
    pub fn frame(&mut self, raw: &[u8], out: &mut impl Write) -> io::Result<()> {
        self.frame += 1;
        let mut end = raw.len();
        while end > 0 && matches!(raw[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let frame = &raw[..end];
        if frame.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.msgs.clear();
        let r = &mut self.replayer;
        r.parser.parse(frame, 0, &mut r.registry, &mut self.msgs);
        self.map_new_assets();
        for m in &self.msgs {
            self.replayer.books.apply(m);
            if let Some(gs) = m.asset().and_then(|a| self.by_asset.get(a.get())) {
                for &g in gs {
                    self.touched[g] = true;
                }
            }
        }
        for g in 0..self.groups.len() {
            if !std::mem::take(&mut self.touched[g]) {
                continue;
            }
            let found = evaluate(
                &self.groups[g],
                &self.replayer.books,
                &self.replayer.registry,
            );
            let print = match (&self.last[g], &found) {
                (None, None) => false,
                (Some(a), Some(b)) => !a.same(b),
                _ => true,
            };
            if print {
                writeln!(
                    out,
                    "{}",
                    line(self.frame, &self.groups[g].id, found.as_ref())
                )?;
            }
            self.last[g] = found;
        }
        Ok(())
    }

    /// Replays every line of `input`.
    pub fn run(&mut self, mut input: impl BufRead, out: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 16);
        loop {
            buf.clear();
            if input.read_until(b'\n', &mut buf)? == 0 {
                return Ok(());
            }
            self.frame(&buf, out)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_file_is_checked() {
        let ok = br#"[{"id":"g1","questions":[{"yes":"1","no":"2"},{"yes":"3","no":"4"}],
            "min_profit":"0.02","max_sets":"100000","min_order_size":"5"}]"#;
        let g = parse_groups(ok).unwrap();
        assert_eq!(g[0].yes, ["1", "3"]);
        assert_eq!(g[0].no, ["2", "4"]);
        assert_eq!(
            (g[0].min_profit, g[0].max_sets, g[0].min_order_size),
            (20_000, 100_000_000_000, 5_000_000)
        );
        let bad =
            br#"[{"id":"g1","questions":[],"min_profit":"x","max_sets":"1","min_order_size":"5"}]"#;
        assert!(matches!(
            parse_groups(bad),
            Err(GroupsError::Decimal {
                field: "min_profit",
                ..
            })
        ));
        assert!(parse_groups(b"{}").is_err());
    }

    #[test]
    fn lines_are_canonical() {
        let f = Found {
            side: GroupSide::Yes,
            sets: 123_450_000,
            cost: 119_746_500,
            edge: 3_703_500,
            legs: vec![FoundLeg {
                asset_id: "11".into(),
                worst_price: Price(310_000),
                cost: 38_269_500,
            }],
        };
        assert_eq!(
            line(17, "g1", Some(&f)),
            r#"{"frame":17,"group":"g1","side":"yes","sets":"123.45","cost":"119.7465","edge":"3.7035","legs":[{"asset_id":"11","worst_price":"0.31","cost":"38.2695"}]}"#
        );
        assert_eq!(
            line(19, "g1", None),
            r#"{"frame":19,"group":"g1","side":null}"#
        );
        assert_eq!(signed_dec(-3), "-0.000003");
    }
}
