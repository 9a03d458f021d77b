//! The replay contract of issue 2, rule by rule, through the real parser and books.

use polyarb::replay::{ReplayCounters, Replayer};
use serde_json::{Value, json};

const A: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const B: &str = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const M: &str = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";

fn replay(frames: &[String]) -> Value {
    let mut r = Replayer::new();
    for f in frames {
        r.frame(f.as_bytes(), 0);
    }
    serde_json::to_value(r.dump()).unwrap()
}

fn counters(v: &Value) -> ReplayCounters {
    let c = &v["counters"];
    let g = |k: &str| {
        c[k].as_u64()
            .unwrap_or_else(|| panic!("counter {k} missing"))
    };
    ReplayCounters {
        frames: g("frames"),
        events: g("events"),
        books: g("books"),
        deltas: g("deltas"),
        orphan: g("orphan"),
        invalid: g("invalid"),
        ignored: g("ignored"),
        other: g("other"),
        mismatch: g("mismatch"),
        crossed: g("crossed"),
        tick_size_changes: g("tick_size_changes"),
    }
}

fn book(asset: &str, bids: &[(&str, &str)], asks: &[(&str, &str)]) -> Value {
    let lv = |v: &[(&str, &str)]| -> Vec<Value> {
        v.iter()
            .map(|(p, s)| json!({"price": p, "size": s}))
            .collect()
    };
    json!({"event_type":"book","asset_id":asset,"market":M,"bids":lv(bids),"asks":lv(asks),
           "timestamp":"1703875200000","hash":"0"})
}

/// One `price_changes[]` entry: asset, price, side, size, and the claimed (best_bid, best_ask).
type Entry<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<(&'a str, &'a str)>,
);

fn pc(entries: &[Entry<'_>]) -> Value {
    let e: Vec<Value> = entries
        .iter()
        .map(|(a, p, side, s, best)| {
            let mut o = json!({"asset_id":a,"price":p,"side":side,"size":s,"hash":"x"});
            if let Some((bb, ba)) = best {
                o["best_bid"] = json!(bb);
                o["best_ask"] = json!(ba);
            }
            o
        })
        .collect();
    json!({"event_type":"price_change","market":M,"timestamp":"1","price_changes":e})
}

fn s(v: Value) -> String {
    v.to_string()
}

#[test]
fn book_replaces_sorts_drops_zero_and_last_repeat_wins() {
    let out = replay(&[
        s(book(A, &[("0.1", "5")], &[("0.9", "5")])),
        // Venue order (best last), a repeated price, and a zero level.
        s(book(
            A,
            &[
                ("0.48", "100"),
                ("0.50", "1"),
                ("0.49", "350.0"),
                ("0.50", "200.50"),
                ("0.47", "0"),
            ],
            &[("0.53", "90"), ("0.52", "180"), ("0.51", "120.000")],
        )),
    ]);
    let b = &out["books"][0];
    assert_eq!(b["asset_id"], A);
    assert_eq!(b["market"], M);
    assert_eq!(b["state"], "ok");
    assert_eq!(b["reason"], Value::Null);
    assert_eq!(b["tick_size"], Value::Null);
    assert_eq!(
        b["bids"],
        json!([["0.5", "200.5"], ["0.49", "350"], ["0.48", "100"]])
    );
    assert_eq!(
        b["asks"],
        json!([["0.51", "120"], ["0.52", "180"], ["0.53", "90"]])
    );
    let c = counters(&out);
    assert_eq!((c.frames, c.events, c.books, c.deltas), (2, 2, 2, 0));
}

#[test]
fn tick_size_from_book_and_tick_change_needs_resync() {
    let mut b = book(A, &[("0.5", "1")], &[("0.6", "1")]);
    b["tick_size"] = json!("0.01");
    let tsc = json!({"event_type":"tick_size_change","asset_id":A,"market":M,
                     "old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"2"});
    let out = replay(&[s(b.clone()), s(tsc)]);
    let x = &out["books"][0];
    assert_eq!(x["tick_size"], "0.001");
    assert_eq!(x["state"], "resync_needed");
    assert_eq!(x["reason"], "tick_size_change");
    assert_eq!(counters(&out).tick_size_changes, 1);
    // A book without tick_size keeps the last tick; a new book heals.
    let out = replay(&[s(b), s(book(A, &[("0.5", "1")], &[]))]);
    assert_eq!(out["books"][0]["tick_size"], "0.01");
    assert_eq!(out["books"][0]["state"], "ok");
}

#[test]
fn price_change_formats_all_apply_absolute_sizes() {
    let current = pc(&[
        (A, "0.50", "BUY", "20", Some(("0.5", "0.6"))),
        (A, "0.6", "SELL", "0", Some(("0.5", "0.61"))),
    ]);
    let legacy = json!({"event_type":"price_change","asset_id":A,"market":M,"timestamp":"1","hash":"h",
                        "changes":[{"price":"0.45","side":"BUY","size":"7"}]});
    let flat = json!({"event_type":"price_change","asset_id":A,"market":M,"timestamp":"1","hash":"h",
                      "price":"0.62","side":"SELL","size":"3.5"});
    let out = replay(&[
        s(book(A, &[("0.5", "10")], &[("0.6", "10"), ("0.61", "4")])),
        s(current),
        s(legacy),
        s(flat),
    ]);
    let b = &out["books"][0];
    assert_eq!(b["state"], "ok", "{out}");
    assert_eq!(b["bids"], json!([["0.5", "20"], ["0.45", "7"]]));
    assert_eq!(b["asks"], json!([["0.61", "4"], ["0.62", "3.5"]]));
    let c = counters(&out);
    assert_eq!((c.deltas, c.mismatch, c.crossed), (4, 0, 0));
}

#[test]
fn best_check_uses_the_last_entry_per_asset_and_empty_side_claims() {
    let base = [
        s(book(A, &[("0.5", "10")], &[("0.6", "10")])),
        s(book(B, &[("0.3", "1")], &[("0.7", "1")])),
    ];
    // First entry claims a wrong best, the last one the right best: no mismatch.
    let ok = pc(&[
        (A, "0.51", "BUY", "1", Some(("0.9", "0.9"))),
        (A, "0.52", "BUY", "1", Some(("0.52", "0.6"))),
        (B, "0.7", "SELL", "0", Some(("0.3", ""))),
    ]);
    let out = replay(&[base[0].clone(), base[1].clone(), s(ok)]);
    assert_eq!(counters(&out).mismatch, 0, "{out}");
    // "0" claims an empty side that is not empty: mismatch, reason kept first.
    let bad = pc(&[(A, "0.49", "BUY", "1", Some(("0", "0.6")))]);
    let cross = pc(&[(A, "0.65", "BUY", "1", None)]);
    let out = replay(&[base[0].clone(), s(bad), s(cross)]);
    let c = counters(&out);
    assert_eq!((c.mismatch, c.crossed), (1, 1));
    assert_eq!(out["books"][0]["reason"], "best_mismatch");
    // Deltas keep applying to a resync_needed book.
    assert_eq!(out["books"][0]["bids"][0], json!(["0.65", "1"]));
}

#[test]
fn crossed_book_after_event() {
    let out = replay(&[
        s(book(A, &[("0.5", "10")], &[("0.6", "10")])),
        s(pc(&[(A, "0.6", "BUY", "5", None)])),
    ]);
    assert_eq!(out["books"][0]["reason"], "crossed");
    assert_eq!(counters(&out).crossed, 1);
}

#[test]
fn orphans_invalid_ignored_other() {
    let frames = vec![
        // Orphan: no book ever for A.
        s(pc(&[(A, "0.5", "BUY", "1", None)])),
        s(book(B, &[("0.3", "1")], &[("0.7", "1")])),
        // Invalid events: each changes nothing.
        s(pc(&[(B, "0.31", "BUY", "1", None), (B, "1", "BUY", "1", None)])),
        s(pc(&[(B, "0.31", "BUY", "1", None), (B, "0.5", "HOLD", "1", None)])),
        s(pc(&[(B, "0.31", "BUY", "-1", None)])),
        s(pc(&[(B, "0.31", "BUY", "1e3", None)])),
        s(pc(&[(B, "0.3100001", "BUY", "1", None)])),
        s(pc(&[(B, "0", "BUY", "1", None)])),
        json!({"event_type":"price_change","market":M,"price_changes":[{"asset_id":B,"price":0.31,"side":"BUY","size":"1"}]}).to_string(),
        json!({"event_type":"price_change","market":M,"price_changes":[{"price":"0.31","side":"BUY","size":"1"}]}).to_string(),
        json!({"event_type":"book","asset_id":B,"market":M,"bids":[{"price":"0.2"}],"asks":[]}).to_string(),
        json!({"asset_id":B}).to_string(),
        "{\"event_type\":\"book\",".to_string(),
        "[1, {\"event_type\":\"best_bid_ask\"}]".to_string(),
        // Ignored.
        "PONG".to_string(),
        "NO NEW ASSETS".to_string(),
        json!({"event_type":"future_thing"}).to_string(),
        // Other.
        json!({"event_type":"last_trade_price","asset_id":B,"market":M,"price":"0.3","side":"BUY","size":"1"}).to_string(),
        json!({"event_type":"new_market"}).to_string(),
        json!({"event_type":"market_resolved"}).to_string(),
    ];
    let out = replay(&frames);
    let c = counters(&out);
    assert_eq!(c.frames, frames.len() as u64);
    assert_eq!(c.orphan, 1);
    assert_eq!(c.books, 1);
    assert_eq!(c.deltas, 0, "no part of an invalid event may apply: {out}");
    assert_eq!(c.invalid, 12, "{c:?}");
    assert_eq!(c.ignored, 3);
    assert_eq!(c.other, 4);
    // Not events: the truncated frame, the two text frames (the array holds one object).
    assert_eq!(c.events, frames.len() as u64 - 3, "{c:?}");
    assert_eq!(out["books"][0]["bids"], json!([["0.3", "1"]]));
    assert_eq!(out["books"].as_array().unwrap().len(), 1);
}

#[test]
fn arrays_of_events_are_taken_one_by_one() {
    let arr = json!([
        book(A, &[("0.5", "1")], &[("0.6", "1")]),
        book(B, &[("0.4", "1")], &[("0.7", "1")]),
        {"event_type":"price_change","price_changes":"nope","market":M},
    ]);
    let out = replay(&[arr.to_string()]);
    let c = counters(&out);
    assert_eq!((c.frames, c.events, c.books, c.invalid), (1, 3, 2, 1));
    // Sorted by asset id numerically: B (4833…) before A (7132…).
    assert_eq!(out["books"][0]["asset_id"], B);
    assert_eq!(out["books"][1]["asset_id"], A);
}

#[test]
fn the_project_sample_replays_to_exact_books() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/market_channel/sample.frames"
    );
    let frames: Vec<String> = std::fs::read_to_string(path)
        .expect("fixtures/market_channel/sample.frames")
        .lines()
        .map(str::to_string)
        .collect();
    let v = replay(&frames);
    let c = counters(&v);
    assert_eq!(
        (
            c.frames, c.books, c.deltas, c.invalid, c.mismatch, c.ignored
        ),
        (8, 2, 6, 0, 0, 1)
    );
    let yes = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    let b = v["books"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["asset_id"] == yes)
        .unwrap();
    assert_eq!(
        s(b["bids"].clone()),
        r#"[["0.49","10"],["0.48","30"],["0.47","55.5"],["0.46","200"],["0.45","120"]]"#
    );
    assert_eq!(s(b["asks"].clone()), r#"[["0.53","40"],["0.55","80"]]"#);
}

/// `polyarb replay --opportunities` over the fixture: every line below is computed by hand
/// from the frames (see the comments) and must come out byte for byte.
#[test]
fn opportunities_contract_on_the_fixture() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_polyarb"))
        .args([
            "replay",
            "--frames",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/opportunities/three_questions.frames"
            ),
            "--groups",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/opportunities/groups.json"
            ),
            "--opportunities",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yes5 = r#""side":"yes","sets":"5","cost":"4.85","edge":"0.15","legs":[{"asset_id":"1001","worst_price":"0.3","cost":"1.5"},{"asset_id":"1003","worst_price":"0.33","cost":"1.65"},{"asset_id":"1005","worst_price":"0.34","cost":"1.7"}]}"#;
    let want = [
        // Frame 6, every book in: YES 0.97 for 10 sets, 0.98 (= 1 − 0.02, still taken) for
        // 20 more, then the 0.30/0.31 ladder ends. NO asks sum 2.11 > 1.98.
        r#"{"frame":6,"group":"g1","side":"yes","sets":"30","cost":"29.3","edge":"0.7","legs":[{"asset_id":"1001","worst_price":"0.31","cost":"9.2"},{"asset_id":"1003","worst_price":"0.33","cost":"9.9"},{"asset_id":"1005","worst_price":"0.34","cost":"10.2"}]}"#.to_string(),
        // Frame 7: 0.33 holds 5, then 0.35 makes the set 0.99: stop at the threshold.
        format!(r#"{{"frame":7,"group":"g1",{yes5}"#),
        // Frame 8 is blank, 9 adds a bid and 10 a NO level that leaves 1.99: no change.
        // Frame 11: NO 0.60 + 0.68 + 0.69 = 1.97 for 25 sets (N2's ladder ends): cost 49.25,
        // edge 2 × 25 − 49.25 = 0.75 beats YES's 0.15.
        r#"{"frame":11,"group":"g1","side":"no","sets":"25","cost":"49.25","edge":"0.75","legs":[{"asset_id":"1002","worst_price":"0.6","cost":"15"},{"asset_id":"1004","worst_price":"0.68","cost":"17"},{"asset_id":"1006","worst_price":"0.69","cost":"17.25"}]}"#.to_string(),
        // Frame 12: N3 has no asks: back to YES.
        format!(r#"{{"frame":12,"group":"g1",{yes5}"#),
        // Frame 13: YES 1.07, NO without N3's asks: gone.
        r#"{"frame":13,"group":"g1","side":null}"#.to_string(),
        // Frame 17: g2's YES 0.9015 for 100 sets, capped at max_sets 12.345; 12.345 × 0.4015
        // = 4.9565175, rounded up to 4.956518.
        r#"{"frame":17,"group":"g2","side":"yes","sets":"12.345","cost":"11.129018","edge":"1.215982","legs":[{"asset_id":"2001","worst_price":"0.4015","cost":"4.956518"},{"asset_id":"2003","worst_price":"0.5","cost":"6.1725"}]}"#.to_string(),
    ];
    let got = String::from_utf8(out.stdout).unwrap();
    let got: Vec<&str> = got.lines().collect();
    assert_eq!(got, want);
}

/// Equal edges on both sides go to YES; a side under the minimum order size or with a leg
/// under $1 is no opportunity.
#[test]
fn opportunities_tie_goes_to_yes_and_small_sides_are_dropped() {
    use polyarb::strategy::contract::{OpportunityReplay, parse_groups};
    let groups = parse_groups(
        br#"[{"id":"t","questions":[{"yes":"11","no":"12"},{"yes":"13","no":"14"}],
              "min_profit":"0.02","max_sets":"1000","min_order_size":"5"}]"#,
    )
    .unwrap();
    let bk = |a: &str, p: &str, s: &str| {
        json!({"event_type":"book","asset_id":a,"market":M,"bids":[],
               "asks":[{"price":p,"size":s}],"timestamp":"1","hash":"0"})
        .to_string()
    };
    let run = |frames: &[String]| {
        let mut r = OpportunityReplay::new(groups.clone());
        let mut out = Vec::new();
        for f in frames {
            r.frame(f.as_bytes(), &mut out).unwrap();
        }
        String::from_utf8(out).unwrap()
    };
    // YES 0.9 and NO 0.9 per set, 10 sets each: edge 1 on both sides.
    let tie = run(&[
        bk("11", "0.45", "10"),
        bk("13", "0.45", "10"),
        bk("12", "0.45", "10"),
        bk("14", "0.45", "10"),
    ]);
    assert!(
        tie.starts_with(r#"{"frame":4,"group":"t","side":"yes","sets":"10","cost":"9","edge":"1""#),
        "{tie}"
    );
    // 4 sets: under the minimum of 5.
    let small = run(&[
        bk("11", "0.45", "4"),
        bk("13", "0.45", "10"),
        bk("12", "0.9", "10"),
        bk("14", "0.9", "10"),
    ]);
    assert_eq!(small, "");
    // 10 sets, but a leg at 0.05 costs 0.50: under the $1 minimum.
    let cheap = run(&[
        bk("11", "0.05", "10"),
        bk("13", "0.85", "10"),
        bk("12", "0.9", "10"),
        bk("14", "0.9", "10"),
    ]);
    assert_eq!(cheap, "");
}
