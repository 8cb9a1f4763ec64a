//! Throughput of `GetEpisodeView` on the demo episode, compared in the same run with a bare
//! one-hop tonic call (`GetActor` on the actors service), both against real servers on loopback.
//!
//! Run with `cargo bench -p chancery-tests --bench view_throughput` (optionally
//! `-- SECONDS CONCURRENCY`, default 5 and 8). It prints one line per measurement and the ratio;
//! BENCHMARKS.md records the figures with the machine and the date.

use std::time::{Duration, Instant};

use chancery_proto::actors::v1::GetActorRequest;
use chancery_proto::gateway::v1::{GetEpisodeViewRequest, ImportBundleRequest};
use chancery_testkit::seed::{self, EPISODE};
use chancery_testkit::spawn_suite;

/// Runs `call` from `concurrency` tasks for `duration`; returns calls per second and the p50
/// and p99 latencies.
async fn measure<F, Fut>(
    duration: Duration,
    concurrency: usize,
    call: F,
) -> (f64, Duration, Duration)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < duration {
                let begun = Instant::now();
                call().await;
                latencies.push(begun.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let percentile =
        |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    (
        latencies.len() as f64 / elapsed,
        percentile(0.5),
        percentile(0.99),
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(8);
    let duration = Duration::from_secs(seconds);

    let suite = spawn_suite().await;
    let mut gateway = suite.gateway.gateway();
    gateway
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("import the demo");
    let view = gateway
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            ..Default::default()
        })
        .await
        .expect("a view")
        .into_inner();
    assert!(view.unreachable.is_empty());
    println!(
        "demo episode: {} timeline entries, {} actors; {seconds} s per measurement, {concurrency} concurrent clients",
        view.timeline.len(),
        view.actors.len()
    );

    let actors = suite.actors.actors();
    let (bare, bare_p50, bare_p99) = measure(duration, concurrency, move || {
        let mut actors = actors.clone();
        async move {
            actors
                .get_actor(GetActorRequest {
                    name: "actors/emmanuel-macron".into(),
                })
                .await
                .expect("GetActor");
        }
    })
    .await;
    println!(
        "GetActor (one hop)        {bare:>9.0} calls/s   p50 {bare_p50:>9.2?}   p99 {bare_p99:>9.2?}"
    );

    let (composed, view_p50, view_p99) = measure(duration, concurrency, move || {
        let mut gateway = gateway.clone();
        async move {
            let view = gateway
                .get_episode_view(GetEpisodeViewRequest {
                    name: EPISODE.into(),
                    ..Default::default()
                })
                .await
                .expect("GetEpisodeView")
                .into_inner();
            assert!(view.unreachable.is_empty(), "{:?}", view.unreachable);
        }
    })
    .await;
    println!(
        "GetEpisodeView (demo)     {composed:>9.0} calls/s   p50 {view_p50:>9.2?}   p99 {view_p99:>9.2?}"
    );
    println!("ratio GetActor / GetEpisodeView: {:.1}", bare / composed);
}
