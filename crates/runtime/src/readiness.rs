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

/// Starts probing `database` every [`PROBE_INTERVAL`], setting the status of each of
/// `service_names` in `health` to SERVING or NOT_SERVING as it answers or not. The names are
/// assumed SERVING when it starts.
pub fn watch(
    health: HealthReporter,
    service_names: Vec<&'static str>,
    database: Database,
) -> Watcher {
    let task = tokio::spawn(async move {
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
