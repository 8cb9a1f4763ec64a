//! The database goes away and comes back (PostgreSQL only: an embedded SQLite file has no server
//! to lose). A testkit [`Proxy`] sits between the service and PostgreSQL; the test cuts it
//! (connections closed, new ones refused) or blackholes it (connections hang), then restores it.
//!
//! While the database is away: readiness (the service's own health name) turns NOT_SERVING
//! within a few seconds, liveness (`""`) stays SERVING, and reads and writes fail UNAVAILABLE
//! well within their deadline (neither INTERNAL nor hanging). Once it is back, readiness turns
//! SERVING by itself, the data written before is intact, new writes work, and the writes refused
//! during the outage were not stored.

use std::time::{Duration, Instant};

use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;
use chancery_proto::actors::v1::{Actor, ActorKind, CreateActorRequest, GetActorRequest};
use chancery_proto::gateway::v1::episode_service_client::EpisodeServiceClient;
use chancery_proto::gateway::v1::{CreateEpisodeRequest, Episode, GetEpisodeRequest};
use chancery_testkit::proxy::{Proxy, upstream_of};
use chancery_testkit::{
    Backend, Options, Service, TestDatabase, TestServer, error_reason, postgres_available,
    spawn_with,
};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

/// The deadline every RPC of these tests is sent with.
const DEADLINE: Duration = Duration::from_secs(6);
/// How long readiness may take to follow the database (probes run every 2 s, each waiting at
/// most 1 s), with room for a busy machine.
const READINESS_WITHIN: Duration = Duration::from_secs(10);

/// `service` on a fresh PostgreSQL database reached through a proxy.
async fn behind_proxy(service: Service) -> (TestServer, Proxy, std::sync::Arc<TestDatabase>) {
    let database = TestDatabase::create(Backend::Postgres).await;
    let url = database.url(service.name());
    let proxy = Proxy::start(upstream_of(&url, 5432).await).await;
    let server = spawn_with(
        service,
        Options {
            database_url: Some(proxy.url(&url)),
            ..Options::default()
        },
    )
    .await;
    (server, proxy, database)
}

async fn health(channel: &Channel, name: &str) -> ServingStatus {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let response = client
        .check(HealthCheckRequest {
            service: name.into(),
        })
        .await
        .unwrap_or_else(|status| panic!("health of {name:?}: {status:?}"));
    ServingStatus::try_from(response.into_inner().status).expect("a known status")
}

/// Waits until the health of `name` is `wanted`, at most [`READINESS_WITHIN`]; how long it took.
async fn wait_health(channel: &Channel, name: &str, wanted: ServingStatus) -> Duration {
    let start = Instant::now();
    loop {
        let status = health(channel, name).await;
        if status == wanted {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < READINESS_WITHIN,
            "health of {name:?} still {status:?} after {READINESS_WITHIN:?}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn with_deadline<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(DEADLINE);
    request
}

fn person(display_name: &str) -> Actor {
    Actor {
        kind: ActorKind::Person as i32,
        display_name: display_name.into(),
        ..Default::default()
    }
}

async fn create(client: &mut ActorServiceClient<Channel>, id: &str) -> Result<Actor, Status> {
    client
        .create_actor(with_deadline(CreateActorRequest {
            actor: Some(person(id)),
            actor_id: id.into(),
            request_id: String::new(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn get(client: &mut ActorServiceClient<Channel>, id: &str) -> Result<Actor, Status> {
    client
        .get_actor(with_deadline(GetActorRequest {
            name: format!("actors/{id}"),
        }))
        .await
        .map(tonic::Response::into_inner)
}

/// Runs `rpc` and checks it fails UNAVAILABLE (reason DEPENDENCY_UNAVAILABLE, "the database")
/// well within [`DEADLINE`].
async fn assert_unavailable_in_time<T: std::fmt::Debug>(
    what: &str,
    rpc: impl std::future::Future<Output = Result<T, Status>>,
) {
    let start = Instant::now();
    let outcome = rpc.await;
    let elapsed = start.elapsed();
    let status = outcome.expect_err(&format!("{what} fails while the database is away"));
    assert_eq!(
        status.code(),
        Code::Unavailable,
        "{what}: UNAVAILABLE, not {status:?}"
    );
    assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE", "{what}");
    assert!(
        status.message().contains("the database"),
        "{what}: {status:?}"
    );
    assert!(
        elapsed < DEADLINE - Duration::from_secs(1),
        "{what} failed fast, not at its deadline: {elapsed:?}"
    );
}

/// The outage scenario on the actors service; `blackhole` chooses hanging connections over
/// refused ones.
async fn actors_outage(blackhole: bool) {
    let (server, proxy, _database) = behind_proxy(Service::Actors).await;
    let service = chancery_actors::SERVICE_NAME;
    let mut client = server.actors();
    assert_eq!(
        health(&server.channel, service).await,
        ServingStatus::Serving
    );
    let before = create(&mut client, "before-outage").await.expect("create");

    if blackhole {
        proxy.blackhole();
    } else {
        proxy.cut();
    }
    let took = wait_health(&server.channel, service, ServingStatus::NotServing).await;
    eprintln!("readiness NOT_SERVING {took:?} after the database went away");
    assert_eq!(
        health(&server.channel, "").await,
        ServingStatus::Serving,
        "liveness stays SERVING: the process is fine"
    );
    assert_unavailable_in_time("GetActor", get(&mut client, "before-outage")).await;
    assert_unavailable_in_time("CreateActor", create(&mut client, "during-outage")).await;
    assert_eq!(
        health(&server.channel, service).await,
        ServingStatus::NotServing,
        "still not ready while the database is away"
    );

    proxy.restore();
    let took = wait_health(&server.channel, service, ServingStatus::Serving).await;
    eprintln!("readiness SERVING {took:?} after the database came back");
    assert_eq!(
        get(&mut client, "before-outage").await.expect("read back"),
        before,
        "the data written before the outage is intact"
    );
    create(&mut client, "after-outage")
        .await
        .expect("writes work again");
    assert_eq!(
        get(&mut client, "during-outage")
            .await
            .expect_err("the refused write was not stored")
            .code(),
        Code::NotFound
    );
    assert_eq!(health(&server.channel, "").await, ServingStatus::Serving);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_database_makes_actors_unready_and_unavailable_then_it_recovers_by_itself() {
    if !postgres_available("a_refused_database_makes_actors_unready_and_unavailable") {
        return;
    }
    actors_outage(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_database_fails_rpcs_within_their_deadline_then_it_recovers_by_itself() {
    if !postgres_available("a_blackholed_database_fails_rpcs_within_their_deadline") {
        return;
    }
    actors_outage(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_follows_its_episode_store_the_same_way() {
    if !postgres_available("the_gateway_follows_its_episode_store_the_same_way") {
        return;
    }
    let (server, proxy, _database) = behind_proxy(Service::Gateway).await;
    let service = chancery_gateway::SERVICE_NAME;
    let mut client = EpisodeServiceClient::new(server.channel.clone());
    // An episode with no members needs no backend.
    let episode = client
        .create_episode(with_deadline(CreateEpisodeRequest {
            episode: Some(Episode {
                title: "Outage".into(),
                ..Default::default()
            }),
            episode_id: "outage".into(),
            ..Default::default()
        }))
        .await
        .expect("create the episode")
        .into_inner();

    proxy.cut();
    wait_health(&server.channel, service, ServingStatus::NotServing).await;
    assert_eq!(health(&server.channel, "").await, ServingStatus::Serving);
    let get_episode = || {
        let mut client = client.clone();
        async move {
            client
                .get_episode(with_deadline(GetEpisodeRequest {
                    name: "episodes/outage".into(),
                }))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    assert_unavailable_in_time("GetEpisode", get_episode()).await;

    proxy.restore();
    wait_health(&server.channel, service, ServingStatus::Serving).await;
    assert_eq!(get_episode().await.expect("read back"), episode);
}
