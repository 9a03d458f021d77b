//! `catalog ack MARKET`: clears a market's pending rule changes in the database, which ends the
//! halt of the market and its neg-risk group for every process reading it.

use anyhow::bail;

use polyarb::catalog::{Catalog, CatalogStore};
use polyarb::core::ConditionId;

use super::view::ns_time;
use super::{SourceArgs, database};

/// `catalog ack MARKET`: clears the market's pending rule changes in the database.
pub(super) fn ack(key: &str, a: &SourceArgs) -> anyhow::Result<()> {
    let Some(mut db) = database(a)? else {
        bail!("catalog ack needs the database: --db PATH or a [storage] section in --config");
    };
    let stored: Catalog = Catalog {
        markets: db
            .markets()?
            .into_iter()
            .map(|m| (m.condition_id, m))
            .collect(),
        ..Catalog::default()
    };
    let (id, m) = match stored.find(key) {
        Some(m) => (m.condition_id, Some(m)),
        None => match ConditionId::parse(key.trim()) {
            Ok(id) => (id, None),
            Err(_) => bail!(
                "no market {key:?} in {} ({} markets stored)",
                db.path().display(),
                stored.markets.len()
            ),
        },
    };
    let pending: Vec<_> = db
        .rule_hash_history(&id)?
        .into_iter()
        .filter(|c| c.is_pending())
        .collect();
    let n = db.ack(&id, polyarb::storage::time::unix_now_ns())?;
    let q = m.map(|m| m.question.as_str()).unwrap_or("");
    if n == 0 {
        println!("{id} {q:?}: no pending rule change; nothing to acknowledge");
        return Ok(());
    }
    for c in &pending {
        println!(
            "acknowledged rule change of {} ({}): {} -> {}",
            ns_time(c.detected_ns),
            c.detail,
            c.old_hash.map_or_else(|| "-".into(), |h| h.short()),
            c.new_hash.short()
        );
    }
    let group = m
        .and_then(|m| m.neg_risk_market_id())
        .map(|nr| stored.neg_risk_members(nr).len())
        .unwrap_or(0);
    println!(
        "{id} {q:?}: {n} change(s) acknowledged in {}; trading resumes{} (a running engine: at its next catalog refresh)",
        db.path().display(),
        if group > 1 {
            format!(" in it and its neg-risk group ({group} questions) unless another is halted")
        } else {
            String::new()
        }
    );
    Ok(())
}
