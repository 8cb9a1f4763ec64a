//! The fields clients set: each resource without what the servers add (times, etags, computed
//! lifecycle and verification, hop positions, the derived fields of fuzzy dates). Two versions
//! of a resource that agree here are the same resource to an import, and an export returns
//! exactly these fields.

use chancery_proto::actors::v1::{Actor, Post, Tenure};
use chancery_proto::common::v1::FuzzyDate;
use chancery_proto::communications::v1::{Communication, StatusAssertion};
use chancery_proto::gateway::v1::{Bundle, Episode};
use chancery_proto::statements::v1::{RelayedSpeech, SourceDocument, Statement};

/// A fuzzy date as a client writes it: `edtf` (trimmed, as the servers store it), `time_zone`,
/// `as_reported` and `source`.
pub(crate) fn date(date: Option<&FuzzyDate>) -> Option<FuzzyDate> {
    date.map(|date| FuzzyDate {
        edtf: date.edtf.trim().to_owned(),
        time_zone: date.time_zone.clone(),
        as_reported: date.as_reported.clone(),
        source: date.source,
        ..Default::default()
    })
}

/// Relayed speech as a client writes it: its dates cleaned, at every level.
fn relayed(speech: &RelayedSpeech) -> RelayedSpeech {
    RelayedSpeech {
        said: date(speech.said.as_ref()),
        relayed: speech.relayed.iter().map(relayed).collect(),
        ..speech.clone()
    }
}

pub(crate) fn actor(actor: &Actor) -> Actor {
    Actor {
        create_time: None,
        update_time: None,
        etag: String::new(),
        ..actor.clone()
    }
}

pub(crate) fn post(post: &Post) -> Post {
    Post {
        create_time: None,
        etag: String::new(),
        ..post.clone()
    }
}

pub(crate) fn tenure(tenure: &Tenure) -> Tenure {
    Tenure {
        start: date(tenure.start.as_ref()),
        end: date(tenure.end.as_ref()),
        create_time: None,
        etag: String::new(),
        ..tenure.clone()
    }
}

pub(crate) fn document(document: &SourceDocument) -> SourceDocument {
    SourceDocument {
        published: date(document.published.as_ref()),
        create_time: None,
        etag: String::new(),
        ..document.clone()
    }
}

pub(crate) fn status(status: &StatusAssertion) -> StatusAssertion {
    StatusAssertion {
        as_of: date(status.as_of.as_ref()),
        create_time: None,
        ..status.clone()
    }
}

/// A communication's client fields, its status log included.
pub(crate) fn communication(communication: &Communication) -> Communication {
    Communication {
        planned: date(communication.planned.as_ref()),
        occurred: date(communication.occurred.as_ref()),
        status_log: communication.status_log.iter().map(status).collect(),
        lifecycle: 0,
        verification: 0,
        create_time: None,
        update_time: None,
        etag: String::new(),
        ..communication.clone()
    }
}

/// What `UpdateCommunication` can change: the client fields without the status log.
pub(crate) fn communication_without_log(communication: &Communication) -> Communication {
    Communication {
        status_log: Vec::new(),
        ..self::communication(communication)
    }
}

pub(crate) fn statement(statement: &Statement) -> Statement {
    let mut statement = Statement {
        said: date(statement.said.as_ref()),
        relayed: statement.relayed.iter().map(relayed).collect(),
        create_time: None,
        update_time: None,
        etag: String::new(),
        ..statement.clone()
    };
    for hop in &mut statement.attribution_chain {
        hop.position = 0;
    }
    statement
}

pub(crate) fn episode(episode: &Episode) -> Episode {
    Episode {
        span: date(episode.span.as_ref()),
        create_time: None,
        update_time: None,
        etag: String::new(),
        ..episode.clone()
    }
}

/// A bundle with only the fields clients set, every collection sorted by name: two bundles
/// that import to the same state are equal here.
pub fn client_fields(bundle: &Bundle) -> Bundle {
    fn sorted<T>(items: &[T], clean: impl Fn(&T) -> T, name: impl Fn(&T) -> &str) -> Vec<T> {
        let mut items: Vec<T> = items.iter().map(clean).collect();
        items.sort_by(|a, b| name(a).cmp(name(b)));
        items
    }
    Bundle {
        episode: bundle.episode.as_ref().map(episode),
        actors: sorted(&bundle.actors, actor, |a| &a.name),
        posts: sorted(&bundle.posts, post, |p| &p.name),
        tenures: sorted(&bundle.tenures, tenure, |t| &t.name),
        documents: sorted(&bundle.documents, document, |d| &d.name),
        communications: sorted(&bundle.communications, communication, |c| &c.name),
        statements: sorted(&bundle.statements, statement, |s| &s.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chancery_proto::statements::v1::AttributionHop;

    #[test]
    fn server_set_fields_are_dropped_and_collections_sorted() {
        let stamp = Some(prost_types::Timestamp {
            seconds: 1,
            nanos: 0,
        });
        let bundle = Bundle {
            actors: vec![
                Actor {
                    name: "actors/b".into(),
                    etag: "7".into(),
                    create_time: stamp,
                    ..Default::default()
                },
                Actor {
                    name: "actors/a".into(),
                    ..Default::default()
                },
            ],
            statements: vec![Statement {
                name: "statements/s".into(),
                said: Some(FuzzyDate {
                    edtf: " 2022-03 ".into(),
                    precision: 4,
                    earliest: stamp,
                    as_reported: "in March".into(),
                    ..Default::default()
                }),
                attribution_chain: vec![AttributionHop {
                    position: 3,
                    reporter: "actors/a".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            communications: vec![Communication {
                name: "communications/c".into(),
                lifecycle: 5,
                status_log: vec![StatusAssertion {
                    create_time: stamp,
                    note: "kept".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let clean = client_fields(&bundle);
        assert_eq!(clean.actors[0].name, "actors/a");
        assert_eq!(
            clean.actors[1],
            Actor {
                name: "actors/b".into(),
                ..Default::default()
            }
        );
        let said = clean.statements[0].said.as_ref().unwrap();
        assert_eq!(
            said,
            &FuzzyDate {
                edtf: "2022-03".into(),
                as_reported: "in March".into(),
                ..Default::default()
            }
        );
        assert_eq!(clean.statements[0].attribution_chain[0].position, 0);
        assert_eq!(clean.communications[0].lifecycle, 0);
        assert_eq!(clean.communications[0].status_log[0].create_time, None);
        assert_eq!(clean.communications[0].status_log[0].note, "kept");
        assert!(
            communication_without_log(&bundle.communications[0])
                .status_log
                .is_empty()
        );
        assert_eq!(client_fields(&clean), clean);
    }
}
