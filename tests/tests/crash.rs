//! Crash safety of creates with request ids: the real `chancery-actors` binary is killed with
//! SIGKILL while 1,000 `CreateActor`s are in flight at once (over several HTTP/2 connections),
//! on SQLite and on PostgreSQL, then started again on the same database.
//!
//! Each run kills the process at another point: after `k` acknowledgements, with `k` spread over
//! the whole range from 0 (killed before any answer) to almost all, and a small pseudo-random
//! delay on top. After each crash:
//!
//! - on the dead process's storage: SQLite's `PRAGMA integrity_check` is `ok` (the file opened
//!   with its write-ahead log, as the next start opens it) and no foreign key is broken; on both
//!   backends every stored actor has its recorded request id and the other way round (a create
//!   and its request-id record commit together or not at all);
//! - through the restarted binary: every acknowledged create is present exactly once, under the
//!   name it was acknowledged with; no create is present twice; retrying **every**
//!   unacknowledged create with the same request id and payload succeeds (returning the stored
//!   actor when the create had committed before the crash); re-sending acknowledged creates
//!   returns the same names; in the end exactly 1,000 distinct actors exist.
//!
//! `cargo test --test crash` makes [`DEFAULT_RUNS`] runs per backend; set `CHANCERY_CRASH_RUNS=N`
//! for a longer (nightly) run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{Actor, ActorKind, CreateActorRequest, ListActorsRequest};
use chancery_testkit::{Backend, TempDir, TestDatabase, postgres_available};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

mod support;

use support::process::Service;

/// Creates in flight at once in each run.
const CREATES: usize = 1_000;
/// HTTP/2 connections the creates are spread over.
const CONNECTIONS: usize = 8;
/// Runs per backend unless [`RUNS_VARIABLE`] says otherwise.
const DEFAULT_RUNS: usize = 10;
/// How many runs to make per backend (the long, nightly mode sets it higher).
const RUNS_VARIABLE: &str = "CHANCERY_CRASH_RUNS";

fn runs() -> usize {
    match std::env::var(RUNS_VARIABLE) {
        Ok(value) if !value.is_empty() => value
            .parse::<usize>()
            .ok()
            .filter(|runs| *runs > 0)
            .unwrap_or_else(|| panic!("{RUNS_VARIABLE}={value:?}: expected a positive number")),
        _ => DEFAULT_RUNS,
    }
}

/// A small deterministic generator (xorshift), seeded per test and printed, so a failing run
/// can be told apart and its kill points read from the output.
struct Jitter(u64);

impl Jitter {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// The create number `i` of `run`: its request id and its payload both name it.
fn create_request(run: usize, i: usize) -> CreateActorRequest {
    CreateActorRequest {
        actor: Some(Actor {
            kind: ActorKind::Person as i32,
            display_name: display_name(run, i),
            description: format!("created by the crash test, run {run}, create {i}"),
            ..Default::default()
        }),
        actor_id: String::new(),
        request_id: format!("crash-{run}-{i}"),
    }
}

fn display_name(run: usize, i: usize) -> String {
    format!("crash-{run}-{i}")
}

/// `i` of a display name made by [`display_name`] for `run`.
fn create_number(run: usize, display_name: &str) -> Option<usize> {
    display_name
        .strip_prefix(&format!("crash-{run}-"))
        .and_then(|i| i.parse().ok())
}

/// `count` channels, each its own HTTP/2 connection.
async fn connections(service: &Service, count: usize) -> Vec<Channel> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let channel = Endpoint::from_shared(service.uri())
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the actors process");
        channels.push(channel);
    }
    channels
}

/// Starts the actors binary on `url`, its log in `log_dir`, and waits until it serves.
async fn start_actors(url: &str, log_dir: &Path) -> Service {
    std::fs::create_dir_all(log_dir).expect("create the log directory");
    let mut service = Service::start(
        "chancery-actors",
        log_dir,
        &[
            ("CHANCERY_DATABASE_URL", url.to_owned()),
            // All the creates in flight at once: none may be shed.
            ("CHANCERY_MAX_CONCURRENT_REQUESTS", "4096".to_owned()),
        ],
    );
    service.wait_serving().await;
    service
}

/// Every actor of the service: `i` → the names of the actors whose display name is create
/// `i`'s. Panics on an actor that no create of `run` made.
async fn actors_by_create(channel: &Channel, run: usize) -> BTreeMap<usize, Vec<String>> {
    let mut client = ActorServiceClient::new(channel.clone());
    let mut by_create: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_actors(ListActorsRequest {
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|status| panic!("ListActors after the restart: {status:?}"))
            .into_inner();
        for actor in page.actors {
            let i = create_number(run, &actor.display_name)
                .unwrap_or_else(|| panic!("an actor no create of run {run} made: {actor:?}"));
            by_create.entry(i).or_default().push(actor.name);
        }
        if page.next_page_token.is_empty() {
            return by_create;
        }
        page_token = page.next_page_token;
    }
}

/// What the storage of a dead process holds: `(actors, CreateActor request-id records)`, after
/// checking SQLite's integrity and foreign keys.
async fn storage_counts(database: &TestDatabase, place: &str) -> (i64, i64) {
    match database.backend() {
        Backend::Sqlite => {
            use sqlx::Connection;
            use std::str::FromStr;
            let url = database.url(place);
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                .expect("a SQLite URL")
                .create_if_missing(false);
            let mut connection = sqlx::sqlite::SqliteConnection::connect_with(&options)
                .await
                .unwrap_or_else(|e| panic!("open {url} after the crash: {e}"));
            let integrity: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
                .fetch_all(&mut connection)
                .await
                .expect("PRAGMA integrity_check");
            assert_eq!(
                integrity,
                vec![("ok".to_owned(),)],
                "{url} is damaged after the crash"
            );
            let broken: Vec<(String,)> =
                sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                    .fetch_all(&mut connection)
                    .await
                    .expect("PRAGMA foreign_key_check");
            assert!(
                broken.is_empty(),
                "broken foreign keys in {url}: {broken:?}"
            );
            let (actors,): (i64,) = sqlx::query_as("SELECT count(*) FROM actors")
                .fetch_one(&mut connection)
                .await
                .expect("count the actors");
            let (records,): (i64,) =
                sqlx::query_as("SELECT count(*) FROM create_requests WHERE method = 'CreateActor'")
                    .fetch_one(&mut connection)
                    .await
                    .expect("count the request ids");
            connection.close().await.expect("close the SQLite file");
            (actors, records)
        }
        Backend::Postgres => {
            let count = |sql: String| async move {
                database.postgres_strings(&sql).await[0]
                    .parse::<i64>()
                    .expect("a count")
            };
            (
                count(format!("SELECT count(*)::text FROM {place}.actors")).await,
                count(format!(
                    "SELECT count(*)::text FROM {place}.create_requests WHERE method = 'CreateActor'"
                ))
                .await,
            )
        }
    }
}

/// What one run saw, for the summary line.
#[derive(Debug, Default)]
struct RunReport {
    acknowledged: usize,
    committed_unacknowledged: usize,
    failures: BTreeMap<String, usize>,
    elapsed: Duration,
}

/// One run: start, fire [`CREATES`] creates, SIGKILL after `kill_after` acknowledgements (and
/// `delay`), check the dead process's storage, restart, check, retry, check again.
async fn crash_run(
    database: &TestDatabase,
    logs: &Path,
    run: usize,
    kill_after: usize,
    delay: Duration,
) -> RunReport {
    let started = Instant::now();
    // Each run in a place of its own: a file on SQLite, a schema on PostgreSQL.
    let place = format!("actors_crash{run}");
    let url = database.url(&place);
    let mut service = start_actors(&url, &logs.join(format!("run{run}-crashed"))).await;
    let channels = connections(&service, CONNECTIONS).await;

    let acknowledged: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let failures: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let acks = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(tokio::sync::Notify::new());
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..CREATES {
        let mut client = ActorServiceClient::new(channels[i % CONNECTIONS].clone());
        let (acknowledged, failures, acks, progress) = (
            acknowledged.clone(),
            failures.clone(),
            acks.clone(),
            progress.clone(),
        );
        tasks.spawn(async move {
            match client.create_actor(create_request(run, i)).await {
                Ok(response) => {
                    let actor = response.into_inner();
                    assert_eq!(actor.display_name, display_name(run, i));
                    acknowledged.lock().unwrap().insert(i, actor.name);
                    acks.fetch_add(1, Ordering::SeqCst);
                }
                Err(status) => {
                    *failures
                        .lock()
                        .unwrap()
                        .entry(format!("{:?}", status.code()))
                        .or_default() += 1;
                }
            }
            progress.notify_one();
        });
    }

    // SIGKILL once `kill_after` creates are acknowledged (or all have ended), then `delay`.
    let wait_for_acks = async {
        while acks.load(Ordering::SeqCst) < kill_after && !tasks.is_empty() {
            let notified = progress.notified();
            if acks.load(Ordering::SeqCst) >= kill_after {
                break;
            }
            tokio::select! {
                () = notified => {}
                Some(joined) = tasks.join_next() => joined.expect("a create task"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait_for_acks)
        .await
        .unwrap_or_else(|_| panic!("run {run}: {kill_after} acknowledgements within 60s"));
    tokio::time::sleep(delay).await;
    service.kill();
    let acks_at_kill = acks.load(Ordering::SeqCst);

    // Every create ends (an answer, or an error once the connection is gone).
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(joined) = tasks.join_next().await {
            joined.expect("a create task");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("run {run}: creates still pending 30s after the kill"));
    drop(channels);
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    let failures = std::mem::take(&mut *failures.lock().unwrap());
    assert_eq!(
        acknowledged.len() + failures.values().sum::<usize>(),
        CREATES
    );
    assert!(acknowledged.len() >= acks_at_kill.min(kill_after));
    for code in failures.keys() {
        assert!(
            [
                Code::Unavailable,
                Code::Unknown,
                Code::Internal,
                Code::Cancelled
            ]
            .iter()
            .any(|c| format!("{c:?}") == *code),
            "run {run}: a create failed with {code} (only lost connections are expected): {failures:?}"
        );
    }

    // The dead process's storage: intact, and each create whole or absent.
    let (stored, records) = storage_counts(database, &place).await;
    assert_eq!(
        stored, records,
        "run {run}: actors and request-id records differ after the crash"
    );
    assert!(
        stored as usize >= acknowledged.len(),
        "run {run}: {} acknowledged, only {stored} stored",
        acknowledged.len()
    );

    // Restart on the same database.
    let service = start_actors(&url, &logs.join(format!("run{run}-restarted"))).await;
    let channels = connections(&service, 2).await;
    let before = actors_by_create(&channels[0], run).await;
    assert_eq!(
        before.values().map(Vec::len).sum::<usize>() as i64,
        stored,
        "run {run}: the restarted service lists what the storage holds"
    );
    for (i, names) in &before {
        assert_eq!(
            names.len(),
            1,
            "run {run}: create {i} stored twice: {names:?}"
        );
    }
    for (i, name) in &acknowledged {
        assert_eq!(
            before.get(i),
            Some(&vec![name.clone()]),
            "run {run}: acknowledged create {i} ({name}) lost after the crash"
        );
    }

    // Retry every unacknowledged create, a few at a time, and re-send every tenth
    // acknowledged one: each answers OK with the stored actor.
    let mut resend: Vec<usize> = (0..CREATES)
        .filter(|i| !acknowledged.contains_key(i))
        .collect();
    let retried = resend.len();
    resend.extend(acknowledged.keys().copied().filter(|i| i % 10 == 0));
    let permits = Arc::new(tokio::sync::Semaphore::new(32));
    let mut retries = tokio::task::JoinSet::new();
    for (n, i) in resend.into_iter().enumerate() {
        let mut client = ActorServiceClient::new(channels[n % channels.len()].clone());
        let permits = permits.clone();
        retries.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("a permit");
            let answer = client
                .create_actor(create_request(run, i))
                .await
                .unwrap_or_else(|status| panic!("run {run}: retry of create {i}: {status:?}"));
            (i, answer.into_inner().name)
        });
    }
    let mut answers = HashMap::new();
    while let Some(joined) = retries.join_next().await {
        let (i, name) = joined.expect("a retry task");
        answers.insert(i, name);
    }
    let mut committed_unacknowledged = 0;
    for (i, name) in &answers {
        if let Some(acknowledged) = acknowledged.get(i) {
            assert_eq!(name, acknowledged, "run {run}: a replay of create {i}");
        }
        if let Some(stored) = before.get(i) {
            committed_unacknowledged += usize::from(!acknowledged.contains_key(i));
            assert_eq!(
                stored,
                &vec![name.clone()],
                "run {run}: create {i}, stored before its retry, came back as another actor"
            );
        }
    }

    // Exactly one actor per create, under the name its create answered with.
    let after = actors_by_create(&channels[0], run).await;
    assert_eq!(after.len(), CREATES, "run {run}: every create is present");
    for i in 0..CREATES {
        let expected = acknowledged.get(&i).or_else(|| answers.get(&i));
        assert_eq!(
            after.get(&i).map(Vec::as_slice),
            expected.map(std::slice::from_ref),
            "run {run}: create {i}"
        );
    }
    drop(channels);
    drop(service);

    // The file is still intact after the second process (killed as well, when dropped).
    let (stored, records) = storage_counts(database, &place).await;
    assert_eq!((stored, records), (CREATES as i64, CREATES as i64));

    let report = RunReport {
        acknowledged: acknowledged.len(),
        committed_unacknowledged,
        failures,
        elapsed: started.elapsed(),
    };
    assert_eq!(
        retried,
        CREATES - report.acknowledged,
        "run {run}: every unacknowledged create was retried"
    );
    report
}

/// The kill points of `runs` runs: after `k` acknowledgements, `k` spread evenly from 0 to
/// `CREATES - 1`, each with a delay of up to 20 ms.
fn kill_points(runs: usize, jitter: &mut Jitter) -> Vec<(usize, Duration)> {
    (0..runs)
        .map(|run| {
            let k = if runs == 1 {
                CREATES / 2
            } else {
                run * (CREATES - 1) / (runs - 1)
            };
            (k, Duration::from_millis(jitter.next(20)))
        })
        .collect()
}

async fn crash_and_restart(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let logs = TempDir::new("crash-logs").expect("a temporary directory");
    let seed = chancery_runtime::time::now_micros() as u64 | 1;
    let mut jitter = Jitter(seed);
    let runs = runs();
    let started = Instant::now();
    for (run, (kill_after, delay)) in kill_points(runs, &mut jitter).into_iter().enumerate() {
        let report = crash_run(&database, logs.path(), run, kill_after, delay).await;
        eprintln!(
            "{backend:?} run {run}: killed after {kill_after} acks + {delay:?}: {} acknowledged, \
             {} committed but unacknowledged, failures {:?}, {:.1?}",
            report.acknowledged, report.committed_unacknowledged, report.failures, report.elapsed
        );
    }
    eprintln!(
        "{backend:?}: {runs} crash runs (seed {seed}) in {:.1?}",
        started.elapsed()
    );
}

/// SQLite: [`DEFAULT_RUNS`] (or `CHANCERY_CRASH_RUNS`) crashes during 1,000 concurrent creates;
/// no acknowledged create lost, none duplicated, every retry answered, the file intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_during_concurrent_creates_loses_and_duplicates_nothing() {
    crash_and_restart(Backend::Sqlite).await;
}

/// PostgreSQL: as on SQLite, each run in a schema of its own test database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_during_concurrent_creates_loses_and_duplicates_nothing() {
    if postgres_available("postgres_kill_during_concurrent_creates_loses_and_duplicates_nothing") {
        crash_and_restart(Backend::Postgres).await;
    }
}

#[test]
fn kill_points_cover_the_whole_range() {
    let points = kill_points(DEFAULT_RUNS, &mut Jitter(7));
    assert_eq!(points.len(), DEFAULT_RUNS);
    assert_eq!(points[0].0, 0);
    assert_eq!(points[DEFAULT_RUNS - 1].0, CREATES - 1);
    assert!(points.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        points
            .iter()
            .all(|(_, delay)| *delay < Duration::from_millis(20))
    );
    assert_eq!(create_number(3, &display_name(3, 417)), Some(417));
    assert_eq!(create_number(3, &display_name(4, 417)), None);
}
