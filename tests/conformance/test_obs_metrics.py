"""`/metrics` of a running engine (`polyarb demo`, built-in config with `[obs]` on a free port)
read by the Prometheus project's own Python parser, in its strict OpenMetrics mode: the text must
be valid exposition (types, `_total` counters, cumulative histogram buckets ending in `+Inf`,
`# EOF`), and the series must be there and move between two scrapes."""

import subprocess
import threading
import time

import httpx
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import POLYARB, REPO


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams, family, sample_name, **labels):
    """The sum of `sample_name`'s samples in `family` whose labels include `labels`."""
    got = [
        s.value
        for s in fams[family].samples
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert got, f"no {sample_name}{labels} in {family}"
    return sum(got)


def test_demo_metrics_are_valid_openmetrics_and_move(tmp_path):
    config = tmp_path / "demo.toml"
    config.write_text(
        (REPO / "config" / "demo.toml").read_text() + '\n[obs]\nlisten = "127.0.0.1:0"\n'
    )
    proc = subprocess.Popen(
        [str(POLYARB), "demo", "--duration", "6", "--config", str(config),
         "--hgrm-dir", str(tmp_path / "hgrm")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    base = None
    out = []
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if line.startswith("obs      http://"):
            base = line.split()[1]
            break
    assert base, "no obs banner line:\n" + "".join(out)
    # Keep draining stdout so the demo never blocks on a full pipe.
    drain = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
    drain.start()
    try:
        time.sleep(1.5)
        first = httpx.get(base + "/metrics", timeout=5)
        time.sleep(1.5)
        second = httpx.get(base + "/metrics", timeout=5)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()
    assert first.headers["content-type"].startswith("application/openmetrics-text")
    a, b = families(first.text), families(second.text)

    assert a["polyarb_feed_frames"].type == "counter"
    assert a["polyarb_books"].type == "gauge"
    assert a["polyarb_latency_seconds"].type == "histogram"
    for fam, sample in [
        ("polyarb_feed_frames", "polyarb_feed_frames_total"),
        ("polyarb_book_deltas", "polyarb_book_deltas_total"),
        ("polyarb_market_events", "polyarb_market_events_total"),
    ]:
        x, y = value(a, fam, sample), value(b, fam, sample)
        assert 0 < x < y, f"{sample} did not move: {x} then {y}"
    assert value(b, "polyarb_books", "polyarb_books", state="ok") >= 250
    inf = value(b, "polyarb_latency_seconds", "polyarb_latency_seconds_bucket",
                stage="received_to_book", le="+Inf")
    count = value(b, "polyarb_latency_seconds", "polyarb_latency_seconds_count",
                  stage="received_to_book")
    assert inf == count > 0
    markets = {s.labels["market"] for s in b["polyarb_market_events"].samples}
    assert len(markets) >= 100
