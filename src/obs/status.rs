//! The `/status` document of a running engine: what the endpoint serves as JSON and what
//! `polyarb status` reads back. Prices are decimal strings, amounts integer micro-units.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StatusReport {
    pub version: String,
    pub uptime_s: f64,
    /// The hot threads, `|`-separated (`io | parse+book+strategy+dispatch`).
    pub topology: String,
    /// `dry_run` or `live`.
    pub dispatch: String,
    pub feed: FeedStatus,
    /// Each market WebSocket connection.
    pub connections: Vec<ConnectionStatus>,
    pub books: BooksStatus,
    pub strategies: Vec<StrategyStatus>,
    pub latency: Vec<LatencyStatus>,
    pub rings: Vec<RingStatus>,
    pub storage: Option<StorageStatus>,
    pub breakers: Vec<BreakerStatus>,
    pub positions: Option<PositionsReport>,
}

/// The market WebSocket connections, together.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FeedStatus {
    pub ws_url: String,
    /// `ok` when every connection is open and nothing is left unsubscribed, else `degraded`.
    pub health: String,
    pub open_connections: u64,
    pub subscribed_assets: u64,
    pub connects: u64,
    pub reconnects: u64,
    pub connect_failures: u64,
    /// Connections closed for not answering PING, or for silence.
    pub dead_connections: u64,
    pub silent_connections: u64,
    pub frames: u64,
    pub frames_dropped: u64,
    pub invalid_frames: u64,
}

/// One market WebSocket connection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub id: u32,
    /// `connecting`, `open` or `down` (waiting to reconnect).
    pub state: String,
    pub assets: u64,
    /// Since anything was last received on it (none before the first byte).
    pub last_rx_ms: Option<u64>,
    /// Since it opened, while open.
    pub open_s: Option<f64>,
    /// Times it was torn down.
    pub drops: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BooksStatus {
    pub ok: u64,
    pub empty: u64,
    pub resync_needed: u64,
    pub retired: u64,
    pub assets: Vec<BookStatus>,
}

/// One asset's book.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BookStatus {
    pub asset: u32,
    pub token: String,
    pub market: String,
    /// `empty`, `ok`, `resync_needed` or `retired`.
    pub state: String,
    pub reason: Option<String>,
    pub bid: Option<String>,
    pub ask: Option<String>,
    /// Since its last event (none before the first).
    pub age_ms: Option<u64>,
    pub events: u64,
    pub snapshots: u64,
    pub invalidations: u64,
    pub resyncs: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StrategyStatus {
    pub name: String,
    pub tops: u64,
    pub opportunities: u64,
    /// Opportunities not emitted: trading halted (storage), the group held (catalog), or the
    /// ring to dispatch full.
    pub halted: u64,
    pub held: u64,
    pub dropped: u64,
    pub plans: u64,
    pub intents: u64,
}

/// A live latency histogram, published by its stage about once a second.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LatencyStatus {
    pub name: String,
    pub count: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RingStatus {
    pub name: String,
    pub capacity: u64,
    pub depth: u64,
    pub pushed: u64,
    /// Pushes refused because the ring was full.
    pub full: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StorageStatus {
    pub queue_depth: u64,
    pub queue_depth_max: u64,
    pub rows_written: u64,
    pub dropped: u64,
    pub trading_ok: bool,
    pub market_data_ok: bool,
}

/// One risk breaker. A tripped breaker stops new plans until an operator resets it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerStatus {
    pub name: String,
    /// `ok` or `tripped`.
    pub state: String,
    pub tripped: bool,
    /// Times it tripped since start.
    pub trips: u64,
    /// Why it last tripped (empty before its first trip).
    pub reason: String,
    /// Its measure now (since the last reset), in `unit`.
    pub value: i64,
    /// Where it trips (`None`: not configured, it never trips on its measure).
    pub threshold: Option<i64>,
    /// `micro_pusd`, `percent`, `orders`, `ms`, `errors`, `connections` (empty: the kill
    /// switch, which has no measure).
    pub unit: String,
    /// Unix ms of the last change (0 = never changed).
    pub changed_ms: u64,
}

/// The account's positions and PnL, as their owner last published them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PositionsReport {
    /// Unix ms of the report.
    pub at_ms: u64,
    pub positions: Vec<PositionRow>,
    pub realized_pnl_micros: i64,
    pub unrealized_pnl_micros: i64,
    /// Free collateral (pUSD micro-units), where known.
    pub collateral_micros: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PositionRow {
    pub token: String,
    pub market: Option<String>,
    /// Shares held, micro-shares (negative = short).
    pub shares_micros: i64,
    /// Average entry price, micro-units.
    pub avg_price_micros: u64,
    pub realized_pnl_micros: i64,
}

/// A breaker's measure or threshold in its unit, for people (pUSD as a decimal).
pub fn breaker_amount(v: i64, unit: &str) -> String {
    match unit {
        "micro_pusd" => {
            let s = crate::core::decimal::format_micros(v.unsigned_abs());
            format!("{}{s} pUSD", if v < 0 { "-" } else { "" })
        }
        "percent" => format!("{v}%"),
        "ms" => format!("{v} ms"),
        "" => "-".to_string(),
        u => format!("{v} {u}"),
    }
}

/// The breakers as a table: name, state, trips, value / threshold, last reason.
pub fn breaker_table(rows: &[BreakerStatus]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<16} {:<8} {:>5} {:>16} {:>16}  last reason",
        "breaker", "state", "trips", "value", "threshold"
    );
    for b in rows {
        let _ = writeln!(
            o,
            "{:<16} {:<8} {:>5} {:>16} {:>16}  {}",
            b.name,
            if b.tripped { "TRIPPED" } else { "ok" },
            b.trips,
            if b.unit.is_empty() {
                "-".to_string()
            } else {
                breaker_amount(b.value, &b.unit)
            },
            b.threshold
                .map_or("-".to_string(), |t| breaker_amount(t, &b.unit)),
            if b.reason.is_empty() { "-" } else { &b.reason }
        );
    }
    o
}

/// The breakers on one line: `daily_loss ok · reject_rate TRIPPED ×1 (why) · …`.
pub fn breaker_line(rows: &[BreakerStatus]) -> String {
    rows.iter()
        .map(|b| {
            let trips = if b.trips > 0 {
                format!(" ×{}", b.trips)
            } else {
                String::new()
            };
            if b.tripped {
                format!("{} TRIPPED{trips} ({})", b.name, b.reason)
            } else {
                format!("{} ok{trips}", b.name)
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
