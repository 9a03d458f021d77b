//! Faults for the venue's Gamma endpoints, queued by `POST /admin/gamma/fault` and consumed by
//! the next Gamma requests in order: failures (5xx), rate limits (429 + `Retry-After`),
//! oversized bodies and garbage, so the catalog's retries and limits can be tested end to end.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One queued fault, applied to the next `count` Gamma requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GammaFault {
    /// Answer `status` (default 500).
    Fail {
        count: u32,
        #[serde(default = "internal_error")]
        status: u16,
    },
    /// Answer 429 with `Retry-After: retry_after_s`.
    RateLimit {
        count: u32,
        #[serde(default = "one")]
        retry_after_s: u64,
    },
    /// Answer 200 with a valid JSON body of about `bytes` bytes (one enormous market).
    HugeBody { count: u32, bytes: usize },
    /// Answer 200 with a body that is not JSON.
    Garbage { count: u32 },
    /// Let the next `count` requests through untouched (to aim a later fault at, say, the
    /// second page of a listing).
    Pass { count: u32 },
    /// Drop every queued fault.
    Clear,
}

fn internal_error() -> u16 {
    500
}

fn one() -> u64 {
    1
}

/// What a request must answer instead of its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    Pass,
    Fail(u16),
    RateLimit(u64),
    HugeBody(usize),
    Garbage,
}

/// The queue.
#[derive(Debug, Default)]
pub struct GammaFaults {
    queue: Mutex<VecDeque<(Injected, u32)>>,
}

/// Largest body `HugeBody` may ask for (the venue must not be made to exhaust memory).
pub const MAX_HUGE_BODY: usize = 256 << 20;

impl GammaFaults {
    /// Queues a fault; returns the number of requests it will affect.
    pub fn push(&self, f: &GammaFault) -> u32 {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (inj, count) = match *f {
            GammaFault::Fail { count, status } => (Injected::Fail(status), count),
            GammaFault::RateLimit {
                count,
                retry_after_s,
            } => (Injected::RateLimit(retry_after_s), count),
            GammaFault::HugeBody { count, bytes } => {
                (Injected::HugeBody(bytes.min(MAX_HUGE_BODY)), count)
            }
            GammaFault::Garbage { count } => (Injected::Garbage, count),
            GammaFault::Pass { count } => (Injected::Pass, count),
            GammaFault::Clear => {
                q.clear();
                return 0;
            }
        };
        if count > 0 {
            q.push_back((inj, count));
        }
        count
    }

    /// The fault the next request suffers, if any.
    pub fn next(&self) -> Option<Injected> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (inj, left) = q.front_mut()?;
        let out = *inj;
        *left -= 1;
        if *left == 0 {
            q.pop_front();
        }
        Some(out)
    }
}

/// A valid JSON page of about `bytes` bytes: one market whose description is enormous.
pub fn huge_body(bytes: usize) -> Vec<u8> {
    let head = br#"[{"id":"999999999","conditionId":"0x","description":""#;
    let tail = br#""}]"#;
    let fill = bytes.saturating_sub(head.len() + tail.len());
    let mut b = Vec::with_capacity(head.len() + fill + tail.len());
    b.extend_from_slice(head);
    b.resize(head.len() + fill, b'a');
    b.extend_from_slice(tail);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_in_order_then_stop() {
        let f = GammaFaults::default();
        f.push(&GammaFault::RateLimit {
            count: 1,
            retry_after_s: 2,
        });
        f.push(&GammaFault::Fail {
            count: 2,
            status: 503,
        });
        assert_eq!(f.next(), Some(Injected::RateLimit(2)));
        assert_eq!(f.next(), Some(Injected::Fail(503)));
        assert_eq!(f.next(), Some(Injected::Fail(503)));
        assert_eq!(f.next(), None);
        let body = huge_body(1000);
        assert_eq!(body.len(), 1000);
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    }
}
