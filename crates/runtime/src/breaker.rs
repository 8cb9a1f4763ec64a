//! A circuit breaker for the calls to one backend, so a service stops hammering a backend that
//! is down or hanging.
//!
//! - **Closed** (normal): calls go through; [`FAILURE_THRESHOLD`] failures in a row (UNAVAILABLE,
//!   no connection, DEADLINE_EXCEEDED or a call abandoned at its deadline — never an answer
//!   such as NOT_FOUND or INVALID_ARGUMENT, which proves the backend is up) open the circuit.
//! - **Open**: calls fail at once with UNAVAILABLE (reason `CIRCUIT_OPEN`) without touching the
//!   network, for a cooldown: [`BASE_COOLDOWN`] the first time, doubled at each failed trial,
//!   at most [`MAX_COOLDOWN`].
//! - **Half-open**: once the cooldown has passed, one trial call goes through (the others still
//!   fail at once); its success closes the circuit (and resets the cooldown), its failure opens
//!   it again for a longer cooldown.
//!
//! Results of calls admitted before the circuit last changed state are ignored, so a slow call
//! from before an outage cannot close a circuit that has since opened.
//!
//! The state machine ([`Breaker::admit`], [`Permit::succeeded`], [`Permit::failed`]) takes the
//! current time as an argument, so its tests run on an injected clock. Each state change is
//! logged once (WARN when the circuit opens, INFO when it closes) and exported: the gauge
//! `chancery_backend_circuit_open{service, target}` is 1 while the circuit is open or half-open,
//! and `chancery_backend_short_circuited_total{service, target}` counts the calls refused.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tonic::{Code, Status};

use crate::metrics;

/// Failures in a row that open the circuit.
pub const FAILURE_THRESHOLD: u32 = 5;
/// How long the circuit stays open the first time it opens.
pub const BASE_COOLDOWN: Duration = Duration::from_secs(2);
/// Longest cooldown, reached by doubling after each failed trial call.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(30);
/// The `reason` of the ErrorInfo a short-circuited call fails with (defined in `errors`, which
/// builds that status, and re-exported here where it always was).
pub use crate::errors::CIRCUIT_OPEN_REASON;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` in a row so far.
    Closed { failures: u32 },
    /// Calls fail at once until `until`.
    Open { until: Instant },
    /// One trial call is in flight; the others fail at once.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// The cooldown the circuit gets the next time it opens.
    cooldown: Duration,
    /// Bumped at each state change; permits of an older generation are ignored.
    generation: u64,
}

/// The circuit breaker of one backend as seen by one service; clones share the state.
#[derive(Debug, Clone)]
pub struct Breaker {
    inner: Arc<Mutex<Inner>>,
    /// Short name of the calling service (`gateway`), for logs and metrics.
    service: &'static str,
    /// Short name of the backend (`actors`), for logs, metrics and the refusal's message.
    target: &'static str,
}

/// Why a call was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Time until a trial call may go through; zero when a trial is in flight already.
    pub retry_in: Duration,
}

/// The right to make one call; report its result with [`Permit::succeeded`] or
/// [`Permit::failed`].
#[derive(Debug)]
#[must_use = "report the call's result to the breaker"]
pub struct Permit {
    breaker: Breaker,
    generation: u64,
}

impl Breaker {
    /// A closed breaker for the calls `service` makes to `target` (short names such as
    /// `gateway` and `actors`).
    pub fn new(service: &'static str, target: &'static str) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                state: State::Closed { failures: 0 },
                cooldown: BASE_COOLDOWN,
                generation: 0,
            })),
            service,
            target,
        }
    }

    /// The backend's short name.
    pub fn target(&self) -> &'static str {
        self.target
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The state stays consistent across a panic elsewhere: every update is one assignment.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a call made at `now` may go through. Past an open circuit's cooldown the first
    /// caller gets the trial permit (the circuit turns half-open).
    pub fn admit(&self, now: Instant) -> Result<Permit, Refused> {
        let mut inner = self.lock();
        match inner.state {
            State::Closed { .. } => {}
            State::Open { until } if now < until => {
                drop(inner);
                self.short_circuited();
                return Err(Refused {
                    retry_in: until - now,
                });
            }
            State::Open { .. } => {
                inner.state = State::HalfOpen;
                inner.generation += 1;
                tracing::info!(
                    service = self.service,
                    target = self.target,
                    "circuit half-open: sending one trial call"
                );
            }
            State::HalfOpen => {
                drop(inner);
                self.short_circuited();
                return Err(Refused {
                    retry_in: Duration::ZERO,
                });
            }
        }
        Ok(Permit {
            breaker: self.clone(),
            generation: inner.generation,
        })
    }

    /// Whether the circuit is open or half-open (calls are being refused).
    pub fn is_open(&self) -> bool {
        !matches!(self.lock().state, State::Closed { .. })
    }

    fn short_circuited(&self) {
        metrics::record_short_circuit(self.service, self.target);
    }

    fn report(&self, generation: u64, failed: bool, now: Instant) {
        let mut inner = self.lock();
        if generation != inner.generation {
            return;
        }
        match (inner.state, failed) {
            (State::Closed { .. }, false) => inner.state = State::Closed { failures: 0 },
            (State::Closed { failures }, true) if failures + 1 < FAILURE_THRESHOLD => {
                inner.state = State::Closed {
                    failures: failures + 1,
                };
            }
            (State::Closed { .. }, true) => {
                let cooldown = inner.cooldown;
                inner.state = State::Open {
                    until: now + cooldown,
                };
                inner.generation += 1;
                drop(inner);
                metrics::circuit_open(self.service, self.target, 1);
                tracing::warn!(
                    service = self.service,
                    target = self.target,
                    cooldown_ms = cooldown.as_millis() as u64,
                    "circuit open after {FAILURE_THRESHOLD} failures in a row: calls fail at once until the cooldown ends"
                );
            }
            (State::HalfOpen, false) => {
                inner.state = State::Closed { failures: 0 };
                inner.cooldown = BASE_COOLDOWN;
                inner.generation += 1;
                drop(inner);
                metrics::circuit_open(self.service, self.target, -1);
                tracing::info!(
                    service = self.service,
                    target = self.target,
                    "circuit closed: the trial call succeeded"
                );
            }
            (State::HalfOpen, true) => {
                let cooldown = (inner.cooldown * 2).min(MAX_COOLDOWN);
                inner.cooldown = cooldown;
                inner.state = State::Open {
                    until: now + cooldown,
                };
                inner.generation += 1;
                drop(inner);
                tracing::warn!(
                    service = self.service,
                    target = self.target,
                    cooldown_ms = cooldown.as_millis() as u64,
                    "circuit open again: the trial call failed"
                );
            }
            // Only permits of the current generation get here, and an open circuit issues none.
            (State::Open { .. }, _) => {}
        }
    }

    /// The UNAVAILABLE a refused call fails with: it names the backend, the failures that
    /// opened the circuit and when the next attempt goes through, with reason
    /// [`CIRCUIT_OPEN_REASON`].
    pub fn refusal(&self, refused: Refused) -> Status {
        let next = if refused.retry_in.is_zero() {
            "a trial call is in flight".to_owned()
        } else {
            format!("next attempt in {} ms", refused.retry_in.as_millis().max(1))
        };
        crate::errors::circuit_open(
            self.target,
            format!(
                "the {} service: circuit open after {FAILURE_THRESHOLD} failures; {next}",
                self.target
            ),
        )
    }
}

impl Permit {
    /// The call got an answer that proves the backend works (any answer but the failures
    /// listed in the module documentation).
    pub fn succeeded(self, now: Instant) {
        self.breaker.report(self.generation, false, now);
    }

    /// The call failed: no connection, UNAVAILABLE, DEADLINE_EXCEEDED or abandoned.
    pub fn failed(self, now: Instant) {
        self.breaker.report(self.generation, true, now);
    }
}

/// Whether `status` is the refusal of an open circuit (no call was made).
pub fn is_short_circuit(status: &Status) -> bool {
    use tonic_types::StatusExt;
    status.code() == Code::Unavailable
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == CIRCUIT_OPEN_REASON)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn fail(breaker: &Breaker, now: Instant, times: u32) {
        for _ in 0..times {
            breaker.admit(now).expect("admitted").failed(now);
        }
    }

    #[test]
    fn opens_after_the_threshold_of_failures_in_a_row_and_refuses_without_calling() {
        let breaker = Breaker::new("test", "actors");
        let t0 = Instant::now();
        fail(&breaker, t0, FAILURE_THRESHOLD - 1);
        assert!(!breaker.is_open(), "one failure short of the threshold");
        fail(&breaker, t0, 1);
        assert!(breaker.is_open());
        let refused = breaker.admit(t0 + 500 * MS).unwrap_err();
        assert_eq!(refused.retry_in, BASE_COOLDOWN - 500 * MS);
        let status = breaker.refusal(refused);
        assert_eq!(status.code(), Code::Unavailable);
        assert!(is_short_circuit(&status));
        assert_eq!(
            status.message(),
            "the actors service: circuit open after 5 failures; next attempt in 1500 ms"
        );
        assert!(!is_short_circuit(&Status::unavailable("down")));
    }

    #[test]
    fn a_success_resets_the_count_of_failures() {
        let breaker = Breaker::new("test", "actors");
        let t0 = Instant::now();
        fail(&breaker, t0, FAILURE_THRESHOLD - 1);
        breaker.admit(t0).unwrap().succeeded(t0);
        fail(&breaker, t0, FAILURE_THRESHOLD - 1);
        assert!(!breaker.is_open(), "the failures were not in a row");
        fail(&breaker, t0, 1);
        assert!(breaker.is_open());
    }

    #[test]
    fn after_the_cooldown_one_trial_goes_through_and_its_success_closes() {
        let breaker = Breaker::new("test", "actors");
        let t0 = Instant::now();
        fail(&breaker, t0, FAILURE_THRESHOLD);
        let t1 = t0 + BASE_COOLDOWN;
        let trial = breaker.admit(t1).expect("the trial call");
        let refused = breaker.admit(t1).expect_err("only one trial at a time");
        assert_eq!(refused.retry_in, Duration::ZERO);
        assert!(
            breaker
                .refusal(refused)
                .message()
                .ends_with("a trial call is in flight")
        );
        trial.succeeded(t1 + MS);
        assert!(!breaker.is_open());
        // Closed with a fresh count and the base cooldown again.
        fail(&breaker, t1, FAILURE_THRESHOLD);
        assert_eq!(
            breaker.admit(t1 + MS).unwrap_err().retry_in,
            BASE_COOLDOWN - MS
        );
    }

    #[test]
    fn a_failed_trial_reopens_for_twice_as_long_up_to_the_cap() {
        let breaker = Breaker::new("test", "actors");
        let mut now = Instant::now();
        fail(&breaker, now, FAILURE_THRESHOLD);
        let mut expected = BASE_COOLDOWN;
        let mut cooldowns = Vec::new();
        for _ in 0..6 {
            now += expected;
            breaker.admit(now).expect("trial").failed(now);
            let refused = breaker.admit(now).unwrap_err();
            cooldowns.push(refused.retry_in.as_secs());
            expected = refused.retry_in;
        }
        assert_eq!(cooldowns, [4, 8, 16, 30, 30, 30]);
        // Still open one instant before the cooldown ends.
        assert!(breaker.admit(now + expected - MS).is_err());
    }

    #[test]
    fn results_of_calls_from_before_a_state_change_are_ignored() {
        let breaker = Breaker::new("test", "actors");
        let t0 = Instant::now();
        let slow = breaker.admit(t0).unwrap();
        fail(&breaker, t0, FAILURE_THRESHOLD);
        // A call admitted while closed answers after the circuit opened: it does not close it.
        slow.succeeded(t0 + MS);
        assert!(breaker.is_open());
        let trial = breaker.admit(t0 + BASE_COOLDOWN).unwrap();
        let stale = {
            // Not possible to get a permit while half-open, so make one from before.
            let breaker2 = breaker.clone();
            Permit {
                breaker: breaker2,
                generation: 0,
            }
        };
        stale.failed(t0 + BASE_COOLDOWN);
        trial.succeeded(t0 + BASE_COOLDOWN + MS);
        assert!(!breaker.is_open(), "only the trial's result counted");
    }

    #[test]
    fn the_open_state_and_refused_calls_are_exported() {
        let breaker = Breaker::new("metrics-test", "statements");
        let t0 = Instant::now();
        fail(&breaker, t0, FAILURE_THRESHOLD);
        let _ = breaker.admit(t0).unwrap_err();
        let _ = breaker.admit(t0).unwrap_err();
        let text = metrics::global().encode();
        let labels = "{service=\"metrics-test\",target=\"statements\"}";
        assert!(
            text.contains(&format!("chancery_backend_circuit_open{labels} 1\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "chancery_backend_short_circuited_total{labels} 2\n"
            )),
            "{text}"
        );
        breaker
            .admit(t0 + BASE_COOLDOWN)
            .unwrap()
            .succeeded(t0 + BASE_COOLDOWN);
        let text = metrics::global().encode();
        assert!(
            text.contains(&format!("chancery_backend_circuit_open{labels} 0\n")),
            "{text}"
        );
    }

    #[test]
    fn clones_share_one_state() {
        let breaker = Breaker::new("test", "actors");
        let clone = breaker.clone();
        fail(&clone, Instant::now(), FAILURE_THRESHOLD);
        assert!(breaker.is_open());
    }
}
