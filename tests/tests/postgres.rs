//! What only PostgreSQL has to show: replicas migrating one database at the same time, a suite
//! started again on the data it left, and test databases dropped even when a test panics.
//! (The other suites run on PostgreSQL too, through `backend_tests!`.)

use chancery_proto::actors::v1::{Actor, ActorKind, CreateActorRequest, GetActorRequest};
use chancery_proto::gateway::v1::{EpisodeView, GetEpisodeViewRequest, ImportBundleRequest};
use std::time::Duration;

use chancery_testkit::{
    Backend, Options, Service, Suite, TestDatabase, TestServer, open_database, postgres_available,
    seed, spawn_suite_in, spawn_with,
};

/// The number of replicas of each service started at once.
const REPLICAS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once_and_all_serve() {
    if !postgres_available("replicas_starting_together_migrate_once_and_all_serve") {
        return;
    }
    // A fresh database: no schema, no table, no migration history yet.
    let database = TestDatabase::create(Backend::Postgres).await;
    let options = Options {
        database: Some(database.clone()),
        ..Options::default()
    };
    let mut starting = tokio::task::JoinSet::new();
    for _ in 0..REPLICAS {
        for service in [
            Service::Actors,
            Service::Communications,
            Service::Statements,
            Service::Gateway,
        ] {
            let options = options.clone();
            starting.spawn(async move { (service, spawn_with(service, options).await) });
        }
    }
    let replicas: Vec<(Service, TestServer)> = starting.join_all().await;
    assert_eq!(replicas.len(), 4 * REPLICAS);

    // Every migration is recorded once, in the schema of its service.
    for (schema, migrations) in [
        ("actors", 1),
        ("communications", 2),
        ("statements", 2),
        ("gateway", 1),
    ] {
        let applied = database
            .postgres_strings(&format!(
                "SELECT version::text FROM {schema}._sqlx_migrations WHERE success ORDER BY 1"
            ))
            .await;
        assert_eq!(applied.len(), migrations, "{schema}: {applied:?}");
    }

    // A write through one replica is read through every other.
    let actors: Vec<&TestServer> = replicas
        .iter()
        .filter(|(service, _)| *service == Service::Actors)
        .map(|(_, server)| server)
        .collect();
    actors[0]
        .actors()
        .create_actor(CreateActorRequest {
            actor: Some(Actor {
                kind: ActorKind::State as i32,
                display_name: "France".into(),
                country: "FRA".into(),
                ..Default::default()
            }),
            actor_id: "france".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    for replica in &actors {
        let france = replica
            .actors()
            .get_actor(GetActorRequest {
                name: "actors/france".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(france.display_name, "France");
    }
}

async fn demo_view(suite: &Suite) -> EpisodeView {
    suite
        .gateway
        .gateway()
        .get_episode_view(GetEpisodeViewRequest {
            name: seed::EPISODE.into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// A view without the times the servers set (which are stored, so survive a restart anyway).
fn without_timestamps(mut view: EpisodeView) -> EpisodeView {
    if let Some(episode) = view.episode.as_mut() {
        episode.create_time = None;
        episode.update_time = None;
    }
    for involved in &mut view.actors {
        if let Some(actor) = involved.actor.as_mut() {
            actor.create_time = None;
            actor.update_time = None;
        }
    }
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_survives_a_restart_of_every_service() {
    if !postgres_available("the_demo_survives_a_restart_of_every_service") {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    let suite = spawn_suite_in(database.clone()).await;
    let imported = suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.episode.unwrap().name, seed::EPISODE);
    let before = demo_view(&suite).await;
    assert!(before.unreachable.is_empty(), "{:?}", before.unreachable);
    assert_eq!(before.timeline.len(), 15);
    suite.stop().await;

    // Everything stopped; started again on the same database, nothing imported.
    let suite = spawn_suite_in(database.clone()).await;
    let after = demo_view(&suite).await;
    assert_eq!(after, before, "the very same view, stored times included");
    assert_eq!(without_timestamps(after), without_timestamps(before));
    suite.stop().await;
}

#[test]
fn a_test_database_is_dropped_even_when_the_test_panics() {
    if !postgres_available("a_test_database_is_dropped_even_when_the_test_panics") {
        return;
    }
    let (names, panicked) = std::sync::mpsc::channel();
    let test = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let database = TestDatabase::create(Backend::Postgres).await;
                let _suite = spawn_suite_in(database.clone()).await;
                names
                    .send(database.postgres_name().unwrap().to_owned())
                    .unwrap();
                panic!("a failing test");
            })
    });
    assert!(test.join().is_err(), "the test panicked");
    let name = panicked.recv().unwrap();
    let witness = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let remaining = witness.block_on(async {
        let database = TestDatabase::create(Backend::Postgres).await;
        database
            .postgres_strings("SELECT datname::text FROM pg_database")
            .await
    });
    assert!(
        !remaining.contains(&name),
        "{name} still exists: {remaining:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_of_a_service_take_turns_across_replicas_and_other_services_do_not_wait() {
    if !postgres_available("writers_of_a_service_take_turns") {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    // Two replicas of the actors service (two pools), and the gateway, on one database.
    let first = open_database(Service::Actors, &database.url("actors")).await;
    let second = open_database(Service::Actors, &database.url("actors")).await;
    let gateway = open_database(Service::Gateway, &database.url("gateway")).await;

    let writing = first.begin_write().await.unwrap();
    let mut waiting = tokio::spawn(async move {
        let transaction = second.begin_write().await.unwrap();
        transaction.commit().await.unwrap();
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut waiting)
            .await
            .is_err(),
        "a second writer of the same service waits"
    );
    let other = tokio::time::timeout(Duration::from_secs(5), gateway.begin_write())
        .await
        .expect("another service's writer does not wait")
        .unwrap();
    other.commit().await.unwrap();
    let reading = sqlx_free_read(&first).await;
    assert_eq!(reading, 0, "reads do not wait");

    writing.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the second writer goes on once the first commits")
        .unwrap();
}

/// Counts the actors through the pool while a writer holds the lock.
async fn sqlx_free_read(database: &chancery_runtime::db::Database) -> i64 {
    let ids = chancery_runtime::db::fetch_bodies::<chancery_proto::actors::v1::Actor>(
        &database.pool,
        "actors",
        ["nobody"],
    );
    let found = tokio::time::timeout(Duration::from_secs(5), ids)
        .await
        .expect("a read does not wait for the writer")
        .unwrap();
    found.len() as i64
}
