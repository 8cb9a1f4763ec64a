//! Measures the admission layer's overload claim: beyond the gateway's concurrent request limit,
//! requests are shed fast with RESOURCE_EXHAUSTED while the accepted ones keep their latency.
//!
//! The four services run in this process on loopback (real tonic servers and clients over TCP,
//! SQLite files), the gateway with a small `max_concurrent_requests` (the
//! `CHANCERY_MAX_CONCURRENT_REQUESTS` setting; the three data services keep the default). The
//! demo episode is imported, then `GetEpisodeView` is called by 1×, 4× and 8× LIMIT client tasks
//! for SECONDS each (after one untimed second at 1× to warm up). Each measurement reports
//! accepted calls per second with their p50/p99, and the shed answers (RESOURCE_EXHAUSTED) with
//! their count, rate and p50/p99, then the ratios of accepted p99 under overload to accepted p99
//! at the limit. The process's CPU use per measurement (clients and servers together, from
//! `/proc/self/stat`) is printed beside them. Last comes a control: a fresh suite whose gateway
//! keeps the default limit (512), called by as many clients as at 8×, so that nothing is shed
//! and the extra clients queue inside the server — what the limit spares the accepted calls.
//!
//! Load design: closed loop with a fixed back-off after a shed answer. A client whose call is
//! accepted calls again at once; a client whose call is shed waits BACKOFF_MS (default 10 ms,
//! about an accepted view's p99 on a 2-core machine) before trying again. So the excess clients
//! together knock on a full server several times per accepted call's lifetime — the offered
//! load stays well above what the limit admits, and a permit freed between two calls of its
//! holder can be taken by any waiting client — without turning the measurement into a busy loop
//! that only measures the shed path. The server's own hint (RetryInfo, 100 ms) is deliberately
//! not honoured: a client following it would leave the server barely over its limit. Latencies
//! are measured per call (send to answer); the back-off is not counted in any latency. Any other
//! answer (an error other than RESOURCE_EXHAUSTED, or a view with `unreachable` parts) is
//! counted and printed, never hidden.
//!
//! Run with `cargo bench -p chancery-tests --bench overload` (optionally
//! `-- SECONDS LIMIT BACKOFF_MS`, default 5, 4 and 10). It prints one line per measurement and
//! the ratios; BENCHMARKS.md records the figures with the machine and the date.

use std::time::{Duration, Instant};

use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::gateway::v1::{GetEpisodeViewRequest, ImportBundleRequest};
use chancery_testkit::seed::{self, EPISODE};
use chancery_testkit::{Backend, Options, Service, Suite, TestDatabase, spawn_suite_with};
use tonic::Code;
use tonic::transport::Channel;

/// What one client task saw.
#[derive(Default)]
struct Tally {
    /// Latencies of OK answers.
    accepted: Vec<Duration>,
    /// Latencies of RESOURCE_EXHAUSTED answers.
    shed: Vec<Duration>,
    /// OK answers whose view lists unreachable parts.
    degraded: u64,
    /// Answers with any other error, and the first of them.
    other: u64,
    first_other: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.accepted.extend(other.accepted);
        self.shed.extend(other.shed);
        self.degraded += other.degraded;
        self.other += other.other;
        if self.first_other.is_none() {
            self.first_other = other.first_other;
        }
    }
}

/// One measurement's figures.
struct Report {
    clients: usize,
    elapsed: f64,
    /// CPU time of the whole process (clients and servers) per second of the measurement.
    cores_busy: Option<f64>,
    tally: Tally,
}

impl Report {
    fn accepted_rate(&self) -> f64 {
        self.tally.accepted.len() as f64 / self.elapsed
    }

    fn shed_rate(&self) -> f64 {
        self.tally.shed.len() as f64 / self.elapsed
    }
}

/// The `p` quantile of sorted `latencies`, or `None` when there are none.
fn percentile(latencies: &[Duration], p: f64) -> Option<Duration> {
    if latencies.is_empty() {
        return None;
    }
    Some(latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)])
}

fn show(latency: Option<Duration>) -> String {
    latency.map_or_else(|| "—".to_owned(), |l| format!("{l:.2?}"))
}

/// Calls `GetEpisodeView` from `clients` tasks for `duration`; a task whose call is shed waits
/// `backoff` before its next call.
/// Starts the suite, the gateway admitting `limit` requests at once (the default when `None`),
/// and imports the demo bundle.
async fn start(limit: Option<usize>) -> (Suite, EpisodeServiceClient<Channel>) {
    let database = TestDatabase::create(Backend::Sqlite).await;
    let suite = spawn_suite_with(database, |service| {
        let mut server = Options::default().server;
        if let (Service::Gateway, Some(limit)) = (service, limit) {
            server.max_concurrent_requests = limit;
        }
        server
    })
    .await;
    let mut gateway = suite.gateway.gateway();
    gateway
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("import the demo");
    (suite, gateway)
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux, where
/// the clock tick is 10 ms); `None` elsewhere.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name: state is field 3, utime field 14, stime field 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

async fn measure(
    gateway: &EpisodeServiceClient<Channel>,
    duration: Duration,
    clients: usize,
    backoff: Duration,
) -> Report {
    let cpu_before = cpu_time();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let mut gateway = gateway.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while started.elapsed() < duration {
                let begun = Instant::now();
                let answer = gateway
                    .get_episode_view(GetEpisodeViewRequest {
                        name: EPISODE.into(),
                        ..Default::default()
                    })
                    .await;
                let latency = begun.elapsed();
                match answer {
                    Ok(view) => {
                        tally.accepted.push(latency);
                        if !view.into_inner().unreachable.is_empty() {
                            tally.degraded += 1;
                        }
                    }
                    Err(status) if status.code() == Code::ResourceExhausted => {
                        tally.shed.push(latency);
                        tokio::time::sleep(backoff).await;
                    }
                    Err(status) => {
                        tally.other += 1;
                        if tally.first_other.is_none() {
                            tally.first_other = Some(format!("{status:?}"));
                        }
                    }
                }
            }
            tally
        }));
    }
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await.expect("client task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cores_busy = cpu_before
        .zip(cpu_time())
        .map(|(before, after)| (after - before).as_secs_f64() / elapsed);
    tally.accepted.sort();
    tally.shed.sort();
    Report {
        clients,
        elapsed,
        cores_busy,
        tally,
    }
}

fn print_report(label: &str, report: &Report) {
    let tally = &report.tally;
    println!(
        "{label:<13} ({:>3} clients)  accepted {:>6.0}/s p50 {:>9} p99 {:>9}   shed {:>7} \
         ({:>6.0}/s) p50 {:>9} p99 {:>9}   cpu {} cores   degraded {}  other errors {}",
        report.clients,
        report.accepted_rate(),
        show(percentile(&tally.accepted, 0.5)),
        show(percentile(&tally.accepted, 0.99)),
        tally.shed.len(),
        report.shed_rate(),
        show(percentile(&tally.shed, 0.5)),
        show(percentile(&tally.shed, 0.99)),
        report
            .cores_busy
            .map_or_else(|| "?".to_owned(), |c| format!("{c:.2}")),
        tally.degraded,
        tally.other,
    );
    if let Some(first) = &tally.first_other {
        println!("    first other error: {first}");
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(5);
    let limit: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    let backoff_ms: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    assert!(limit > 0, "LIMIT must be at least 1");
    let duration = Duration::from_secs(seconds);
    let backoff = Duration::from_millis(backoff_ms);

    let (suite, gateway) = start(Some(limit)).await;
    let view = gateway
        .clone()
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("a view")
        .into_inner();
    assert!(view.unreachable.is_empty());
    println!(
        "demo episode: {} timeline entries, {} actors; gateway limit {limit}; {seconds} s per \
         measurement; back-off after a shed answer {backoff_ms} ms",
        view.timeline.len(),
        view.actors.len()
    );

    measure(&gateway, Duration::from_secs(1), limit, backoff).await;

    let mut reports = Vec::new();
    for multiple in [1, 4, 8] {
        let report = measure(&gateway, duration, multiple * limit, backoff).await;
        print_report(&format!("{multiple}x"), &report);
        reports.push((multiple, report));
    }

    let p99 = |report: &Report| percentile(&report.tally.accepted, 0.99);
    if let Some(base) = p99(&reports[0].1) {
        for (multiple, report) in &reports[1..] {
            match p99(report) {
                Some(p) => println!(
                    "ratio accepted p99 {multiple}x / 1x: {:.2}   accepted calls/s {multiple}x / 1x: {:.2}",
                    p.as_secs_f64() / base.as_secs_f64(),
                    report.accepted_rate() / reports[0].1.accepted_rate(),
                ),
                None => println!("{multiple}x: no call accepted"),
            }
        }
    }
    suite.stop().await;

    // The control: as many clients as at 8x against a fresh suite whose gateway keeps the
    // default limit, which admits them all: they queue inside the server instead of being shed.
    let default_limit = Options::default().server.max_concurrent_requests;
    let (control, gateway) = start(None).await;
    measure(&gateway, Duration::from_secs(1), limit, backoff).await;
    let report = measure(&gateway, duration, 8 * limit, backoff).await;
    print_report(&format!("8x, limit {default_limit}"), &report);
    if let (Some(base), Some(p)) = (p99(&reports[0].1), p99(&report)) {
        println!(
            "ratio accepted p99 8x with limit {default_limit} / 1x with limit {limit}: {:.2}",
            p.as_secs_f64() / base.as_secs_f64()
        );
    }
    control.stop().await;
}
