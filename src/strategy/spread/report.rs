//! What the quoting did per market, and what it earned: quotes placed, replaced, canceled,
//! pulls, fills, inventory, realized and mark-to-market PnL, the spread captured per share,
//! fees and rebates, and the time the quotes were eligible for liquidity rewards.
//!
//! Money is signed integer micro-pUSD. Realized PnL and fees are the order manager's positions
//! (average cost, see `exec::positions`); the mark values what is held at the last midpoint (a
//! NO at 1 − mid), so a complete set marks at exactly 1. The spread captured by a fill is its
//! distance from the midpoint the quote was made against, on the good side: a BUY YES at p
//! under mid m captures m − p per share, a BUY NO at q captures (1 − q) − m (the same on the
//! YES scale), a SELL the reverse.

use std::fmt::Write as _;

use serde::Serialize;

use crate::core::{Price, Size};

/// One market's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MarketReport {
    pub label: String,
    pub placed: u64,
    pub replaced: u64,
    pub canceled: u64,
    /// Times every quote of the market was pulled (book not ok, halt, breaker, resolution
    /// near, heartbeat lost, deselected).
    pub pulls: u64,
    /// Replaces not made: the per-market rate limit.
    pub throttled: u64,
    /// Quotes the venue refused (a post-only that would cross among them).
    pub rejected: u64,
    pub fills: u64,
    /// Micro-shares filled.
    pub filled: u64,
    pub yes: Size,
    pub no: Size,
    pub realized: i128,
    /// Realized plus what is held marked at the last midpoint, minus its cost.
    pub mtm: i128,
    /// Σ captured × shares, in micro-pUSD.
    pub captured: i128,
    pub fees: i128,
    /// Maker rebates credited (none are reported by the venue's user channel: 0 unless known).
    pub rebates: i128,
    /// Milliseconds during which a resting quote was rewards-eligible.
    pub rewards_ms: u64,
    /// Micro-sets (a YES and a NO) offered to the merge hook.
    pub sets_offered: u64,
    /// The current quotes, for the live view (price on the token's own scale).
    pub bid: Option<(&'static str, &'static str, Price, Size)>,
    pub ask: Option<(&'static str, &'static str, Price, Size)>,
    /// The last midpoint (YES scale).
    pub mid: Price,
}

impl MarketReport {
    /// Spread captured per share filled, micro-pUSD.
    pub fn captured_per_share(&self) -> i128 {
        if self.filled == 0 {
            0
        } else {
            self.captured * 1_000_000 / i128::from(self.filled)
        }
    }
}

/// A signed micro-pUSD amount as a decimal (`-0.012345`).
pub fn money(v: i128) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:06}", a / 1_000_000, a % 1_000_000)
}

fn quote_text(q: &Option<(&'static str, &'static str, Price, Size)>) -> String {
    match q {
        Some((side, outcome, p, s)) => format!("{side} {s} {outcome} @ {p}"),
        None => "—".to_string(),
    }
}

/// The end-of-run table: one line per market and a total.
pub fn summary(reports: &[MarketReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>6} {:>6} {:>5} {:>5} {:>10} {:>10} {:>11} {:>11} {:>9} {:>9} {:>8}",
        "market",
        "placed",
        "repl",
        "cancel",
        "pulls",
        "fills",
        "YES held",
        "NO held",
        "realized",
        "mtm",
        "spread/sh",
        "fees",
        "reward s"
    );
    let mut total = MarketReport {
        label: "total".into(),
        ..MarketReport::default()
    };
    for r in reports {
        line(&mut out, r);
        total.placed += r.placed;
        total.replaced += r.replaced;
        total.canceled += r.canceled;
        total.pulls += r.pulls;
        total.fills += r.fills;
        total.filled += r.filled;
        total.yes = Size(total.yes.0 + r.yes.0);
        total.no = Size(total.no.0 + r.no.0);
        total.realized += r.realized;
        total.mtm += r.mtm;
        total.captured += r.captured;
        total.fees += r.fees;
        total.rewards_ms += r.rewards_ms;
    }
    if reports.len() > 1 {
        line(&mut out, &total);
    }
    out
}

fn line(out: &mut String, r: &MarketReport) {
    let label: String = r.label.chars().take(28).collect();
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>6} {:>6} {:>5} {:>5} {:>10} {:>10} {:>11} {:>11} {:>9} {:>9} {:>8}",
        label,
        r.placed,
        r.replaced,
        r.canceled,
        r.pulls,
        r.fills,
        r.yes.to_string(),
        r.no.to_string(),
        money(r.realized),
        money(r.mtm),
        money(r.captured_per_share()),
        money(r.fees - r.rebates),
        r.rewards_ms / 1000
    );
}

/// The live view's lines: each market's quotes and inventory.
pub fn live_lines(reports: &[MarketReport]) -> Vec<String> {
    reports
        .iter()
        .map(|r| {
            let label: String = r.label.chars().take(28).collect();
            format!(
                "{label:<28} mid {} · bid {} · ask {} · YES {} NO {} · fills {} · mtm {}",
                r.mid,
                quote_text(&r.bid),
                quote_text(&r.ask),
                r.yes,
                r.no,
                r.fills,
                money(r.mtm)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_signed_micro_pusd() {
        assert_eq!(money(-12_345), "-0.012345");
        assert_eq!(money(1_500_000), "1.500000");
        assert_eq!(money(0), "0.000000");
    }

    #[test]
    fn captured_per_share_divides_by_whole_shares() {
        let r = MarketReport {
            captured: 100_000,
            filled: 10_000_000,
            ..MarketReport::default()
        };
        // 0.1 pUSD over 10 shares: 0.01 a share.
        assert_eq!(r.captured_per_share(), 10_000);
    }
}
