//! The SQLite write path for the catalog and our trading rows: market and outcome upserts,
//! orders (inserted once, then updated), the order journal, fills (a new status updates, the
//! same status again is a duplicate), positions, rule changes and their acks. Each function
//! checks lengths and ranges first, so bad input is a counted row rejection, never a panic.

use rusqlite::{Connection, params};

use super::batch::side_code;
use super::error::{Failure, MAX_ID_LEN, MAX_LABEL_LEN, MAX_TEXT_LEN, RowError, check_len, to_i64};
use super::event::{
    FillRecord, JournalEntry, MarketRecord, OrderRecord, OrderUpdate, PositionRecord, RuleAck,
    RuleChangeRecord,
};

pub(super) fn upsert_market(tx: &Connection, m: &MarketRecord) -> Result<(), Failure> {
    check_len("condition_id", &m.condition_id, MAX_ID_LEN)?;
    if m.condition_id.is_empty() {
        return Err(RowError::Invalid("empty condition_id".into()).into());
    }
    for (field, v, max) in [
        ("question", &m.question, MAX_TEXT_LEN),
        ("slug", &m.slug, MAX_LABEL_LEN),
        ("neg_risk_market_id", &m.neg_risk_market_id, MAX_ID_LEN),
        ("rule_hash", &m.rule_hash, MAX_ID_LEN),
    ] {
        if let Some(v) = v {
            check_len(field, v, max)?;
        }
    }
    for o in &m.outcomes {
        if let Some(name) = &o.outcome {
            check_len("outcome", name, MAX_LABEL_LEN)?;
        }
    }
    let updated = to_i64("updated_ns", m.updated_ns)?;
    let end = m
        .end_date_ms
        .map(|v| to_i64("end_date_ms", v))
        .transpose()?;
    let min_size = m
        .min_order_size
        .map(|s| to_i64("min_order_size", s.0))
        .transpose()?;
    let market_id: i64 = tx
        .prepare_cached(
            "INSERT INTO markets (condition_id, question, slug, neg_risk, neg_risk_market_id, tick_size,
                 min_order_size, active, closed, accepting_orders, end_date_ms, rule_hash, first_seen_ns, updated_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
             ON CONFLICT(condition_id) DO UPDATE SET
                 question = excluded.question, slug = excluded.slug, neg_risk = excluded.neg_risk,
                 neg_risk_market_id = excluded.neg_risk_market_id, tick_size = excluded.tick_size,
                 min_order_size = excluded.min_order_size, active = excluded.active,
                 closed = excluded.closed, accepting_orders = excluded.accepting_orders,
                 end_date_ms = excluded.end_date_ms,
                 rule_hash = COALESCE(excluded.rule_hash, markets.rule_hash),
                 updated_ns = excluded.updated_ns
             RETURNING market_id",
        )?
        .query_row(
            params![
                m.condition_id,
                m.question,
                m.slug,
                m.neg_risk,
                m.neg_risk_market_id,
                m.tick_size.map(|t| i64::from(t.micros())),
                min_size,
                m.active,
                m.closed,
                m.accepting_orders,
                end,
                m.rule_hash,
                updated
            ],
            |r| r.get(0),
        )?;
    for (i, o) in m.outcomes.iter().enumerate() {
        let n = tx
            .prepare_cached(
                "INSERT INTO outcomes (token_id, market_id, outcome, outcome_index, first_seen_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(token_id) DO UPDATE SET
                     outcome = COALESCE(excluded.outcome, outcomes.outcome),
                     outcome_index = excluded.outcome_index
                 WHERE outcomes.market_id = excluded.market_id",
            )?
            .execute(params![
                o.token.to_string(),
                market_id,
                o.outcome,
                i as i64,
                updated
            ])?;
        if n == 0 {
            return Err(RowError::Invalid(format!(
                "token {} is stored under another market",
                o.token
            ))
            .into());
        }
    }
    Ok(())
}

fn check_order_ids(hash: &str, plan: &str, client: &str) -> Result<(), RowError> {
    check_len("order_hash", hash, MAX_ID_LEN)?;
    check_len("plan_id", plan, MAX_ID_LEN)?;
    check_len("client_oid", client, MAX_ID_LEN)?;
    if hash.is_empty() {
        return Err(RowError::Invalid("empty order_hash".into()));
    }
    Ok(())
}

pub(super) fn insert_order(tx: &Connection, o: &OrderRecord) -> Result<(), Failure> {
    check_order_ids(&o.order_hash, &o.plan_id, &o.client_oid)?;
    check_len("order_type", &o.order_type, MAX_LABEL_LEN)?;
    check_len("status", &o.status, MAX_LABEL_LEN)?;
    let created = to_i64("created_ns", o.created_ns)?;
    tx.prepare_cached(
        "INSERT INTO orders (order_hash, plan_id, client_oid, token_id, side, price, size, order_type,
             status, size_matched, created_ns, updated_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?10)",
    )?
    .execute(params![
        o.order_hash,
        o.plan_id,
        o.client_oid,
        o.token.to_string(),
        side_code(o.side),
        i64::from(o.price.0),
        to_i64("size", o.size.0)?,
        o.order_type,
        o.status,
        created
    ])?;
    Ok(())
}

pub(super) fn update_order(tx: &Connection, u: &OrderUpdate) -> Result<(), Failure> {
    check_len("order_hash", &u.order_hash, MAX_ID_LEN)?;
    check_len("status", &u.status, MAX_LABEL_LEN)?;
    let n = tx
        .prepare_cached(
            "UPDATE orders SET status = ?2, size_matched = ?3, updated_ns = ?4 WHERE order_hash = ?1",
        )?
        .execute(params![
            u.order_hash,
            u.status,
            to_i64("size_matched", u.size_matched.0)?,
            to_i64("updated_ns", u.updated_ns)?
        ])?;
    if n == 0 {
        return Err(RowError::Invalid(format!("update of unknown order {}", u.order_hash)).into());
    }
    Ok(())
}

pub(super) fn insert_journal(tx: &Connection, j: &JournalEntry) -> Result<(), Failure> {
    check_order_ids(&j.order_hash, &j.plan_id, &j.client_oid)?;
    check_len("action", &j.action, MAX_LABEL_LEN)?;
    if let Some(d) = &j.detail {
        check_len("detail", d, MAX_TEXT_LEN)?;
    }
    tx.prepare_cached(
        "INSERT INTO order_journal (order_hash, plan_id, client_oid, action, detail, recv_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        j.order_hash,
        j.plan_id,
        j.client_oid,
        j.action,
        j.detail,
        to_i64("recv_ns", j.recv_ns)?
    ])?;
    Ok(())
}

pub(super) fn upsert_fill(tx: &Connection, f: &FillRecord) -> Result<(), Failure> {
    check_len("trade_id", &f.trade_id, MAX_ID_LEN)?;
    check_len("order_hash", &f.order_hash, MAX_ID_LEN)?;
    check_len("status", &f.status, MAX_LABEL_LEN)?;
    if let Some(s) = &f.trader_side {
        check_len("trader_side", s, MAX_LABEL_LEN)?;
    }
    if f.trade_id.is_empty() || f.order_hash.is_empty() {
        return Err(RowError::Invalid("fill without trade id or order hash".into()).into());
    }
    let n = tx
        .prepare_cached(
            "INSERT INTO fills (trade_id, order_hash, token_id, side, price, size, fee, trader_side,
                 status, match_time_ms, recv_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(trade_id, order_hash) DO UPDATE SET status = excluded.status, recv_ns = excluded.recv_ns
             WHERE fills.status <> excluded.status",
        )?
        .execute(params![
            f.trade_id,
            f.order_hash,
            f.token.to_string(),
            side_code(f.side),
            i64::from(f.price.0),
            to_i64("size", f.size.0)?,
            to_i64("fee", f.fee.0)?,
            f.trader_side,
            f.status,
            f.match_time_ms.map(|v| to_i64("match_time_ms", v)).transpose()?,
            to_i64("recv_ns", f.recv_ns)?
        ])?;
    if n == 0 {
        return Err(RowError::Duplicate(format!(
            "fill {} of order {} with status {} already stored",
            f.trade_id, f.order_hash, f.status
        ))
        .into());
    }
    Ok(())
}

pub(super) fn upsert_position(tx: &Connection, p: &PositionRecord) -> Result<(), Failure> {
    tx.prepare_cached(
        "INSERT INTO positions (token_id, size, cost, realized_pnl, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(token_id) DO UPDATE SET size = excluded.size, cost = excluded.cost,
             realized_pnl = excluded.realized_pnl, updated_ns = excluded.updated_ns",
    )?
    .execute(params![
        p.token.to_string(),
        to_i64("size", p.size.0)?,
        to_i64("cost", p.cost.0)?,
        p.realized_pnl,
        to_i64("updated_ns", p.updated_ns)?
    ])?;
    Ok(())
}

pub(super) fn insert_rule_change(tx: &Connection, r: &RuleChangeRecord) -> Result<(), Failure> {
    check_len("condition_id", &r.condition_id, MAX_ID_LEN)?;
    check_len("new_hash", &r.new_hash, MAX_ID_LEN)?;
    if let Some(h) = &r.old_hash {
        check_len("old_hash", h, MAX_ID_LEN)?;
    }
    if let Some(d) = &r.detail {
        check_len("detail", d, MAX_TEXT_LEN)?;
    }
    let detected = to_i64("detected_ns", r.detected_ns)?;
    tx.prepare_cached(
        "INSERT INTO rule_changes (condition_id, old_hash, new_hash, detected_ns, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        r.condition_id,
        r.old_hash,
        r.new_hash,
        detected,
        r.detail
    ])?;
    tx.prepare_cached(
        "UPDATE markets SET rule_hash = ?2, updated_ns = ?3 WHERE condition_id = ?1",
    )?
    .execute(params![r.condition_id, r.new_hash, detected])?;
    Ok(())
}

pub(super) fn ack_rule_change(tx: &Connection, a: &RuleAck) -> Result<(), Failure> {
    check_len("condition_id", &a.condition_id, MAX_ID_LEN)?;
    let n = tx
        .prepare_cached(
            "UPDATE rule_changes SET acked_ns = ?2 WHERE condition_id = ?1 AND acked_ns IS NULL",
        )?
        .execute(params![a.condition_id, to_i64("acked_ns", a.acked_ns)?])?;
    if n == 0 {
        return Err(RowError::Invalid(format!(
            "no pending rule change for market {}",
            a.condition_id
        ))
        .into());
    }
    Ok(())
}
