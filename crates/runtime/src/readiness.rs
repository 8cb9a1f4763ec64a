//! Readiness follows the database: a background task asks the service's database `SELECT 1`
//! every [`PROBE_INTERVAL`] (bounded by [`PROBE_TIMEOUT`]) and sets the health status of the
//! service's own names (such as `chancery.actors.v1.ActorService`, which the deployments'
//! readiness probes ask) to NOT_SERVING when it does not answer, and back to SERVING when it
//! does. The overall status `""` is liveness and is left alone: the process is alive while its
//! database is away, and restarting it would not bring the database back.
//!
//! Each transition is logged once: WARN when the database is lost, INFO when it is back. The
//! watcher is stopped (and waited for) before shutdown turns every status NOT_SERVING, so it
//! cannot turn a draining server ready again.
//!
//! A server may also start behind a closed [`ReadyGate`]: it answers RPCs, but its overall
//! status and its names stay NOT_SERVING until the gate opens; only then does readiness start
//! following the database. `chancery up --demo` keeps its services behind one until the demo is
//! imported, so a client waiting for SERVING finds the demo readable.

use std::time::Duration;

use tokio::task::JoinHandle;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::db::Database;

/// How often the database is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(2);
/// Longest wait for the probe's answer (connection included) before the database counts as
/// lost.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Asks `database` `SELECT 1`, waiting at most [`PROBE_TIMEOUT`]; the error says why it did
/// not answer.
pub async fn probe(database: &Database) -> Result<(), String> {
    match tokio::time::timeout(
        PROBE_TIMEOUT,
        sqlx::query("SELECT 1").execute(&database.pool),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
    }
}

/// The task that keeps readiness in step with the database; aborted when dropped.
#[derive(Debug)]
pub struct Watcher {
    task: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Stops the task and waits until it has stopped, so it changes no status afterwards.
    pub async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// What a server's health waits for before it first reports SERVING. [`ReadyGate::open`] is
/// open from the start (every server but `chancery up --demo`'s); [`ReadyGate::closed`] opens
/// when its [`GateOpener`] says so, and never if the opener is dropped first.
#[derive(Debug, Clone)]
pub struct ReadyGate(tokio::sync::watch::Receiver<bool>);

/// Opens the [`ReadyGate`]s made with it by [`ReadyGate::closed`] (and their clones).
#[derive(Debug)]
pub struct GateOpener(tokio::sync::watch::Sender<bool>);

impl ReadyGate {
    /// A gate that is already open: health is SERVING from the start.
    pub fn open() -> Self {
        Self(tokio::sync::watch::channel(true).1)
    }

    /// A closed gate, and what opens it.
    pub fn closed() -> (GateOpener, Self) {
        let (opener, gate) = tokio::sync::watch::channel(false);
        (GateOpener(opener), Self(gate))
    }

    /// Whether the gate is open now.
    pub fn is_open(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once the gate is open; never when its opener was dropped without opening it.
    pub async fn opened(mut self) {
        if self.0.wait_for(|open| *open).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl GateOpener {
    /// Opens the gates: their servers report SERVING.
    pub fn open(&self) {
        self.0.send_replace(true);
    }
}

/// Sets the overall status `""` and that of each of `service_names` to `status`.
async fn set_all(health: &HealthReporter, service_names: &[&'static str], status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in service_names {
        health.set_service_status(*name, status).await;
    }
}

/// A server's health from its start: the overall status and each of `service_names` SERVING
/// now if `gate` is open, else NOT_SERVING until it opens; then readiness follows `database`
/// (see [`watch`]). The task doing so, if there is one to stop before a drain.
pub async fn start(
    gate: ReadyGate,
    health: HealthReporter,
    service_names: Vec<&'static str>,
    database: Option<Database>,
) -> Option<Watcher> {
    let status = if gate.is_open() {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    set_all(&health, &service_names, status).await;
    match database {
        Some(database) => Some(watch(gate, health, service_names, database)),
        None if gate.is_open() => None,
        None => Some(Watcher {
            task: Some(tokio::spawn(async move {
                gate.opened().await;
                set_all(&health, &service_names, ServingStatus::Serving).await;
            })),
        }),
    }
}

/// Once `gate` is open (at once if it is: the statuses are then assumed SERVING), sets the
/// overall status and each of `service_names` SERVING, then probes `database` every
/// [`PROBE_INTERVAL`], setting the status of each of `service_names` in `health` to SERVING or
/// NOT_SERVING as it answers or not.
pub fn watch(
    gate: ReadyGate,
    health: HealthReporter,
    service_names: Vec<&'static str>,
    database: Database,
) -> Watcher {
    let task = tokio::spawn(async move {
        if !gate.is_open() {
            gate.opened().await;
            set_all(&health, &service_names, ServingStatus::Serving).await;
        }
        let mut ready = true;
        let mut ticks = tokio::time::interval(PROBE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let answer = probe(&database).await;
            if answer.is_ok() == ready {
                continue;
            }
            ready = answer.is_ok();
            let status = if ready {
                tracing::info!(
                    services = %crate::telemetry::list(&service_names),
                    "database answers again: readiness is SERVING"
                );
                ServingStatus::Serving
            } else {
                tracing::warn!(
                    services = %crate::telemetry::list(&service_names),
                    error = %answer.unwrap_err(),
                    "database lost: readiness is NOT_SERVING until it answers again"
                );
                ServingStatus::NotServing
            };
            for name in &service_names {
                health.set_service_status(*name, status).await;
            }
        }
    });
    Watcher { task: Some(task) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_probe_answers_while_the_pool_is_open_and_fails_once_it_is_closed() {
        static MIGRATIONS: crate::db::Migrations = crate::db::Migrations {
            sqlite: &[],
            postgres: &[],
        };
        let database = crate::db::connect("sqlite::memory:", &MIGRATIONS)
            .await
            .expect("open an in-memory database");
        assert_eq!(probe(&database).await, Ok(()));
        database.pool.close().await;
        let error = probe(&database)
            .await
            .expect_err("a closed pool does not answer");
        assert!(error.contains("closed"), "{error}");
    }
}

#[cfg(test)]
mod gate_tests {
    use futures::StreamExt;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus as Wire;
    use tonic_health::pb::health_server::Health;
    use tonic_health::server::HealthService;

    use super::*;

    async fn status(health: &HealthService, service: &str) -> Wire {
        let request = tonic::Request::new(HealthCheckRequest {
            service: service.to_owned(),
        });
        let response = health.check(request).await.expect("a known name");
        Wire::try_from(response.into_inner().status).expect("a status")
    }

    #[tokio::test]
    async fn behind_a_closed_gate_health_is_not_serving_until_it_opens() {
        let reporter = HealthReporter::new();
        let health = HealthService::from_health_reporter(reporter.clone());
        let (opener, gate) = ReadyGate::closed();
        let watcher = start(gate.clone(), reporter, vec!["x.v1.X"], None).await;
        for name in ["", "x.v1.X"] {
            assert_eq!(status(&health, name).await, Wire::NotServing, "{name:?}");
        }
        opener.open();
        gate.opened().await;
        // The statuses change on the watcher's task: watch them rather than sleep.
        let mut changes = health
            .watch(tonic::Request::new(HealthCheckRequest {
                service: "x.v1.X".into(),
            }))
            .await
            .unwrap()
            .into_inner();
        while let Some(change) = changes.next().await {
            if change.unwrap().status == Wire::Serving as i32 {
                break;
            }
        }
        assert_eq!(status(&health, "").await, Wire::Serving);
        assert_eq!(status(&health, "x.v1.X").await, Wire::Serving);
        watcher.expect("a task waited for the gate").stop().await;
    }

    #[tokio::test]
    async fn an_open_gate_is_serving_at_once_and_needs_no_task() {
        let reporter = HealthReporter::new();
        let health = HealthService::from_health_reporter(reporter.clone());
        let watcher = start(ReadyGate::open(), reporter, vec!["x.v1.X"], None).await;
        assert!(watcher.is_none());
        assert_eq!(status(&health, "").await, Wire::Serving);
        assert_eq!(status(&health, "x.v1.X").await, Wire::Serving);
    }

    #[tokio::test]
    async fn a_gate_whose_opener_is_dropped_stays_closed() {
        let (opener, gate) = ReadyGate::closed();
        drop(opener);
        assert!(!gate.is_open());
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), gate.opened()).await;
        assert!(waited.is_err(), "never opens");
    }
}
