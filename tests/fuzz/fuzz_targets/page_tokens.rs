//! Page tokens, through every query binding the services use.
//!
//! Input: one byte choosing the list method, then the bytes of its request (protobuf). The
//! request is read with the service's own `read_list_*` (the handler's checks, no store), so a
//! token is bound to exactly the fingerprint the handler would compute.
//!
//! Properties, for every input:
//! - reading a request never panics and gives the same answer twice;
//! - the request's own `page_token` (arbitrary text) decodes only if it re-encodes to itself;
//! - a token issued for any cursor decodes to that cursor, is refused as another query's by any
//!   other method, and is refused once truncated;
//! - a token issued with the method's sort key shape is accepted by the handler's checks, which
//!   resume after exactly that key.

#![no_main]

use chancery_runtime::errors::Violations;
use chancery_runtime::page_token::{self, ListPage, PageTokenError, QueryFingerprint};
use libfuzzer_sys::fuzz_target;
use prost::Message;

use chancery_proto::actors::v1::{ListActorsRequest, ListPostsRequest, ListTenuresRequest};
use chancery_proto::communications::v1::ListCommunicationsRequest;
use chancery_proto::gateway::v1::{GetEpisodeViewRequest, ListEpisodesRequest};
use chancery_proto::statements::v1::{ListSourceDocumentsRequest, ListStatementsRequest};

/// The shape of a method's sort key.
#[derive(Clone, Copy)]
enum Key {
    /// One id.
    Id,
    /// Earliest and latest (integers), then an id.
    Span,
    /// The episode view's timeline key: unknown date (`0` or `1`), earliest, latest, placement
    /// ordinal (integers), then the entry's name.
    View,
}

/// What reading a request gave: the query its tokens are bound to and the key to resume after
/// (as the token's strings), or the violations.
type Outcome = Result<(QueryFingerprint, Option<Vec<String>>), Violations>;

/// A list request, as the handler reads it.
trait ListRequest: Message + Default + Clone {
    const METHOD: &'static str;
    const KEY: Key;
    fn token(&mut self) -> &mut String;
    fn read(&self) -> Outcome;
}

fn ids<F>(list: ListPage<F, String>) -> (QueryFingerprint, Option<Vec<String>>) {
    (list.query, list.after.map(|id| vec![id]))
}

fn spans<F>(list: ListPage<F, (i64, i64, String)>) -> (QueryFingerprint, Option<Vec<String>>) {
    let after = list
        .after
        .map(|(earliest, latest, id)| vec![earliest.to_string(), latest.to_string(), id]);
    (list.query, after)
}

macro_rules! list_request {
    ($request:ty, $method:literal, $key:expr, |$r:ident| $read:expr) => {
        impl ListRequest for $request {
            const METHOD: &'static str = $method;
            const KEY: Key = $key;
            fn token(&mut self) -> &mut String {
                &mut self.page_token
            }
            fn read(&self) -> Outcome {
                let $r = self;
                $read
            }
        }
    };
}

list_request!(ListActorsRequest, "ListActors", Key::Id, |r| {
    chancery_actors::domain::read_list_actors(r).map(ids)
});
list_request!(ListPostsRequest, "ListPosts", Key::Id, |r| {
    chancery_actors::domain::read_list_posts(r).map(ids)
});
list_request!(ListTenuresRequest, "ListTenures", Key::Span, |r| {
    chancery_actors::domain::read_list_tenures(r).map(|list| {
        let after = list
            .after
            .map(|(start, actor, id)| vec![start.to_string(), actor, id]);
        (list.query, after)
    })
});
list_request!(
    ListCommunicationsRequest,
    "ListCommunications",
    Key::Span,
    |r| {
        chancery_communications::domain::read_list_communications(r).map(|list| {
            let after = list.after.map(|cursor| {
                vec![
                    cursor.earliest.to_string(),
                    cursor.latest.to_string(),
                    cursor.id,
                ]
            });
            (list.query, after)
        })
    }
);
list_request!(ListStatementsRequest, "ListStatements", Key::Span, |r| {
    chancery_statements::domain::read_list_statements(r).map(spans)
});
list_request!(
    ListSourceDocumentsRequest,
    "ListSourceDocuments",
    Key::Id,
    |r| chancery_statements::domain::read_list_source_documents(r).map(ids)
);
list_request!(ListEpisodesRequest, "ListEpisodes", Key::Id, |r| {
    chancery_gateway::domain::read_list_episodes(r).map(ids)
});
list_request!(GetEpisodeViewRequest, "GetEpisodeView", Key::View, |r| {
    chancery_gateway::view::read_request(r).map(|page| {
        let after = page.after.map(|(unknown, earliest, latest, ordinal, id)| {
            vec![
                if unknown { "1" } else { "0" }.to_owned(),
                earliest.to_string(),
                latest.to_string(),
                ordinal.to_string(),
                id,
            ]
        });
        (chancery_gateway::view::fingerprint(&r.name), after)
    })
});

/// An outcome in a comparable form: the query as a token it seals.
fn comparable(outcome: &Outcome) -> Result<(String, Option<Vec<String>>), Violations> {
    match outcome {
        Ok((query, after)) => Ok((page_token::encode(query, &["probe"]), after.clone())),
        Err(violations) => Err(violations.clone()),
    }
}

fn issue(query: &QueryFingerprint, cursor: &[String]) -> String {
    let parts: Vec<&str> = cursor.iter().map(String::as_str).collect();
    page_token::encode(query, &parts)
}

fn run<R: ListRequest>(bytes: &[u8]) {
    let Ok(request) = R::decode(bytes) else {
        return;
    };
    let own = request.read();
    assert_eq!(
        comparable(&own),
        comparable(&request.read()),
        "not deterministic"
    );

    let mut first = request.clone();
    let token = std::mem::take(first.token());
    let Ok((query, after)) = first.read() else {
        // An invalid request has no query to bind tokens to; reading it with its token is
        // covered above.
        return;
    };
    assert_eq!(after, None, "{}: no token, yet a cursor", R::METHOD);

    // The request's own token: arbitrary text.
    match page_token::decode(&token, &query) {
        Ok(None) => assert!(token.is_empty()),
        Ok(Some(cursor)) => {
            assert_eq!(
                issue(&query, &cursor),
                token,
                "{}: token does not round-trip",
                R::METHOD
            );
        }
        Err(_) => assert!(own.is_err(), "{}: refused token accepted", R::METHOD),
    }

    // A token issued for an arbitrary cursor.
    let cursor: Vec<String> = token.split('.').map(str::to_owned).collect();
    let issued = issue(&query, &cursor);
    assert_eq!(
        page_token::decode(&issued, &query),
        Ok(Some(cursor.clone()))
    );
    for other in ["ListActors", "ListPosts", "ListEpisodes", "GetEpisodeView"] {
        if other != R::METHOD {
            let foreign = QueryFingerprint::new(other);
            assert_eq!(
                page_token::decode(&issued, &foreign),
                Err(PageTokenError::OtherQuery)
            );
        }
    }
    assert!(page_token::decode(&issued[..issued.len() - 1], &query).is_err());

    // A token issued with the method's key shape resumes after exactly that key.
    let key = match R::KEY {
        Key::Id => vec![cursor[0].clone()],
        Key::Span => {
            let number = |part: &String| part.parse::<i64>().unwrap_or(part.len() as i64);
            let id = cursor.last().cloned().unwrap_or_default();
            vec![
                number(&cursor[0]).to_string(),
                cursor.get(1).map(number).unwrap_or(0).to_string(),
                id,
            ]
        }
        Key::View => {
            let number = |part: &String| part.parse::<i64>().unwrap_or(part.len() as i64);
            let at = |i: usize| cursor.get(i).map(number).unwrap_or(0);
            let id = cursor.last().cloned().unwrap_or_default();
            vec![
                (at(0).rem_euclid(2)).to_string(),
                at(1).to_string(),
                at(2).to_string(),
                at(3).to_string(),
                id,
            ]
        }
    };
    let mut next = request.clone();
    *next.token() = issue(&query, &key);
    let read = next.read().map(|(_, after)| after);
    assert_eq!(read, Ok(Some(key)), "{}: issued key refused", R::METHOD);
}

fuzz_target!(|data: &[u8]| {
    let Some((&method, request)) = data.split_first() else {
        return;
    };
    match method % 8 {
        0 => run::<ListActorsRequest>(request),
        1 => run::<ListPostsRequest>(request),
        2 => run::<ListTenuresRequest>(request),
        3 => run::<ListCommunicationsRequest>(request),
        4 => run::<ListStatementsRequest>(request),
        5 => run::<ListSourceDocumentsRequest>(request),
        6 => run::<ListEpisodesRequest>(request),
        _ => run::<GetEpisodeViewRequest>(request),
    }
});
