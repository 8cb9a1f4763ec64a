//! A backend slow or down: callers stop hammering it. Every service's calls to another go
//! through a circuit breaker (`chancery_runtime::breaker`): after 5 failures in a row it opens
//! and calls fail UNAVAILABLE at once without reaching the backend; after a cooldown (2 s, then
//! doubling) one trial call goes through, and its success closes it.
//!
//! Real gateway and communications servers, over the testkit's counting fakes.

use std::time::{Duration, Instant};

use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{
    Communication, CommunicationKind, CreateCommunicationRequest, Participant, ParticipantRole,
};
use chancery_proto::gateway::v1::{
    CreateEpisodeRequest, Episode, EpisodeView, GetEpisodeViewRequest,
};
use chancery_runtime::breaker::{BASE_COOLDOWN, FAILURE_THRESHOLD};
use chancery_testkit::fakes::{Behaviour, FakeBackends, spawn_fakes};
use chancery_testkit::{Options, Service, TestServer, error_reason, spawn_with};
use tonic::{Code, Request, Status};

/// Views one call makes to each backend that fails: the call and its one retry.
const CALLS_PER_FAILED_VIEW: usize = 2;

async fn episode(gateway: &TestServer) -> String {
    gateway
        .gateway()
        .create_episode(CreateEpisodeRequest {
            episode: Some(Episode {
                title: "Breaker".into(),
                communications: (0..3).map(|i| format!("communications/b-{i}")).collect(),
                statements: (0..3).map(|i| format!("statements/b-{i}")).collect(),
                ..Default::default()
            }),
            episode_id: "breaker".into(),
            request_id: String::new(),
        })
        .await
        .expect("create the episode while the fakes serve")
        .into_inner()
        .name
}

/// Views `name` with `deadline`, enforced here too: a view after it fails the call.
async fn view(gateway: &TestServer, name: &str, deadline: Duration) -> Result<EpisodeView, Status> {
    let mut request = Request::new(GetEpisodeViewRequest {
        name: name.into(),
        ..Default::default()
    });
    request.set_timeout(deadline);
    match tokio::time::timeout(deadline, gateway.gateway().get_episode_view(request)).await {
        Ok(answer) => answer.map(tonic::Response::into_inner),
        Err(_) => Err(Status::deadline_exceeded("the view came too late")),
    }
}

async fn gateway_over_fakes() -> (FakeBackends, TestServer, String) {
    let fakes = spawn_fakes().await;
    let gateway = fakes.spawn_gateway().await;
    let name = episode(&gateway).await;
    (fakes, gateway, name)
}

/// Views until one is complete (no part unreachable), at most `within`; the complete view.
async fn wait_complete(gateway: &TestServer, name: &str, within: Duration) -> EpisodeView {
    let start = Instant::now();
    loop {
        let view = view(gateway, name, Duration::from_secs(5))
            .await
            .expect("a view answers");
        if view.unreachable.is_empty() {
            return view;
        }
        assert!(
            start.elapsed() < within,
            "still partial after {within:?}: {:?}",
            view.unreachable
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_backend_that_always_fails_is_called_a_bounded_number_of_times_and_recovers() {
    let (fakes, gateway, name) = gateway_over_fakes().await;
    fakes
        .communications
        .control
        .set_behaviour(Behaviour::Unavailable);
    fakes.reset_calls();

    let views = 50;
    let start = Instant::now();
    for i in 0..views {
        let view = view(&gateway, &name, Duration::from_secs(5))
            .await
            .unwrap_or_else(|status| panic!("view {i}: {status:?}"));
        assert_eq!(view.unreachable, ["communications"], "view {i}");
        assert_eq!(view.timeline.len(), 3, "view {i}: the statements still");
    }
    let elapsed = start.elapsed();
    let calls = fakes.communications.control.calls("BatchGetCommunications");
    // Without the breaker: 2 calls per view (100). With it: the 5 that open the circuit, then
    // one trial per cooldown (2 s, 4 s, 8 s…) for as long as the views took.
    let trials = (elapsed.as_secs_f64() / BASE_COOLDOWN.as_secs_f64()).ceil() as usize;
    let bound = FAILURE_THRESHOLD as usize + trials;
    assert!(
        calls <= bound && calls < views * CALLS_PER_FAILED_VIEW / 4,
        "{calls} calls reached the failing backend in {views} views ({elapsed:?}); at most {bound}"
    );
    assert!(
        calls >= FAILURE_THRESHOLD as usize,
        "the circuit opened only after {FAILURE_THRESHOLD} failures: {calls}"
    );
    // The other backends were not affected.
    assert_eq!(fakes.statements.control.calls("BatchGetStatements"), views);

    // The backend comes back: once the cooldown is over, a trial call closes the circuit.
    fakes.serve_all();
    let complete = wait_complete(&gateway, &name, Duration::from_secs(40)).await;
    assert_eq!(complete.timeline.len(), 6);
    let again = view(&gateway, &name, Duration::from_secs(5)).await.unwrap();
    assert!(
        again.unreachable.is_empty(),
        "closed: {:?}",
        again.unreachable
    );
}

#[tokio::test]
async fn once_open_a_hanging_backend_no_longer_costs_each_view_its_budget() {
    let (fakes, gateway, name) = gateway_over_fakes().await;
    fakes.statements.control.set_behaviour(Behaviour::Hang);
    fakes.reset_calls();
    let deadline = Duration::from_secs(2);

    // The first views wait for the hanging calls (round one's statements, round two's
    // documents, both on the statements service) until their round ends; each such call is a
    // failure, and the fifth opens the circuit. The views after that do not wait.
    let mut took = Vec::new();
    for i in 0..10 {
        let start = Instant::now();
        let view = view(&gateway, &name, deadline)
            .await
            .unwrap_or_else(|status| panic!("view {i}: {status:?}"));
        took.push(start.elapsed());
        assert_eq!(view.unreachable, ["documents", "statements"], "view {i}");
        assert_eq!(view.timeline.len(), 3, "view {i}: the communications still");
    }
    assert!(
        took[0] >= Duration::from_millis(700),
        "the hanging backend held the first view: {took:?}"
    );
    assert!(
        took[5..].iter().all(|t| *t < Duration::from_millis(400)),
        "once open, views answer at once: {took:?}"
    );
    let statements_calls: usize = fakes.statements.control.all_calls().values().sum();
    assert_eq!(
        statements_calls,
        FAILURE_THRESHOLD as usize,
        "only the calls that opened the circuit reached the hanging backend: {:?}",
        fakes.statements.control.all_calls()
    );

    fakes.serve_all();
    let view = wait_complete(&gateway, &name, Duration::from_secs(40)).await;
    assert_eq!(view.timeline.len(), 6);
}

fn phone_call(actors: &[&str]) -> Communication {
    Communication {
        kind: CommunicationKind::PhoneCall as i32,
        participants: actors
            .iter()
            .map(|actor| Participant {
                actor: (*actor).into(),
                role: ParticipantRole::Principal as i32,
                ..Default::default()
            })
            .collect(),
        occurred: Some(FuzzyDate {
            edtf: "2022-03-01".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn reference_checks_against_a_down_actors_service_fail_fast_once_the_circuit_is_open() {
    let fakes = spawn_fakes().await;
    fakes.actors.control.set_behaviour(Behaviour::Hang);
    let communications = spawn_with(
        Service::Communications,
        Options {
            actors: Some(fakes.actors.addr),
            ..Options::default()
        },
    )
    .await;
    let deadline = Duration::from_secs(1);
    let create = |i: usize| {
        let mut client = communications.communications();
        async move {
            let mut request = Request::new(CreateCommunicationRequest {
                communication: Some(phone_call(&["actors/a", "actors/b"])),
                communication_id: format!("call-{i}"),
                request_id: String::new(),
            });
            request.set_timeout(deadline);
            let start = Instant::now();
            let status = client
                .create_communication(request)
                .await
                .expect_err("the actors service is down");
            (status, start.elapsed())
        }
    };

    let mut slow = Vec::new();
    for i in 0..FAILURE_THRESHOLD as usize {
        let (status, elapsed) = create(i).await;
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        slow.push(elapsed);
    }
    assert!(
        slow.iter().all(|t| *t >= Duration::from_millis(500)),
        "each check waited for the hanging service: {slow:?}"
    );
    let calls = fakes.actors.control.calls("BatchGetActors");
    assert_eq!(calls, FAILURE_THRESHOLD as usize);

    for i in 0..5 {
        let (status, elapsed) = create(100 + i).await;
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(error_reason(&status), "DEPENDENCY_UNAVAILABLE");
        assert!(
            status.message().contains("actors"),
            "names the service: {status:?}"
        );
        assert!(
            elapsed < Duration::from_millis(200),
            "failed fast: {elapsed:?} (the hanging checks took {slow:?})"
        );
    }
    assert_eq!(
        fakes.actors.control.calls("BatchGetActors"),
        calls,
        "the open circuit sent nothing"
    );

    // Back: after the cooldown a trial goes through and the write is accepted.
    fakes.actors.control.set_behaviour(Behaviour::Serve);
    tokio::time::sleep(BASE_COOLDOWN).await;
    let mut client = communications.communications();
    let created = client
        .create_communication(CreateCommunicationRequest {
            communication: Some(phone_call(&["actors/a", "actors/b"])),
            communication_id: "after".into(),
            request_id: String::new(),
        })
        .await
        .expect("the circuit closes after the cooldown");
    assert_eq!(created.into_inner().name, "communications/after");
}

/// A backend that does not answer within the channel's own call timeout is UNAVAILABLE
/// (`DEPENDENCY_UNAVAILABLE`, naming it) for the caller — not the CANCELLED tonic reports for
/// its timeout, which would read as if the caller had given up.
#[tokio::test]
async fn a_call_timeout_is_unavailable_naming_the_backend_not_cancelled() {
    use chancery_proto::actors::v1::BatchGetActorsRequest;
    use chancery_proto::actors::v1::actor_service_client::ActorServiceClient;

    let fakes = spawn_fakes().await;
    fakes.actors.control.set_behaviour(Behaviour::Hang);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", fakes.actors.addr))
        .expect("endpoint")
        .timeout(Duration::from_millis(200))
        .connect_lazy();
    let mut client = ActorServiceClient::new(chancery_runtime::backends::outbound(channel));
    let started = Instant::now();
    let status = client
        .batch_get_actors(BatchGetActorsRequest {
            names: vec!["actors/a".into()],
            ..Default::default()
        })
        .await
        .expect_err("a hanging backend cannot answer");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(
        error_reason(&status),
        "DEPENDENCY_UNAVAILABLE",
        "{status:?}"
    );
    assert!(status.message().contains("actors"), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
