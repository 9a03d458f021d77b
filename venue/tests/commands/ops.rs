//! Operating a running engine as an operator does: `polyarb feed` (the built binary, live
//! trading) against a venue over loopback with `[obs]` on a free port and JSON logs in a
//! directory; `/metrics` scraped over a real socket and read by a Prometheus text parser,
//! series present and moving; `/status` and `polyarb status` against it; and after the run,
//! the log files hold parseable JSON lines with the order, fill and resync events and their ids.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use polyarb_venue::{Fault, VenueHandle};
use testkit::bins as workspace_bins;

fn temp_dir(name: &str) -> std::path::PathBuf {
    testkit::scratch(&format!("ops-{name}"))
}

fn get(url: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .unwrap()
}

/// `/metrics` read by the parser: (metric name, labels as `k=v` pairs) → value.
fn scrape(base: &str) -> (String, prometheus_parse::Scrape) {
    let text = get(&format!("{base}/metrics"));
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("a Prometheus text exposition");
    (text, parsed)
}

/// The sum of every sample of `metric` (counter, gauge or untyped) whose labels include
/// `with`.
fn sum(s: &prometheus_parse::Scrape, metric: &str, with: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for x in s.samples.iter().filter(|x| x.metric == metric) {
        if !with.iter().all(|(k, v)| x.labels.get(k) == Some(*v)) {
            continue;
        }
        let v = match x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => continue,
        };
        *found.get_or_insert(0.0) += v;
    }
    found
}

/// Writes `key.hex` (the EOA key `n`) and `creds.json` (its API key, made at `venue`) into
/// `dir`, the files a live feed config names.
fn write_account(venue: &VenueHandle, dir: &std::path::Path, n: u64) {
    let key_hex = format!("0x{n:064x}");
    std::fs::write(dir.join("key.hex"), &key_hex).unwrap();
    let key = polyarb::adapters::polymarket::signing::PrivateKey::from_hex(&key_hex).unwrap();
    let creds = polyarb::adapters::polymarket::http::clob::create_or_derive_api_key(
        &venue.http_url(),
        &key,
        137,
        0,
        Duration::from_secs(5),
    )
    .unwrap();
    std::fs::write(
        dir.join("creds.json"),
        serde_json::to_string(&creds).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_live_feed_serves_metrics_and_status_and_logs_its_orders_fills_and_resyncs() {
    let venue = super::mispriced_venue();
    let dir = temp_dir("feed");
    write_account(&venue, &dir, 0x0b5);
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        format!(
            "[feed]\nws_url = \"{}\"\n[resync]\nclob_url = \"{}\"\n[pipeline]\nthreads = [\"io\", \"parse+book+strategy+dispatch\"]\n\
             [catalog]\ngamma_url = \"{}\"\n[strategy]\nno_side = true\n\
             [trading]\nmode = \"live\"\nkey_file = \"key.hex\"\ncreds_file = \"creds.json\"\nclob_url = \"{}\"\nuser_ws_url = \"{}\"\njournal = \"orders.db\"\nsignature_type = 0\n\
             [obs]\nlisten = \"127.0.0.1:0\"\nlog_dir = \"logs\"\nlog_rotation = \"never\"\n",
            venue.ws_url(),
            venue.http_url(),
            venue.gamma_url(),
            venue.http_url(),
            venue.user_ws_url(),
        ),
    )
    .unwrap();
    let mut child = Command::new(workspace_bins::polyarb())
        .args(["feed", "--duration", "7", "--refresh-ms", "500", "--config"])
        .arg(&config)
        .arg("--hgrm-dir")
        .arg(dir.join("hgrm"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // The banner names the bound address (port 0 asked for).
    let deadline = Instant::now() + Duration::from_secs(30);
    let base = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("an `obs` banner line");
        if let Some(rest) = line.strip_prefix("obs      http://") {
            let addr = rest.split_whitespace().next().unwrap();
            assert!(
                addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
                "{line}"
            );
            break format!("http://{addr}");
        }
    };
    std::thread::sleep(Duration::from_millis(1500));
    let (text1, first) = scrape(&base);
    assert!(
        text1.trim_end().ends_with("# EOF"),
        "OpenMetrics ends in # EOF"
    );
    // A gap: the venue changes a book without telling; the engine must mark and heal it.
    venue.fault(&Fault::Gap { asset_id: None }).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let (_, second) = scrape(&base);

    // Present, and moving between scrapes.
    for metric in [
        "polyarb_feed_frames_total",
        "polyarb_book_deltas_total",
        "polyarb_market_events_total",
    ] {
        let a = sum(&first, metric, &[]).unwrap_or_else(|| panic!("{metric} missing:\n{text1}"));
        let b = sum(&second, metric, &[]).unwrap();
        assert!(b > a && a > 0.0, "{metric} did not move: {a} then {b}");
    }
    assert_eq!(
        sum(&second, "polyarb_feed_open_connections", &[]),
        Some(1.0)
    );
    assert_eq!(
        sum(&second, "polyarb_books", &[("state", "empty")]),
        Some(0.0)
    );
    assert!(sum(&second, "polyarb_books", &[("state", "ok")]).unwrap() >= 39.0);
    // Per market: one series per market of the catalog (20 binary markets here).
    let markets: BTreeSet<&str> = second
        .samples
        .iter()
        .filter(|s| s.metric == "polyarb_market_events_total")
        .filter_map(|s| s.labels.get("market"))
        .collect();
    assert_eq!(markets.len(), 20, "{markets:?}");
    assert!(
        sum(
            &second,
            "polyarb_market_invalidations_total",
            &[("reason", "best_mismatch")]
        )
        .unwrap()
            >= 1.0,
        "the gap was not counted as a best_mismatch invalidation"
    );
    assert!(sum(&second, "polyarb_market_resync_requests_total", &[]).unwrap() >= 1.0);
    assert!(sum(&second, "polyarb_market_orders_total", &[]).unwrap() >= 1.0);
    // The io→parse ring of this topology, its depth and refusals.
    assert!(
        sum(
            &second,
            "polyarb_ring_pushed_total",
            &[("ring", "io→parse")]
        )
        .unwrap()
            > 0.0
    );
    assert!(sum(&second, "polyarb_ring_full_total", &[("ring", "io→parse")]).is_some());
    assert!(sum(&second, "polyarb_ring_depth", &[("ring", "io→parse")]).is_some());
    // Latency histograms, by stage, with observations in them.
    let hist = second
        .samples
        .iter()
        .find(|s| {
            s.metric == "polyarb_latency_seconds"
                && s.labels.get("stage") == Some("received_to_book")
        })
        .expect("the received_to_book histogram");
    match &hist.value {
        prometheus_parse::Value::Histogram(b) => {
            let inf = b.iter().find(|c| c.less_than.is_infinite()).expect("+Inf");
            assert!(inf.count > 0.0, "{b:?}");
            assert!(b.windows(2).all(|w| w[0].count <= w[1].count), "cumulative");
        }
        v => panic!("not a histogram: {v:?}"),
    }

    // /status as JSON, and as `polyarb status` prints it.
    let status: serde_json::Value = serde_json::from_str(&get(&format!("{base}/status"))).unwrap();
    assert_eq!(status["dispatch"], "live");
    let conns = status["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1, "{status}");
    assert_eq!(conns[0]["state"], "open");
    assert_eq!(conns[0]["assets"], 40);
    assert_eq!(
        sum(&second, "polyarb_feed_connection_up", &[("conn", "0")]),
        Some(1.0)
    );
    assert_eq!(status["books"]["assets"].as_array().unwrap().len(), 40);
    assert!(status["books"]["ok"].as_u64().unwrap() >= 39, "{status}");
    let out = Command::new(workspace_bins::polyarb())
        .args(["status", "--books", "3", "--url", &base])
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{table}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(table.contains("dispatch live"), "{table}");
    assert!(table.contains("connections open 1"), "{table}");
    assert!(table.contains("conn 0   open"), "{table}");
    assert!(table.contains("received_to_book"), "{table}");
    assert!(table.contains("io→parse"), "{table}");

    let status = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("logs     "), "{stdout}");
    // Nobody answers once the engine is gone: `polyarb status` says where it looked.
    let out = Command::new(workspace_bins::polyarb())
        .args(["status", "--url", &base])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&base));

    // Every line of the log files is one JSON object; the audit events carry their ids.
    let mut events: Vec<serde_json::Value> = Vec::new();
    for f in std::fs::read_dir(dir.join("logs")).unwrap() {
        let path = f.unwrap().path();
        assert!(
            path.to_string_lossy().ends_with(".jsonl"),
            "{}",
            path.display()
        );
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(
                v["timestamp"].is_string() && v["level"].is_string(),
                "{line}"
            );
            events.push(v);
        }
    }
    let of = |target: &str, event: &str| -> Vec<&serde_json::Value> {
        events
            .iter()
            .filter(|e| e["target"] == target && e["event"] == event)
            .collect()
    };
    let orders = of("polyarb::order", "order");
    assert!(
        !orders.is_empty(),
        "no order event in {} lines",
        events.len()
    );
    for o in &orders {
        assert!(o["plan"].is_u64() && o["client_oid"].is_u64(), "{o}");
        assert!(o["outcome"].is_string(), "{o}");
    }
    assert!(
        orders
            .iter()
            .any(|o| o["order_id"].as_str().is_some_and(|s| s.starts_with("0x"))),
        "no order with a venue id"
    );
    let fills = of("polyarb::fill", "fill");
    assert!(!fills.is_empty(), "no fill event");
    assert!(
        fills
            .iter()
            .all(|f| f["trade_id"].is_string() && f["order_id"].is_string())
    );
    let resyncs = of("polyarb::resync", "resync_requested");
    assert!(
        resyncs.iter().any(|r| r["reason"] == "best_mismatch"
            && r["token"].as_str().is_some_and(|t| !t.is_empty())),
        "no resync event for the gap: {resyncs:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "polyarb::obs" && e["addr"].is_string()),
        "the endpoint's address is not logged"
    );
}

#[test]
fn a_config_with_a_bad_listen_address_names_the_key() {
    let dir = temp_dir("bad");
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        "[catalog]\ngamma_url = \"http://127.0.0.1:9/gamma\"\n[obs]\nlisten = \"localhost\"\n",
    )
    .unwrap();
    let out = Command::new(workspace_bins::polyarb())
        .args(["feed", "--duration", "1", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("feed.toml") && err.contains("obs.listen"),
        "{err}"
    );
}

/// Waits for `line` on the child's stdout (forwarded by a reader thread) and returns it.
fn wait_line(rx: &mpsc::Receiver<String>, what: &str, f: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no {what} line"));
        if f(&line) {
            return line;
        }
    }
}

/// A breaker's `/status` entry.
fn breaker(status: &serde_json::Value, name: &str) -> serde_json::Value {
    status["breakers"]
        .as_array()
        .expect("breakers in /status")
        .iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no breaker {name} in {status}"))
        .clone()
}

#[test]
fn a_tripped_breaker_shows_on_metrics_status_and_the_summary_until_a_reset() {
    let venue = super::mispriced_venue();
    let dir = temp_dir("breakers");
    write_account(&venue, &dir, 0x0b6);
    let config = dir.join("feed.toml");
    std::fs::write(
        &config,
        format!(
            "[feed]\nws_url = \"{}\"\n[resync]\nclob_url = \"{}\"\n[pipeline]\nthreads = [\"io\", \"parse+book+strategy+dispatch\"]\n\
             [catalog]\ngamma_url = \"{}\"\n[strategy]\nno_side = true\n\
             [trading]\nmode = \"live\"\nkey_file = \"key.hex\"\ncreds_file = \"creds.json\"\nclob_url = \"{}\"\nuser_ws_url = \"{}\"\njournal = \"orders.db\"\nsignature_type = 0\n\
             [risk]\nmax_reject_rate_pct = 50\nreject_window = 2\nmax_daily_loss = \"1000\"\n\
             [obs]\nlisten = \"127.0.0.1:0\"\n",
            venue.ws_url(),
            venue.http_url(),
            venue.gamma_url(),
            venue.http_url(),
            venue.user_ws_url(),
        ),
    )
    .unwrap();
    let mut child = Command::new(workspace_bins::polyarb())
        .args([
            "feed",
            "--duration",
            "12",
            "--refresh-ms",
            "200",
            "--config",
        ])
        .arg(&config)
        .arg("--hgrm-dir")
        .arg(dir.join("hgrm"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let line = wait_line(&rx, "`obs` banner", |l| l.starts_with("obs      http://"));
    let base = format!(
        "http://{}",
        line["obs      http://".len()..]
            .split_whitespace()
            .next()
            .unwrap()
    );
    // Every breaker is registered from the start, ok, with its threshold.
    let (text, m) = scrape(&base);
    for b in [
        "daily_loss",
        "unwind_residual",
        "reject_rate",
        "unknown_orders",
        "round_trip",
        "feed_health",
        "journal",
        "kill",
    ] {
        assert_eq!(
            sum(&m, "polyarb_breaker_tripped", &[("breaker", b)]),
            Some(0.0),
            "{b}:\n{text}"
        );
        assert_eq!(
            sum(&m, "polyarb_breaker_trips_total", &[("breaker", b)]),
            Some(0.0),
            "{b}"
        );
    }
    assert_eq!(
        sum(
            &m,
            "polyarb_breaker_threshold",
            &[("breaker", "reject_rate"), ("unit", "percent")]
        ),
        Some(50.0)
    );
    assert_eq!(
        sum(
            &m,
            "polyarb_breaker_threshold",
            &[("breaker", "daily_loss"), ("unit", "micro_pusd")]
        ),
        Some(1e9)
    );
    assert_eq!(
        sum(&m, "polyarb_breaker_threshold", &[("breaker", "journal")]),
        None,
        "no threshold configured"
    );
    // The venue refuses every order request from the first: the reject-rate breaker trips on
    // the first plan's legs (the window is 2 orders), whatever later plans the books offer.
    venue
        .fault(&Fault::OrderFail {
            count: 100_000,
            status: 400,
            retry_after_s: 1,
        })
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (text, m) = loop {
        let (text, m) = scrape(&base);
        if sum(&m, "polyarb_breaker_tripped", &[("breaker", "reject_rate")]) == Some(1.0) {
            break (text, m);
        }
        assert!(
            Instant::now() < deadline,
            "reject_rate never tripped:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        sum(
            &m,
            "polyarb_breaker_trips_total",
            &[("breaker", "reject_rate")]
        ),
        Some(1.0)
    );
    assert!(
        sum(
            &m,
            "polyarb_breaker_value",
            &[("breaker", "reject_rate"), ("unit", "percent")]
        )
        .unwrap()
            >= 50.0,
        "{text}"
    );
    let reason = m
        .samples
        .iter()
        .find(|s| {
            s.metric == "polyarb_breaker_reason" && s.labels.get("breaker") == Some("reject_rate")
        })
        .unwrap_or_else(|| panic!("no reason series:\n{text}"));
    let why = reason.labels.get("reason").unwrap().to_string();
    assert!(
        why.contains("of the last 2 orders refused (limit 50%)"),
        "{why}"
    );
    assert_eq!(
        sum(&m, "polyarb_breaker_tripped", &[("breaker", "daily_loss")]),
        Some(0.0)
    );
    let status: serde_json::Value = serde_json::from_str(&get(&format!("{base}/status"))).unwrap();
    let b = breaker(&status, "reject_rate");
    assert_eq!(b["state"], "tripped", "{b}");
    assert_eq!(b["tripped"], true);
    assert_eq!(b["trips"], 1);
    assert_eq!(b["reason"], why.as_str());
    assert_eq!(b["threshold"], 50);
    assert_eq!(breaker(&status, "kill")["state"], "ok");
    let out = Command::new(workspace_bins::polyarb())
        .args(["status", "--books", "0", "--url", &base])
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{table}");
    let row = table
        .lines()
        .find(|l| l.starts_with("reject_rate "))
        .unwrap_or_else(|| panic!("no reject_rate row:\n{table}"));
    assert!(
        row.contains("TRIPPED") && row.contains("50%") && row.contains(&why),
        "{row}"
    );
    assert!(table.contains("breaker "), "{table}");
    // The operator resets: the breaker is ok again, its trip still counted.
    venue.fault(&Fault::Clear).unwrap();
    let out = Command::new(workspace_bins::polyarb())
        .args(["risk", "reset", "--config"])
        .arg(&config)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (text, m) = scrape(&base);
    assert_eq!(
        sum(&m, "polyarb_breaker_tripped", &[("breaker", "reject_rate")]),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "polyarb_breaker_trips_total",
            &[("breaker", "reject_rate")]
        ),
        Some(1.0)
    );
    let status: serde_json::Value = serde_json::from_str(&get(&format!("{base}/status"))).unwrap();
    assert_eq!(breaker(&status, "reject_rate")["state"], "ok");
    assert_eq!(breaker(&status, "reject_rate")["value"], 0);

    let code = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    assert!(code.success(), "{stdout}");
    // The run's summary.
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("reject_rate "))
        .unwrap_or_else(|| panic!("no breaker table in the summary:\n{stdout}"));
    // Trading went on after the reset, and a killed FOK leg is a refusal: with a window of
    // two it may have tripped again. Its trips are counted either way.
    let trips: u64 = summary.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(trips >= 1, "{summary}");
    for b in [
        "daily_loss",
        "unknown_orders",
        "feed_health",
        "journal",
        "kill",
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("{b} "))),
            "{b} missing from the summary:\n{stdout}"
        );
    }
}
