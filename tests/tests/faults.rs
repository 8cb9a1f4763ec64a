//! Faults a running service must take calmly, on the real binaries: SIGTERM under load (every
//! in-flight RPC completes, later ones are refused UNAVAILABLE at once, and the process exits 0
//! within `CHANCERY_SHUTDOWN_DELAY` + `CHANCERY_DRAIN_TIMEOUT` even while idle, silent or stuck
//! connections are open), and overload (beyond `CHANCERY_MAX_CONCURRENT_REQUESTS` requests are
//! shed at once with RESOURCE_EXHAUSTED while the accepted ones keep their latency).
//!
//! Slow RPCs come from the gateway's `GetEpisodeView` over the testkit's fake backends (in this
//! test process) answering after a fixed delay: a view makes two rounds of backend calls, so it
//! takes twice the delay.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{Actor, ActorKind, CreateActorRequest, ListActorsRequest};
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::gateway::v1::{CreateEpisodeRequest, Episode, GetEpisodeViewRequest};
use chancery_testkit::fakes::{Behaviour, FakeBackends, spawn_fakes};
use chancery_testkit::{TempDir, error_reason};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

mod support;

use support::http2;
use support::process::{Service, free_port, scrape_metrics};

const EPISODE: &str = "episodes/faults";
const VIEW_PATH: &str = "/chancery.gateway.v1.EpisodeService/GetEpisodeView";

/// A new HTTP/2 connection to `addr`.
async fn connect(addr: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
}

/// Starts the gateway binary over `fakes`, with `env` on top, and waits until it serves.
async fn start_gateway(fakes: &FakeBackends, dir: &Path, env: &[(&str, String)]) -> Service {
    let mut environment = vec![
        (
            "CHANCERY_ACTORS_ADDR",
            format!("http://{}", fakes.actors.addr),
        ),
        (
            "CHANCERY_COMMUNICATIONS_ADDR",
            format!("http://{}", fakes.communications.addr),
        ),
        (
            "CHANCERY_STATEMENTS_ADDR",
            format!("http://{}", fakes.statements.addr),
        ),
    ];
    environment.extend(env.iter().cloned());
    let mut gateway = Service::start("chancery-gateway", dir, &environment);
    gateway.wait_serving().await;
    gateway
}

/// Creates [`EPISODE`] (three communications, six statements) while the fakes answer at once.
async fn create_episode(channel: &Channel) {
    EpisodeServiceClient::new(channel.clone())
        .create_episode(CreateEpisodeRequest {
            episode: Some(Episode {
                title: "Faults".into(),
                communications: (0..3).map(|i| format!("communications/f-{i}")).collect(),
                statements: (0..6).map(|i| format!("statements/f-{i}")).collect(),
                actors_of_interest: vec!["actors/of-interest".into()],
                ..Default::default()
            }),
            episode_id: "faults".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_or_else(|status| panic!("CreateEpisode: {status:?}"));
}

fn slow_backends(fakes: &FakeBackends, delay: Duration) {
    for fake in [&fakes.actors, &fakes.communications, &fakes.statements] {
        fake.control.set_behaviour(Behaviour::Delay(delay));
    }
}

/// One `GetEpisodeView` of [`EPISODE`]: its outcome (the view must be whole) and latency.
async fn view(channel: Channel) -> (Result<(), tonic::Status>, Duration, Instant) {
    let started = Instant::now();
    let outcome = EpisodeServiceClient::new(channel)
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .map(|response| {
            let view = response.into_inner();
            assert!(view.unreachable.is_empty(), "a whole view: {view:?}");
            assert!(!view.timeline.is_empty(), "a whole view: {view:?}");
        });
    (outcome, started.elapsed(), Instant::now())
}

async fn health(channel: &Channel) -> Result<i32, tonic::Status> {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|response| response.into_inner().status)
}

/// The value of the metric series `series` (name and labels, as printed), if present.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.trim().parse().ok())
    })
}

/// Opens a connection that starts a `GetEpisodeView` and never finishes sending it: the
/// connection preface, an empty SETTINGS frame and a HEADERS frame without END_STREAM, written
/// by hand. The server has a stream in flight that only the drain timeout can end.
async fn stuck_stream(addr: SocketAddr) -> TcpStream {
    let mut bytes = http2::PREFACE.to_vec();
    bytes.extend(http2::frame(http2::SETTINGS, 0, 0, &[]));
    bytes.extend(http2::frame(
        http2::HEADERS,
        http2::END_HEADERS,
        1,
        &http2::grpc_request_headers(VIEW_PATH),
    ));
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(&bytes)
        .await
        .expect("send the stuck request");
    stream
}

/// Polls `condition` every 20 ms for up to `limit`.
async fn eventually(limit: Duration, what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM while slow views are in flight and an idle, a silent (no preface) and a stuck
/// connection (a request whose body never comes) are open: health turns NOT_SERVING at once;
/// every view in flight completes OK and whole; after the shutdown delay new RPCs are refused
/// UNAVAILABLE at once, on a new connection and on the idle one; the stuck stream holds the
/// drain until its timeout, and the process then exits 0, within delay + drain timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_completes_in_flight_views_refuses_new_ones_and_exits_in_time() {
    const DELAY: Duration = Duration::from_secs(1);
    const DRAIN: Duration = Duration::from_secs(3);
    const BACKEND_DELAY: Duration = Duration::from_millis(600);
    const VIEWS: usize = 8;

    let data = TempDir::new("faults-sigterm").expect("a temporary directory");
    let fakes = spawn_fakes().await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut gateway = start_gateway(
        &fakes,
        data.path(),
        &[
            ("CHANCERY_SHUTDOWN_DELAY", "1s".to_owned()),
            ("CHANCERY_DRAIN_TIMEOUT", "3s".to_owned()),
            ("CHANCERY_METRICS_LISTEN", metrics.to_string()),
        ],
    )
    .await;
    let busy = connect(gateway.addr).await.expect("connect");
    create_episode(&busy).await;
    let idle = connect(gateway.addr).await.expect("connect");
    assert_eq!(
        health(&idle).await.expect("health"),
        ServingStatus::Serving as i32
    );
    let _silent = TcpStream::connect(gateway.addr).await.expect("connect");
    let _stuck = stuck_stream(gateway.addr).await;
    let in_flight = "chancery_rpc_in_flight{service=\"gateway\"}";
    eventually(
        Duration::from_secs(5),
        "the stuck stream in flight",
        async || metric(&scrape_metrics(metrics).await, in_flight) == Some(1.0),
    )
    .await;

    slow_backends(&fakes, BACKEND_DELAY);
    fakes.reset_calls();
    let views: Vec<_> = (0..VIEWS)
        .map(|_| tokio::spawn(view(busy.clone())))
        .collect();
    eventually(Duration::from_secs(5), "every view in flight", async || {
        fakes.communications.control.calls("BatchGetCommunications") == VIEWS
    })
    .await;

    let terminated = Instant::now();
    gateway.terminate();
    eventually(Duration::from_millis(800), "NOT_SERVING", async || {
        health(&busy).await.ok() == Some(ServingStatus::NotServing as i32)
    })
    .await;

    // After the delay the listener is closed: new RPCs fail UNAVAILABLE, without waiting.
    tokio::time::sleep_until((terminated + DELAY + Duration::from_millis(300)).into()).await;
    let started = Instant::now();
    match connect(gateway.addr).await {
        Ok(channel) => {
            let (outcome, _, _) = view(channel).await;
            let status = outcome.expect_err("a new connection after the delay is refused");
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        }
        Err(error) => {
            let status = tonic::Status::from_error(Box::new(error));
            assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        }
    }
    let (outcome, _, _) = view(idle.clone()).await;
    let status = outcome.expect_err("the idle connection is closed");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not after {:?}",
        started.elapsed()
    );

    // Every view that was in flight completes, whole.
    for task in views {
        let (outcome, latency, finished) = task.await.expect("a view task");
        outcome.unwrap_or_else(|status| panic!("a view in flight at SIGTERM: {status:?}"));
        assert!(
            finished > terminated,
            "the view was in flight at SIGTERM ({latency:?})"
        );
    }

    // The stuck stream keeps the drain waiting until its timeout; then the process exits 0.
    let limit = DELAY + DRAIN + Duration::from_millis(1500);
    let (status, _) = gateway.wait_exit(limit).await.unwrap_or_else(|| {
        panic!(
            "still running {limit:?} after SIGTERM:\n{}",
            gateway.output()
        )
    });
    let took = terminated.elapsed();
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        gateway.output()
    );
    assert!(
        took >= DELAY + DRAIN,
        "exited after {took:?}, before the stuck stream's drain timeout"
    );
    assert!(
        gateway.output().contains("drain timed out"),
        "{}",
        gateway.output()
    );
}

/// Starts the actors binary (drain timeout 20 s), opens the connections `open` makes, sends
/// SIGTERM and asserts the process exits 0 within 5 s, logging that the drain finished.
async fn exits_without_waiting_for_the_drain_timeout<C>(
    label: &str,
    open: impl AsyncFnOnce(SocketAddr) -> C,
) {
    let data = TempDir::new(label).expect("a temporary directory");
    let mut actors = Service::start(
        "chancery-actors",
        data.path(),
        &[
            ("CHANCERY_DRAIN_TIMEOUT", "20s".to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ],
    );
    actors.wait_serving().await;
    let _connections = open(actors.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    actors.terminate();
    let (status, took) = actors
        .wait_exit(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| {
            panic!(
                "{label}: still running 5s after SIGTERM:\n{}",
                actors.output()
            )
        });
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        actors.output()
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    let log = actors.output();
    assert!(log.contains("drain finished"), "{log}");
    assert!(!log.contains("drain timed out"), "{log}");
}

/// SIGTERM with an idle connection open (its RPC answered, the connection kept): the drain does
/// not wait for it; the process exits 0 long before its drain timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_an_idle_connection_exits_without_waiting_for_the_drain_timeout() {
    exits_without_waiting_for_the_drain_timeout("faults-idle", async |addr| {
        let idle = connect(addr).await.expect("connect");
        assert_eq!(
            health(&idle).await.expect("health"),
            ServingStatus::Serving as i32
        );
        idle
    })
    .await;
}

/// SIGTERM with a silent connection open (TCP connected, not even the HTTP/2 preface sent): it
/// has no request in flight, so the drain does not wait for it either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_silent_connection_exits_without_waiting_for_the_drain_timeout() {
    exits_without_waiting_for_the_drain_timeout("faults-silent", async |addr| {
        TcpStream::connect(addr).await.expect("connect")
    })
    .await;
}

/// SIGTERM during 1,000 concurrent creates (8 connections), and 100 more sent on those
/// connections once the shutdown has started: every create ends (none hangs) either OK or
/// refused before it ran — UNAVAILABLE (a refused stream, or no connection), or CANCELLED (the
/// tonic client's code for a call still queued on a connection the server has sent GOAWAY on)
/// — never INTERNAL or UNKNOWN; the process exits 0. After a restart exactly the OK creates are
/// there (a refused create changed nothing), once each; retrying the refused ones with their
/// request ids makes exactly 1,100 actors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_concurrent_creates_keeps_every_acknowledged_one() {
    const CREATES: usize = 1_000;
    const LATE: usize = 100;
    let data = TempDir::new("faults-creates").expect("a temporary directory");
    let env = [
        ("CHANCERY_MAX_CONCURRENT_REQUESTS", "4096".to_owned()),
        ("CHANCERY_DRAIN_TIMEOUT", "20s".to_owned()),
    ];
    let mut actors = Service::start("chancery-actors", data.path(), &env);
    actors.wait_serving().await;
    let mut channels = Vec::new();
    for _ in 0..8 {
        channels.push(connect(actors.addr).await.expect("connect"));
    }
    let request = |i: usize| CreateActorRequest {
        actor: Some(Actor {
            kind: ActorKind::Person as i32,
            display_name: format!("term-{i}"),
            ..Default::default()
        }),
        actor_id: String::new(),
        request_id: format!("term-{i}"),
    };
    let acks = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CREATES)
        .map(|i| {
            let mut client = ActorServiceClient::new(channels[i % channels.len()].clone());
            let acks = acks.clone();
            let request = request(i);
            tokio::spawn(async move {
                let outcome = client.create_actor(request).await;
                if outcome.is_ok() {
                    acks.fetch_add(1, Ordering::SeqCst);
                }
                outcome.map(|response| response.into_inner().name)
            })
        })
        .collect();
    eventually(
        Duration::from_secs(30),
        "200 creates acknowledged",
        async || acks.load(Ordering::SeqCst) >= 200,
    )
    .await;
    actors.terminate();
    let terminated = Instant::now();
    // Creates sent once the shutdown has started, on the connections still draining.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let late: Vec<_> = (CREATES..CREATES + LATE)
        .map(|i| {
            let mut client = ActorServiceClient::new(channels[i % channels.len()].clone());
            let request = request(i);
            tokio::spawn(async move {
                client
                    .create_actor(request)
                    .await
                    .map(|response| response.into_inner().name)
            })
        })
        .collect();
    let tasks: Vec<_> = tasks.into_iter().chain(late).collect();

    let mut acknowledged = BTreeMap::new();
    let mut refused = Vec::new();
    let mut codes = BTreeMap::<String, usize>::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("every create ends")
            .expect("a create task")
        {
            Ok(name) => {
                acknowledged.insert(i, name);
            }
            Err(status) => {
                *codes.entry(format!("{:?}", status.code())).or_default() += 1;
                refused.push(i);
            }
        }
    }
    eprintln!("{} acknowledged, refused {codes:?}", acknowledged.len());
    assert!(
        codes
            .keys()
            .all(|code| code == "Unavailable" || code == "Cancelled"),
        "creates after SIGTERM are refused UNAVAILABLE or CANCELLED, nothing else: {codes:?}"
    );
    assert!(acknowledged.len() >= 200);
    let (status, _) = actors
        .wait_exit(Duration::from_secs(25))
        .await
        .unwrap_or_else(|| panic!("still running after SIGTERM:\n{}", actors.output()));
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        actors.output()
    );
    eprintln!("exited {:?} after SIGTERM", terminated.elapsed());
    assert!(
        !actors.output().contains("drain timed out"),
        "every create had ended, nothing to wait for:\n{}",
        actors.output()
    );
    drop(channels);

    let mut actors = Service::start("chancery-actors", data.path(), &env);
    actors.wait_serving().await;
    let channel = connect(actors.addr).await.expect("connect");
    let mut client = ActorServiceClient::new(channel);
    let before = list_by_display_name(&mut client).await;
    let expected: BTreeMap<String, Vec<String>> = acknowledged
        .iter()
        .map(|(i, name)| (format!("term-{i}"), vec![name.clone()]))
        .collect();
    assert_eq!(
        before, expected,
        "after the restart: exactly the acknowledged creates, once each"
    );
    for i in refused {
        let name = client
            .create_actor(request(i))
            .await
            .unwrap_or_else(|status| panic!("retry of create {i}: {status:?}"))
            .into_inner()
            .name;
        acknowledged.insert(i, name);
    }
    let after = list_by_display_name(&mut client).await;
    assert_eq!(after.len(), CREATES + LATE);
    for (i, name) in &acknowledged {
        assert_eq!(
            after.get(&format!("term-{i}")),
            Some(&vec![name.clone()]),
            "create {i}"
        );
    }
}

/// Every actor's name, by display name.
async fn list_by_display_name(
    client: &mut ActorServiceClient<Channel>,
) -> BTreeMap<String, Vec<String>> {
    let mut listed = BTreeMap::<String, Vec<String>>::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_actors(ListActorsRequest {
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .expect("ListActors")
            .into_inner();
        for actor in page.actors {
            listed
                .entry(actor.display_name)
                .or_default()
                .push(actor.name);
        }
        if page.next_page_token.is_empty() {
            return listed;
        }
        page_token = page.next_page_token;
    }
}

/// Overload: with `CHANCERY_MAX_CONCURRENT_REQUESTS=4`, 100 slow views at once. The ones beyond
/// the limit are refused RESOURCE_EXHAUSTED (reason OVERLOADED) in well under the handler's
/// time; the accepted ones take less than twice what one view takes alone (no queueing); the
/// process stays healthy and counts every refusal in `chancery_rpc_shed_total`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_limit_requests_are_shed_at_once_and_accepted_ones_keep_their_latency() {
    const BACKEND_DELAY: Duration = Duration::from_millis(400);
    const LIMIT: usize = 4;
    const BURST: usize = 100;

    let data = TempDir::new("faults-overload").expect("a temporary directory");
    let fakes = spawn_fakes().await;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let gateway = start_gateway(
        &fakes,
        data.path(),
        &[
            ("CHANCERY_MAX_CONCURRENT_REQUESTS", LIMIT.to_string()),
            ("CHANCERY_METRICS_LISTEN", metrics.to_string()),
        ],
    )
    .await;
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(connect(gateway.addr).await.expect("connect"));
    }
    create_episode(&channels[0]).await;
    slow_backends(&fakes, BACKEND_DELAY);

    // One view alone: the handler's time.
    let (outcome, alone, _) = view(channels[0].clone()).await;
    outcome.expect("a view alone");
    assert!(
        alone >= 2 * BACKEND_DELAY,
        "two rounds of slow calls: {alone:?}"
    );

    let views: Vec<_> = (0..BURST)
        .map(|i| tokio::spawn(view(channels[i % channels.len()].clone())))
        .collect();
    let mut accepted = Vec::new();
    let mut shed = Vec::new();
    for task in views {
        let (outcome, latency, _) = task.await.expect("a view task");
        match outcome {
            Ok(()) => accepted.push(latency),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert_eq!(error_reason(&status), "OVERLOADED");
                shed.push(latency);
            }
        }
    }
    accepted.sort();
    shed.sort();
    eprintln!(
        "alone {alone:?}; {} accepted {:?}..{:?}; {} shed {:?}..{:?}",
        accepted.len(),
        accepted.first(),
        accepted.last(),
        shed.len(),
        shed.first(),
        shed.last()
    );
    assert!(accepted.len() >= LIMIT, "{} accepted", accepted.len());
    assert!(shed.len() >= BURST / 2, "{} shed", shed.len());
    let slowest_shed = *shed.last().expect("some shed");
    assert!(
        slowest_shed < alone / 2,
        "shed in {slowest_shed:?}, not well before the handler's {alone:?}"
    );
    let slowest_accepted = *accepted.last().expect("some accepted");
    assert!(
        slowest_accepted < alone * 2,
        "an accepted view took {slowest_accepted:?}, alone {alone:?}"
    );

    // Still healthy, still serving, and every refusal counted.
    assert_eq!(
        health(&channels[1]).await.expect("health"),
        ServingStatus::Serving as i32
    );
    view(channels[2].clone())
        .await
        .0
        .expect("a view after the burst");
    let text = scrape_metrics(metrics).await;
    let series = "chancery_rpc_shed_total{service=\"gateway\",method=\"GetEpisodeView\"}";
    assert_eq!(metric(&text, series), Some(shed.len() as f64), "{text}");
}
