//! The seed article recorded through the public APIs of the three data services (real servers,
//! real sockets), then read back with the filtered lists an analyst would use. The gateway's
//! composed view comes later; these are the questions each service answers on its own.

use chancery_proto::actors::v1::{ListActorsRequest, OfficeQuery, ResolveOfficesRequest};
use chancery_proto::common::v1::{DatePrecision, FuzzyDate};
use chancery_proto::communications::v1::{
    GetCommunicationRequest, Lifecycle, ListCommunicationsRequest, Verification,
};
use chancery_proto::statements::v1::{
    ContentMode, GetStatementRequest, HopRelation, ListStatementsRequest, SpeechAct,
};
use chancery_testkit::seed::{self, SEED_DOCUMENT};
use chancery_testkit::spawn_suite;

fn day(edtf: &str) -> Option<FuzzyDate> {
    Some(FuzzyDate {
        edtf: edtf.into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn the_seed_article_is_recorded_and_answers_from_the_services() {
    let suite = spawn_suite().await;
    let episode = seed::episode();
    seed::load(&suite, &episode)
        .await
        .expect("the seed episode loads");
    // Loading twice changes nothing: every create carries a request id.
    seed::load(&suite, &episode)
        .await
        .expect("the seed episode loads again");

    let mut actors = suite.actors.actors();
    let mut communications = suite.communications.communications();
    let mut statements = suite.statements.statements();

    let all_actors = actors
        .list_actors(ListActorsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .actors;
    assert_eq!(all_actors.len(), episode.actors.len(), "no actor twice");

    // Q5: the Macron–Putin calls, in order, with their status.
    let calls = communications
        .list_communications(ListCommunicationsRequest {
            participant: "actors/emmanuel-macron".into(),
            counterpart: "actors/vladimir-putin".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .communications;
    let names: Vec<_> = calls.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "communications/macron-scholz-putin-2022-03-12",
            "communications/macron-putin-2022-03-22",
            "communications/macron-putin-2022-03-29"
        ]
    );
    assert_eq!(calls[0].participants.len(), 3);
    assert_eq!(calls[0].lifecycle, Lifecycle::Held as i32);
    assert_eq!(calls[1].lifecycle, Lifecycle::Held as i32);
    assert_eq!(
        calls[2].lifecycle,
        Lifecycle::Expected as i32,
        "announced, not yet held"
    );
    assert_eq!(
        calls[2].verification,
        Verification::ConfirmedByOneParty as i32
    );
    let planned = calls[2].planned.as_ref().unwrap();
    assert_eq!(
        (planned.edtf.as_str(), planned.precision),
        ("2022-03-29", DatePrecision::Day as i32)
    );

    // Q6 and Q8: who announced the 29 March call, and which call came before.
    let expected = communications
        .get_communication(GetCommunicationRequest {
            name: "communications/macron-putin-2022-03-29".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        expected.previous_in_series,
        "communications/macron-putin-2022-03-22"
    );
    let claim = &expected.status_log[0];
    assert_eq!(claim.asserted_by, "actors/anne-claire-legendre");
    assert_eq!(claim.statement, "statements/legendre-confirms-call");
    // Q7: what it was expected to cover.
    let topic = &expected.topics[0];
    assert_eq!(topic.id, "mariupol-evacuation");
    assert_eq!(
        topic.mentioned_actors,
        ["actors/greece", "actors/turkey", "actors/ukraine"]
    );

    let confirmation = statements
        .get_statement(GetStatementRequest {
            name: "statements/legendre-confirms-call".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let chain: Vec<_> = confirmation
        .attribution_chain
        .iter()
        .map(|hop| (hop.position, hop.reporter.as_str(), hop.relation))
        .collect();
    assert_eq!(
        chain,
        [
            (
                0,
                "actors/seed-article-publisher",
                HopRelation::Reported as i32
            ),
            (1, "actors/tass", HopRelation::Citing as i32),
            (2, "actors/bfm-tv", HopRelation::Told as i32),
        ]
    );
    assert_eq!(confirmation.attribution_chain[0].document, SEED_DOCUMENT);

    // Q9: Legendre's words, with the quoted parts marked.
    let by_legendre = statements
        .list_statements(ListStatementsRequest {
            speaker: "actors/anne-claire-legendre".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(by_legendre.len(), 5);
    let dialogue = by_legendre
        .iter()
        .find(|s| s.name == "statements/legendre-channel-for-dialogue")
        .unwrap();
    let content = dialogue.content.as_ref().unwrap();
    assert_eq!(content.mode, ContentMode::PartialQuote as i32);
    let span = &content.quoted_spans[0];
    let quoted: String = content
        .text
        .chars()
        .skip(span.start as usize)
        .take((span.end - span.start) as usize)
        .collect();
    assert_eq!(quoted, "channel for dialogue open");

    // Q11: Lavrov's own words.
    let lavrov = statements
        .list_statements(ListStatementsRequest {
            speaker: "actors/sergey-lavrov".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(lavrov.len(), 1);
    assert_eq!(lavrov[0].speech_act, SpeechAct::Threat as i32);
    let content = lavrov[0].content.as_ref().unwrap();
    let span = &content.quoted_spans[0];
    let quoted: String = content
        .text
        .chars()
        .skip(span.start as usize)
        .take((span.end - span.start) as usize)
        .collect();
    assert_eq!(quoted, "US and its minions");

    // Q12: the two readouts of the 12 March call, side by side.
    let readout = |issuer: &str| ListStatementsRequest {
        communication: "communications/macron-scholz-putin-2022-03-12".into(),
        readout_issuer: issuer.into(),
        ..Default::default()
    };
    let kremlin = statements
        .list_statements(readout("actors/kremlin-press-service"))
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(kremlin.len(), 3);
    assert!(
        kremlin
            .iter()
            .any(|s| s.speech_act == SpeechAct::Accusation as i32
                && s.content.as_ref().unwrap().text.contains("human shields"))
    );
    let german = statements
        .list_statements(readout("actors/german-spokesperson"))
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(german.len(), 1);
    assert!(
        german[0]
            .content
            .as_ref()
            .unwrap()
            .text
            .contains("immediate ceasefire")
    );

    // Q13: the anonymous official, reported by The Guardian.
    let official = statements
        .list_statements(ListStatementsRequest {
            speaker: "actors/french-presidency-official".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(official.len(), 1);
    assert!(
        official[0]
            .attribution_chain
            .iter()
            .any(|hop| hop.reporter == "actors/the-guardian")
    );

    // Q4: AP is an image credit only, never a reporter of any statement.
    let everything = statements
        .list_statements(ListStatementsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(everything.len(), episode.statements.len());
    assert!(
        everything
            .iter()
            .flat_map(|s| &s.attribution_chain)
            .all(|hop| hop.reporter != "actors/associated-press")
    );

    // Q1 and Q2: offices at the time.
    let answers = actors
        .resolve_offices(ResolveOfficesRequest {
            queries: vec![
                OfficeQuery {
                    actor: "actors/anne-claire-legendre".into(),
                    date: day("2022-03-26"),
                },
                OfficeQuery {
                    actor: "actors/olaf-scholz".into(),
                    date: day("2022-03-12"),
                },
                OfficeQuery {
                    actor: "actors/sergey-lavrov".into(),
                    date: day("2022-03"),
                },
            ],
        })
        .await
        .unwrap()
        .into_inner()
        .answers;
    let title = |i: usize| answers[i].offices[0].post.as_ref().unwrap().title.clone();
    assert_eq!(
        title(0),
        "Spokesperson of the Ministry for Europe and Foreign Affairs"
    );
    assert_eq!(title(1), "Federal Chancellor of Germany");
    assert_eq!(title(2), "Minister of Foreign Affairs of Russia");
}
