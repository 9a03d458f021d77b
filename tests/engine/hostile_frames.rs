//! Bad input: truncated, garbled and oversized frames never panic, are each counted, and leave
//! the books exactly as they were.

use polyarb::replay::Replayer;
use rand::{Rng, SeedableRng, rngs::StdRng};

const A: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const ORPHAN: &str =
    "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const M: &str = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";

fn seeded() -> Replayer {
    let mut r = Replayer::new();
    let book = format!(
        r#"{{"event_type":"book","asset_id":"{A}","market":"{M}","bids":[{{"price":"0.48","size":"10"}},{{"price":"0.5","size":"20"}}],"asks":[{{"price":"0.52","size":"5"}},{{"price":"0.51","size":"7"}}],"timestamp":"1","hash":"h"}}"#
    );
    r.frame(book.as_bytes(), 0);
    r
}

/// A valid event that cannot change the seeded book (its asset never had one).
fn base_frame() -> String {
    format!(
        r#"[{{"event_type":"price_change","market":"{M}","timestamp":"2","price_changes":[{{"asset_id":"{ORPHAN}","price":"0.5","side":"BUY","size":"3","hash":"ab","best_bid":"0.5","best_ask":"0.51"}}]}}]"#
    )
}

fn hostile(rng: &mut StdRng) -> Vec<Vec<u8>> {
    let base = base_frame().into_bytes();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for _ in 0..300 {
        let n = rng.random_range(0..600);
        out.push((0..n).map(|_| rng.random()).collect());
    }
    for _ in 0..300 {
        let cut = rng.random_range(1..base.len() - 1);
        out.push(base[..cut].to_vec());
    }
    let junk = b"{}[]\":,\\\x00\xff-e.+ ";
    for _ in 0..300 {
        let mut f = base.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..f.len());
            f[i] = junk[rng.random_range(0..junk.len())];
        }
        out.push(f);
    }
    let deep = 100_000;
    out.push(["[".repeat(deep), "]".repeat(deep)].concat().into_bytes());
    out.push(
        ["{\"a\":".repeat(deep), "1".into(), "}".repeat(deep)]
            .concat()
            .into_bytes(),
    );
    let ten_mb = "7".repeat(10 << 20);
    out.push(
        format!(
            r#"{{"event_type":"book","asset_id":"{ten_mb}","market":"{M}","bids":[],"asks":[]}}"#
        )
        .into_bytes(),
    );
    out.push(format!(r#"{{"event_type":"price_change","market":"{M}","price_changes":[{{"asset_id":"{A}","price":"0.{ten_mb}","side":"BUY","size":"1"}}]}}"#).into_bytes());
    let five_hundred = "9".repeat(500);
    out.push(format!(r#"{{"event_type":"price_change","market":"{M}","price_changes":[{{"asset_id":"{A}","price":"0.5","side":"BUY","size":"{five_hundred}"}}]}}"#).into_bytes());
    out.push(format!(r#"{{"event_type":"price_change","market":"{M}","price_changes":[{{"asset_id":"{A}","price":{five_hundred},"side":"BUY","size":"1"}}]}}"#).into_bytes());
    out.push(format!(r#"{{"event_type":"book","asset_id":"{A}{five_hundred}","market":"{M}","bids":[],"asks":[]}}"#).into_bytes());
    out.push(vec![b'"'; 1 << 20]);
    out.push(b"\xef\xbb\xbf{}".to_vec());
    out
}

#[test]
fn hostile_frames_are_counted_and_change_nothing() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut r = seeded();
    let before = serde_json::to_value(r.dump()).unwrap()["books"].clone();
    let frames = hostile(&mut rng);
    for f in &frames {
        let c0 = r.counters();
        r.frame(f, 0);
        let c1 = r.counters();
        assert_eq!(c1.frames, c0.frames + 1);
        let outcomes =
            |c: &polyarb::replay::ReplayCounters| c.invalid + c.ignored + c.other + c.orphan;
        assert!(
            outcomes(&c1) > outcomes(&c0),
            "frame not counted: {:?}",
            String::from_utf8_lossy(&f[..f.len().min(200)])
        );
        assert_eq!((c1.books, c1.deltas), (c0.books, c0.deltas));
    }
    let after = serde_json::to_value(r.dump()).unwrap()["books"].clone();
    assert_eq!(before, after);
    let c = r.counters();
    assert!(c.invalid > 500, "{c:?}");
}
