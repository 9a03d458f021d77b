//! Fault injection: what can go wrong on purpose, as the admin endpoint and tests name it.
//!
//! A `Fault` is a command (`POST /admin/fault` with JSON tagged by `kind`, or
//! `VenueHandle::fault`). WebSocket faults act on the hub (stalls, malformed frames, gaps) or
//! on the io thread (closes); REST faults live in `RestFaults`, read by every book request.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Close one connection (or all): abruptly (TCP reset, no close frame) or with a close frame.
    Close {
        #[serde(default)]
        conn: Option<u64>,
        #[serde(default)]
        abrupt: bool,
    },
    /// Stop sending data on a connection (or all) while still answering `PING`; frames meant
    /// for it are dropped, as on a stuck venue. `duration_ms` absent = until `clear`.
    Stall {
        #[serde(default)]
        conn: Option<u64>,
        #[serde(default)]
        duration_ms: Option<u64>,
    },
    /// Stop sending anything about one asset, on every connection.
    StallAsset {
        asset_id: String,
        #[serde(default)]
        duration_ms: Option<u64>,
    },
    /// Send `count` malformed frames to a connection (or all).
    Malformed {
        #[serde(default)]
        conn: Option<u64>,
        #[serde(default = "one")]
        count: u32,
        #[serde(default)]
        shape: MalformedShape,
    },
    /// Change an asset's market (random if absent) without telling anyone, then send a change
    /// whose `best_bid`/`best_ask` disagree with every client's book. Synthetic source only.
    Gap {
        #[serde(default)]
        asset_id: Option<String>,
    },
    /// Delay every REST book answer by `delay_ms` (0 stops delaying).
    RestDelay { delay_ms: u64 },
    /// Fail the next `count` REST book requests with `status` (default 500).
    RestFail {
        count: u64,
        #[serde(default = "internal_error")]
        status: u16,
    },
    /// Hold back the answers to the next `count` order requests by `delay_ms`, after they
    /// were matched (a client that times out first does not know its order went through).
    OrderDelay {
        delay_ms: u64,
        #[serde(default = "one_u64")]
        count: u64,
    },
    /// Refuse the next `count` order requests before processing them, with `status`
    /// (429 carries `Retry-After: retry_after_s`).
    OrderFail {
        #[serde(default = "one_u64")]
        count: u64,
        #[serde(default = "internal_error")]
        status: u16,
        #[serde(default = "one_u64")]
        retry_after_s: u64,
    },
    /// The next `count` trades end FAILED instead of MINED (their settlement is rolled back).
    TradeFail {
        #[serde(default = "one_u64")]
        count: u64,
    },
    /// End every stall and REST fault.
    Clear,
}

fn one() -> u32 {
    1
}

fn one_u64() -> u64 {
    1
}

fn internal_error() -> u16 {
    500
}

/// Kinds of malformed frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MalformedShape {
    /// A JSON object cut off in the middle.
    #[default]
    Truncated,
    /// Text that is not JSON at all but starts like it.
    Garbage,
    /// Valid JSON whose event is invalid (a bad decimal, an unknown side).
    BadEvent,
}

impl MalformedShape {
    /// The frame text of this shape (always valid UTF-8: a WebSocket text frame must be).
    pub fn frame(self, market: &str, asset_id: &str) -> String {
        match self {
            Self::Truncated => format!(
                r#"{{"event_type":"price_change","market":"{market}","price_changes":[{{"asset_id":"{asset_id}","price":"0.5"#
            ),
            Self::Garbage => "{\u{1}not json at all}}]".to_string(),
            Self::BadEvent => format!(
                r#"{{"event_type":"price_change","market":"{market}","price_changes":[{{"asset_id":"{asset_id}","price":"0.5.1","size":"-3","side":"HOLD","hash":"00","best_bid":"x","best_ask":"y"}}],"timestamp":"0"}}"#
            ),
        }
    }
}

/// What a fault did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultOutcome {
    /// Connections (or assets, or requests) the fault applies to.
    pub affected: u64,
}

/// REST faults in force.
#[derive(Debug, Default)]
pub struct RestFaults {
    state: Mutex<RestFaultState>,
}

#[derive(Debug, Default)]
struct RestFaultState {
    delay_ms: u64,
    fail_next: u64,
    fail_status: u16,
    fail_every: u64,
    requests: u64,
}

/// What a REST book request must suffer before (or instead of) its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestVerdict {
    pub delay_ms: u64,
    pub fail_status: Option<u16>,
}

impl RestFaults {
    pub fn new(delay_ms: u64, fail_every: u64) -> Self {
        Self {
            state: Mutex::new(RestFaultState {
                delay_ms,
                fail_every,
                fail_status: 500,
                ..Default::default()
            }),
        }
    }

    pub fn set_delay(&self, ms: u64) {
        self.lock().delay_ms = ms;
    }

    pub fn fail_next(&self, count: u64, status: u16) {
        let mut s = self.lock();
        s.fail_next = count;
        s.fail_status = status;
    }

    pub fn clear(&self) {
        let mut s = self.lock();
        s.delay_ms = 0;
        s.fail_next = 0;
        s.fail_every = 0;
    }

    /// Called once per REST book request.
    pub fn verdict(&self) -> RestVerdict {
        let mut s = self.lock();
        s.requests += 1;
        let fail = if s.fail_next > 0 {
            s.fail_next -= 1;
            Some(s.fail_status)
        } else if s.fail_every > 0 && s.requests.is_multiple_of(s.fail_every) {
            Some(500)
        } else {
            None
        };
        RestVerdict {
            delay_ms: s.delay_ms,
            fail_status: fail,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RestFaultState> {
        // A poisoned lock only means another request panicked; the state is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_admin_json() {
        let f: Fault = serde_json::from_str(r#"{"kind":"close","abrupt":true}"#).unwrap();
        assert_eq!(
            f,
            Fault::Close {
                conn: None,
                abrupt: true
            }
        );
        let f: Fault = serde_json::from_str(r#"{"kind":"malformed","conn":3}"#).unwrap();
        assert_eq!(
            f,
            Fault::Malformed {
                conn: Some(3),
                count: 1,
                shape: MalformedShape::Truncated
            }
        );
        let f: Fault = serde_json::from_str(r#"{"kind":"rest_fail","count":2}"#).unwrap();
        assert_eq!(
            f,
            Fault::RestFail {
                count: 2,
                status: 500
            }
        );
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"explode"}"#).is_err());
        for shape in [MalformedShape::Truncated, MalformedShape::Garbage] {
            assert!(serde_json::from_str::<serde_json::Value>(&shape.frame("0x1", "2")).is_err());
        }
        assert!(
            serde_json::from_str::<serde_json::Value>(&MalformedShape::BadEvent.frame("0x1", "2"))
                .is_ok()
        );
    }

    #[test]
    fn rest_faults_count_down() {
        let r = RestFaults::new(0, 0);
        r.fail_next(2, 503);
        assert_eq!(r.verdict().fail_status, Some(503));
        assert_eq!(r.verdict().fail_status, Some(503));
        assert_eq!(r.verdict().fail_status, None);
        r.set_delay(5);
        assert_eq!(r.verdict().delay_ms, 5);
        r.clear();
        assert_eq!(
            r.verdict(),
            RestVerdict {
                delay_ms: 0,
                fail_status: None
            }
        );
    }
}
