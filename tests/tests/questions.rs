//! Every question of `shared/seed/questions.md`, answered from the APIs of the running suite
//! (real servers on real sockets) after the demo bundle is imported through the gateway. Each
//! answer asserts the specific facts: dates and precision, status, speaker, office at the time,
//! quote text and mode, attribution chain, outlets, sources.

use std::collections::BTreeSet;

use chancery_proto::common::v1::DatePrecision;
use chancery_proto::communications::v1::{
    CommunicationKind, Lifecycle, ListCommunicationsRequest, Verification,
};
use chancery_proto::gateway::v1::timeline_entry::Entry;
use chancery_proto::gateway::v1::{
    EpisodeView, GetEpisodeViewRequest, ImportBundleRequest, InvolvedActor, Involvement,
    StatementEntry, TimelineEntry,
};
use chancery_proto::statements::v1::{ContentMode, HopRelation, ListStatementsRequest, SpeechAct};
use chancery_testkit::seed::{self, EPISODE, SEED_DOCUMENT};
use chancery_testkit::{Backend, spawn_suite_on};

fn actor<'a>(view: &'a EpisodeView, name: &str) -> &'a InvolvedActor {
    view.actors
        .iter()
        .find(|a| a.actor.as_ref().is_some_and(|actor| actor.name == name))
        .unwrap_or_else(|| panic!("{name} is not among the episode's actors"))
}

fn offices(view: &EpisodeView, name: &str) -> BTreeSet<String> {
    actor(view, name)
        .offices
        .iter()
        .map(|o| o.title.clone())
        .collect()
}

fn involvements(view: &EpisodeView, name: &str) -> Vec<Involvement> {
    actor(view, name)
        .involvements
        .iter()
        .filter_map(|i| Involvement::try_from(*i).ok())
        .collect()
}

fn statement<'a>(view: &'a EpisodeView, name: &str) -> (&'a TimelineEntry, &'a StatementEntry) {
    view.timeline
        .iter()
        .find_map(|entry| match &entry.entry {
            Some(Entry::Statement(statement)) if entry.subject == name => Some((entry, statement)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name} is not on the timeline"))
}

fn quoted(entry: &StatementEntry) -> Vec<String> {
    let content = entry.statement.as_ref().unwrap().content.as_ref().unwrap();
    content
        .quoted_spans
        .iter()
        .map(|span| {
            content
                .text
                .chars()
                .skip(span.start as usize)
                .take((span.end - span.start) as usize)
                .collect()
        })
        .collect()
}

fn chain(entry: &StatementEntry) -> Vec<(String, HopRelation)> {
    entry
        .chain
        .iter()
        .map(|hop| {
            let inner = hop.hop.as_ref().unwrap();
            (
                hop.reporter_display_name.clone(),
                HopRelation::try_from(inner.relation).unwrap(),
            )
        })
        .collect()
}

async fn every_question_of_the_seed_is_answered_from_the_apis(backend: Backend) {
    let suite = spawn_suite_on(backend).await;
    let mut gateway = suite.gateway.gateway();
    let imported = gateway
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo bundle imports")
        .into_inner();
    assert_eq!(imported.episode.unwrap().name, EPISODE);

    let view = gateway
        .get_episode_view(GetEpisodeViewRequest {
            name: EPISODE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        view.unreachable.is_empty(),
        "a complete view: {:?}",
        view.unreachable
    );
    assert!(view.missing_members.is_empty());
    assert!(
        view.next_page_token.is_empty(),
        "the whole timeline fits one page"
    );

    // 1. Who is Anne-Claire Legendre, and in what capacity did she speak?
    assert_eq!(
        offices(&view, "actors/anne-claire-legendre"),
        BTreeSet::from(["Spokesperson of the Ministry for Europe and Foreign Affairs".to_owned()])
    );
    let (_, confirmation) = statement(&view, "statements/legendre-confirms-call");
    assert_eq!(confirmation.speaker_display_name, "Anne-Claire Legendre");
    assert_eq!(
        confirmation.speaker_office,
        "Spokesperson of the Ministry for Europe and Foreign Affairs"
    );
    assert_eq!(
        confirmation.statement.as_ref().unwrap().on_behalf_of,
        "actors/meae"
    );

    // 2. The office each held at the time.
    for (name, office) in [
        ("actors/emmanuel-macron", "President of the French Republic"),
        (
            "actors/vladimir-putin",
            "President of the Russian Federation",
        ),
        ("actors/olaf-scholz", "Federal Chancellor of Germany"),
        (
            "actors/sergey-lavrov",
            "Minister of Foreign Affairs of Russia",
        ),
    ] {
        assert_eq!(
            offices(&view, name),
            BTreeSet::from([office.to_owned()]),
            "{name}"
        );
    }

    // 3. The states involved or mentioned.
    let states: BTreeSet<&str> = view
        .actors
        .iter()
        .filter_map(|a| a.actor.as_ref())
        .filter(|a| a.kind == chancery_proto::actors::v1::ActorKind::State as i32)
        .map(|a| a.country.as_str())
        .collect();
    assert_eq!(
        states,
        BTreeSet::from(["DEU", "FRA", "GRC", "RUS", "TUR", "UKR", "USA"]),
        "the states involved or mentioned"
    );

    // 4. The media outlets and their roles; AP only as an image credit.
    assert_eq!(involvements(&view, "actors/tass"), [Involvement::Reporter]);
    assert_eq!(
        involvements(&view, "actors/bfm-tv"),
        [Involvement::Reporter]
    );
    assert_eq!(
        involvements(&view, "actors/the-guardian"),
        [Involvement::Reporter]
    );
    let ap = involvements(&view, "actors/associated-press");
    assert!(
        ap.contains(&Involvement::MediaCredit) && !ap.contains(&Involvement::Reporter),
        "{ap:?}"
    );
    let ap_reports = view
        .timeline
        .iter()
        .filter_map(|e| match &e.entry {
            Some(Entry::Statement(s)) => Some(s),
            _ => None,
        })
        .flat_map(|s| &s.chain)
        .filter(|hop| hop.hop.as_ref().unwrap().reporter == "actors/associated-press")
        .count();
    assert_eq!(ap_reports, 0, "AP is the source of no statement");
    let seed_document = view
        .sources
        .iter()
        .find(|s| s.document.as_ref().unwrap().name == SEED_DOCUMENT)
        .unwrap();
    let credits: Vec<_> = seed_document
        .document
        .as_ref()
        .unwrap()
        .media_assets
        .iter()
        .map(|m| m.credit_actor.as_str())
        .collect();
    assert_eq!(credits, ["actors/associated-press"]);

    // 5. The Macron–Putin calls, in order, with their status.
    let calls: Vec<_> = view
        .timeline
        .iter()
        .filter_map(|e| match &e.entry {
            Some(Entry::Communication(c)) => Some((e, c)),
            _ => None,
        })
        .collect();
    let summary: Vec<_> = calls
        .iter()
        .map(|(entry, call)| {
            let communication = call.communication.as_ref().unwrap();
            (
                entry.when.as_ref().unwrap().edtf.clone(),
                entry.when.as_ref().unwrap().precision,
                communication.participants.len(),
                Lifecycle::try_from(communication.lifecycle).unwrap(),
                call.planned,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "2022-03-12".to_owned(),
                DatePrecision::Day as i32,
                3,
                Lifecycle::Held,
                false
            ),
            (
                "2022-03-22".to_owned(),
                DatePrecision::Day as i32,
                2,
                Lifecycle::Held,
                false
            ),
            (
                "2022-03-29".to_owned(),
                DatePrecision::Day as i32,
                2,
                Lifecycle::Expected,
                true
            ),
        ]
    );
    let expected = calls[2].1.communication.as_ref().unwrap();
    assert_eq!(
        expected.verification,
        Verification::ConfirmedByOneParty as i32,
        "announced, not confirmed as held"
    );

    // 6. Who announced the 29 March call, and on what authority.
    let claim = &expected.status_log[0];
    assert_eq!(claim.asserted_by, "actors/anne-claire-legendre");
    assert_eq!(claim.statement, "statements/legendre-confirms-call");
    assert_eq!(
        chain(confirmation),
        [
            (
                "Publisher of the seed article".to_owned(),
                HopRelation::Reported
            ),
            ("TASS".to_owned(), HopRelation::Citing),
            ("BFM TV".to_owned(), HopRelation::Told),
        ]
    );
    assert_eq!(
        confirmation.statement.as_ref().unwrap().speech_act,
        SpeechAct::Confirmation as i32
    );
    assert!(
        confirmation.attribution.contains("TASS") && confirmation.attribution.contains("BFM TV"),
        "{}",
        confirmation.attribution
    );

    // 7. What the 29 March call was expected to cover.
    let topic = &expected.topics[0];
    assert!(topic.label.contains("Mariupol"), "{}", topic.label);
    assert_eq!(
        topic.mentioned_actors,
        ["actors/greece", "actors/turkey", "actors/ukraine"]
    );

    // 8. The call before it.
    assert_eq!(
        expected.previous_in_series,
        "communications/macron-putin-2022-03-22"
    );

    // 9. Legendre on the channel for dialogue, and the long conversations.
    let (_, dialogue) = statement(&view, "statements/legendre-channel-for-dialogue");
    assert_eq!(quoted(dialogue), ["channel for dialogue open"]);
    assert_eq!(
        dialogue
            .statement
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap()
            .mode,
        ContentMode::PartialQuote as i32
    );
    let (_, conversations) = statement(&view, "statements/legendre-long-conversations");
    assert_eq!(
        quoted(conversations),
        ["held a series of long conversations"]
    );

    // 10. Legendre on Russia's retaliatory visa measures.
    let (_, visa) = statement(&view, "statements/legendre-visa-measures");
    let visa_statement = visa.statement.as_ref().unwrap();
    assert!(
        visa_statement
            .content
            .as_ref()
            .unwrap()
            .text
            .contains("not aware of the approach")
    );
    assert_eq!(quoted(visa), ["one of the retaliatory measures"]);
    assert_eq!(
        visa_statement.in_reply_to,
        "statements/lavrov-retaliatory-measures"
    );

    // 11. Lavrov, and which words are his own.
    let (lavrov_entry, lavrov) = statement(&view, "statements/lavrov-retaliatory-measures");
    assert_eq!(
        lavrov.speaker_office,
        "Minister of Foreign Affairs of Russia"
    );
    assert_eq!(quoted(lavrov), ["US and its minions"]);
    assert_eq!(
        lavrov.statement.as_ref().unwrap().speech_act,
        SpeechAct::Threat as i32
    );
    assert_eq!(
        lavrov_entry.when.as_ref().unwrap().precision,
        DatePrecision::Month as i32,
        "the article gives no day"
    );

    // 12. The two readouts of the 12 March call, and who issued them.
    let call_of_12_march = calls[0].1;
    let readouts: Vec<_> = call_of_12_march
        .readouts
        .iter()
        .map(|r| (r.issuer_display_name.as_str(), r.statements.len()))
        .collect();
    assert!(
        readouts.contains(&("Kremlin press service", 3)),
        "{readouts:?}"
    );
    assert!(
        readouts.contains(&("a German spokesperson", 1)),
        "{readouts:?}"
    );
    let (_, ceasefire) = statement(&view, "statements/scholz-macron-ceasefire");
    let ceasefire_statement = ceasefire.statement.as_ref().unwrap();
    assert!(
        ceasefire_statement
            .content
            .as_ref()
            .unwrap()
            .text
            .contains("immediate ceasefire")
    );
    assert_eq!(ceasefire_statement.co_speakers, ["actors/emmanuel-macron"]);
    let (_, shields) = statement(&view, "statements/putin-human-shields-accusation");
    assert_eq!(
        shields.statement.as_ref().unwrap().speech_act,
        SpeechAct::Accusation as i32
    );
    assert!(
        shields
            .statement
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap()
            .text
            .contains("human shields")
    );

    // 13. The anonymous French Presidency official, reported by The Guardian.
    let (_, official) = statement(&view, "statements/french-official-no-agreement");
    assert_eq!(
        official.speaker_display_name,
        "a French Presidency official"
    );
    assert!(
        official
            .statement
            .as_ref()
            .unwrap()
            .content
            .as_ref()
            .unwrap()
            .text
            .contains("no agreement from Putin")
    );
    assert!(
        chain(official)
            .iter()
            .any(|(name, _)| name == "The Guardian"),
        "{:?}",
        chain(official)
    );

    // 14. The timeline, oldest first, each entry with its precision and sources.
    let bounds: Vec<_> = view
        .timeline
        .iter()
        .map(|e| {
            e.when
                .as_ref()
                .unwrap()
                .earliest
                .as_ref()
                .map(|t| t.seconds)
                .unwrap()
        })
        .collect();
    assert!(
        bounds.windows(2).all(|w| w[0] <= w[1]),
        "ordered by earliest bound"
    );
    assert_eq!(view.timeline.len(), 15, "3 calls and 12 statements");
    for entry in &view.timeline {
        assert_ne!(
            entry.when.as_ref().unwrap().precision,
            DatePrecision::Unspecified as i32,
            "{}",
            entry.subject
        );
        let sourced = match &entry.entry {
            Some(Entry::Statement(s)) => {
                s.statement.as_ref().unwrap().attribution_chain[0].document == SEED_DOCUMENT
            }
            Some(Entry::Communication(c)) => c
                .communication
                .as_ref()
                .unwrap()
                .sources
                .iter()
                .any(|s| s.document == SEED_DOCUMENT),
            None => false,
        };
        assert!(sourced, "{} has its source", entry.subject);
    }
    assert_eq!(seed_document.statements.len(), 12);
    assert_eq!(seed_document.communications.len(), 3);

    // 15. Who talked to whom, how many times, by which medium. Talked: the calls held; the call
    // of 29 March was only expected, so it is listed apart and not counted.
    let contacts: Vec<_> = view
        .contacts
        .iter()
        .map(|c| {
            let kinds: Vec<_> = c
                .by_kind
                .iter()
                .map(|k| (CommunicationKind::try_from(k.kind).unwrap(), k.count))
                .collect();
            (
                c.actor_a_display_name.as_str(),
                c.actor_b_display_name.as_str(),
                c.count,
                kinds,
            )
        })
        .collect();
    assert_eq!(
        contacts,
        [
            (
                "Emmanuel Macron",
                "Vladimir Putin",
                2,
                vec![(CommunicationKind::PhoneCall, 2)]
            ),
            (
                "Emmanuel Macron",
                "Olaf Scholz",
                1,
                vec![(CommunicationKind::PhoneCall, 1)]
            ),
            (
                "Olaf Scholz",
                "Vladimir Putin",
                1,
                vec![(CommunicationKind::PhoneCall, 1)]
            ),
        ]
    );

    let not_held: Vec<&[String]> = view.contacts.iter().map(|c| &c.not_held[..]).collect();
    assert_eq!(
        not_held,
        [
            &["communications/macron-putin-2022-03-29".to_owned()][..],
            &[][..],
            &[][..]
        ]
    );

    // And the same answers from a filtered list on one service.
    let pair = suite
        .communications
        .communications()
        .list_communications(ListCommunicationsRequest {
            participant: "actors/emmanuel-macron".into(),
            counterpart: "actors/vladimir-putin".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .communications;
    assert_eq!(pair.len(), 3);
    let verbatim = suite
        .statements
        .statements()
        .list_statements(ListStatementsRequest {
            content_mode: ContentMode::Verbatim as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .statements;
    assert_eq!(
        verbatim.len(),
        1,
        "only the article's own words are verbatim"
    );
}

chancery_testkit::backend_tests!(every_question_of_the_seed_is_answered_from_the_apis,);
