//! Every reference a resource of a bundle makes to another resource, with its field path: what
//! an import must find (in the bundle or in the suite) before it writes anything, and what an
//! export follows to gather an episode whole. One list, so the two never disagree.

use chancery_proto::actors::v1::{Actor, Post, Tenure};
use chancery_proto::common::v1::SourceRef;
use chancery_proto::communications::v1::Communication;
use chancery_proto::gateway::v1::Episode;
use chancery_proto::statements::v1::{RelayedSpeech, SourceDocument, Statement};

/// The collection a reference points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Target {
    /// `actors/{id}`.
    Actor,
    /// `posts/{id}`.
    Post,
    /// `documents/{id}`.
    Document,
    /// `communications/{id}`.
    Communication,
    /// `statements/{id}`.
    Statement,
}

impl Target {
    /// The owning service, as errors name it.
    pub(crate) fn service(self) -> &'static str {
        match self {
            Target::Actor | Target::Post => "actors",
            Target::Document | Target::Statement => "statements",
            Target::Communication => "communications",
        }
    }
}

/// One reference: the field that makes it (below the resource's own path) and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference<'a> {
    /// Path of the field, such as `participants[1].actor`.
    pub(crate) field: String,
    /// The resource name referred to; never empty.
    pub(crate) name: &'a str,
    /// What it refers to.
    pub(crate) target: Target,
}

/// Collects references, skipping empty names (unset optional fields).
#[derive(Debug, Default)]
pub(crate) struct References<'a>(pub(crate) Vec<Reference<'a>>);

impl<'a> References<'a> {
    fn add(&mut self, field: impl Into<String>, name: &'a str, target: Target) {
        if !name.is_empty() {
            self.0.push(Reference {
                field: field.into(),
                name,
                target,
            });
        }
    }

    fn each(&mut self, field: &str, names: &'a [String], target: Target) {
        for (i, name) in names.iter().enumerate() {
            self.add(format!("{field}[{i}]"), name, target);
        }
    }

    fn source(&mut self, field: &str, source: Option<&'a SourceRef>) {
        if let Some(source) = source {
            self.add(
                format!("{field}.document"),
                &source.document,
                Target::Document,
            );
        }
    }

    fn sources(&mut self, field: &str, sources: &'a [SourceRef]) {
        for (i, source) in sources.iter().enumerate() {
            self.add(
                format!("{field}[{i}].document"),
                &source.document,
                Target::Document,
            );
        }
    }

    fn relayed(&mut self, field: &str, speeches: &'a [RelayedSpeech]) {
        for (i, speech) in speeches.iter().enumerate() {
            let at = format!("{field}[{i}]");
            self.each(&format!("{at}.speakers"), &speech.speakers, Target::Actor);
            self.each(
                &format!("{at}.addressees"),
                &speech.addressees,
                Target::Actor,
            );
            self.relayed(&format!("{at}.relayed"), &speech.relayed);
        }
    }

    /// The names referred to in `target`'s collection.
    pub(crate) fn names(&self, target: Target) -> impl Iterator<Item = &'a str> + '_ {
        self.0
            .iter()
            .filter(move |r| r.target == target)
            .map(|r| r.name)
    }
}

/// An actor's references: its parent, its affiliation, the documents it is sourced from.
pub(crate) fn of_actor(actor: &Actor) -> References<'_> {
    let mut refs = References::default();
    refs.add("parent", &actor.parent, Target::Actor);
    if let Some(anonymous) = &actor.anonymous {
        refs.add(
            "anonymous.affiliation",
            &anonymous.affiliation,
            Target::Actor,
        );
    }
    refs.sources("sources", &actor.sources);
    refs
}

/// A post's references: its organization.
pub(crate) fn of_post(post: &Post) -> References<'_> {
    let mut refs = References::default();
    refs.add("organization", &post.organization, Target::Actor);
    refs
}

/// A tenure's references (besides its actor, which its name gives): the post, the actor it is
/// held on behalf of, its sources.
pub(crate) fn of_tenure(tenure: &Tenure) -> References<'_> {
    let mut refs = References::default();
    refs.add("post", &tenure.post, Target::Post);
    refs.add("on_behalf_of", &tenure.on_behalf_of, Target::Actor);
    refs.sources("sources", &tenure.sources);
    refs
}

/// A source document's references: its publisher, its authors, the actors its media credit.
pub(crate) fn of_document(document: &SourceDocument) -> References<'_> {
    let mut refs = References::default();
    refs.add("publisher", &document.publisher, Target::Actor);
    refs.each("author_actors", &document.author_actors, Target::Actor);
    for (i, asset) in document.media_assets.iter().enumerate() {
        refs.add(
            format!("media_assets[{i}].credit_actor"),
            &asset.credit_actor,
            Target::Actor,
        );
    }
    refs
}

/// A communication's references: participants and who claimed their initiative, topics (the
/// actors they mention, their sources, the communication a topic is), the previous in the
/// series, sources, and for each status entry, duration and outcome who claims it and where.
pub(crate) fn of_communication(communication: &Communication) -> References<'_> {
    let mut refs = References::default();
    for (i, participant) in communication.participants.iter().enumerate() {
        let at = format!("participants[{i}]");
        refs.add(format!("{at}.actor"), &participant.actor, Target::Actor);
        refs.add(
            format!("{at}.initiative_asserted_by"),
            &participant.initiative_asserted_by,
            Target::Actor,
        );
        refs.source(
            &format!("{at}.initiative_source"),
            participant.initiative_source.as_ref(),
        );
    }
    for (i, topic) in communication.topics.iter().enumerate() {
        let at = format!("topics[{i}]");
        refs.each(
            &format!("{at}.mentioned_actors"),
            &topic.mentioned_actors,
            Target::Actor,
        );
        refs.sources(&format!("{at}.sources"), &topic.sources);
        refs.add(
            format!("{at}.communication"),
            &topic.communication,
            Target::Communication,
        );
    }
    refs.add(
        "previous_in_series",
        &communication.previous_in_series,
        Target::Communication,
    );
    refs.sources("sources", &communication.sources);
    for (i, status) in communication.status_log.iter().enumerate() {
        let at = format!("status_log[{i}]");
        refs.add(
            format!("{at}.asserted_by"),
            &status.asserted_by,
            Target::Actor,
        );
        refs.add(
            format!("{at}.statement"),
            &status.statement,
            Target::Statement,
        );
        refs.source(&format!("{at}.source"), status.source.as_ref());
    }
    for (i, duration) in communication.durations.iter().enumerate() {
        let at = format!("durations[{i}]");
        refs.add(
            format!("{at}.asserted_by"),
            &duration.asserted_by,
            Target::Actor,
        );
        refs.source(&format!("{at}.source"), duration.source.as_ref());
    }
    for (i, outcome) in communication.outcomes.iter().enumerate() {
        let at = format!("outcomes[{i}]");
        refs.each(&format!("{at}.parties"), &outcome.parties, Target::Actor);
        refs.add(
            format!("{at}.asserted_by"),
            &outcome.asserted_by,
            Target::Actor,
        );
        refs.source(&format!("{at}.source"), outcome.source.as_ref());
    }
    refs
}

/// A statement's references: every actor it names (relayed speech included, at every level),
/// its communications, the readout, the statements it answers or repeats, and each hop's
/// reporter and document.
pub(crate) fn of_statement(statement: &Statement) -> References<'_> {
    let mut refs = References::default();
    refs.add("speaker", &statement.speaker, Target::Actor);
    refs.each("co_speakers", &statement.co_speakers, Target::Actor);
    refs.add("on_behalf_of", &statement.on_behalf_of, Target::Actor);
    refs.each("addressees", &statement.addressees, Target::Actor);
    refs.each("about_actors", &statement.about_actors, Target::Actor);
    refs.add(
        "communication",
        &statement.communication,
        Target::Communication,
    );
    refs.each(
        "related_communications",
        &statement.related_communications,
        Target::Communication,
    );
    if let Some(readout) = &statement.readout {
        refs.add("readout.issuer", &readout.issuer, Target::Actor);
        refs.add("readout.document", &readout.document, Target::Document);
    }
    refs.add("in_reply_to", &statement.in_reply_to, Target::Statement);
    refs.each(
        "same_utterance_as",
        &statement.same_utterance_as,
        Target::Statement,
    );
    for (i, hop) in statement.attribution_chain.iter().enumerate() {
        let at = format!("attribution_chain[{i}]");
        refs.add(format!("{at}.reporter"), &hop.reporter, Target::Actor);
        refs.add(format!("{at}.document"), &hop.document, Target::Document);
    }
    refs.relayed("relayed", &statement.relayed);
    refs
}

/// An episode's references: its members, its actors of interest and its other actors.
pub(crate) fn of_episode(episode: &Episode) -> References<'_> {
    let mut refs = References::default();
    refs.each(
        "communications",
        &episode.communications,
        Target::Communication,
    );
    refs.each("statements", &episode.statements, Target::Statement);
    refs.each(
        "actors_of_interest",
        &episode.actors_of_interest,
        Target::Actor,
    );
    refs.each("other_actors", &episode.other_actors, Target::Actor);
    refs
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::communications::v1::{Outcome, Participant, Topic};

    #[test]
    fn nested_relayed_speech_and_new_communication_fields_are_named_with_their_paths() {
        let statement = Statement {
            speaker: "actors/kremlin".into(),
            relayed: vec![RelayedSpeech {
                speakers: vec!["actors/putin".into()],
                addressees: vec!["actors/scholz".into()],
                relayed: vec![RelayedSpeech {
                    speakers: vec!["actors/aide".into()],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            related_communications: vec!["communications/b".into()],
            ..Default::default()
        };
        let fields: Vec<(String, &str)> = of_statement(&statement)
            .0
            .into_iter()
            .map(|r| (r.field, r.name))
            .collect();
        assert_eq!(
            fields,
            [
                ("speaker".to_owned(), "actors/kremlin"),
                ("related_communications[0]".to_owned(), "communications/b"),
                ("relayed[0].speakers[0]".to_owned(), "actors/putin"),
                ("relayed[0].addressees[0]".to_owned(), "actors/scholz"),
                (
                    "relayed[0].relayed[0].speakers[0]".to_owned(),
                    "actors/aide"
                ),
            ]
        );

        let communication = Communication {
            participants: vec![Participant {
                actor: "actors/a".into(),
                initiative_asserted_by: "actors/elysee".into(),
                ..Default::default()
            }],
            topics: vec![Topic {
                communication: "communications/summit".into(),
                ..Default::default()
            }],
            outcomes: vec![Outcome {
                parties: vec!["actors/a".into(), "actors/b".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let refs = of_communication(&communication);
        let fields: Vec<&str> = refs.0.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "participants[0].actor",
                "participants[0].initiative_asserted_by",
                "topics[0].communication",
                "outcomes[0].parties[0]",
                "outcomes[0].parties[1]",
            ]
        );
        assert_eq!(
            refs.names(Target::Communication).collect::<Vec<_>>(),
            ["communications/summit"]
        );
    }
}
