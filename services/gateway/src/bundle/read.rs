//! Reading resources by name from their owning services for a bundle request: one batch call
//! per 10,000 names where the service has a batch get, else one get per name, run
//! concurrently. Names that do not exist are simply absent from the answer.

use std::collections::HashMap;
use std::future::Future;

use chancery_proto::actors::v1::{
    Actor, BatchGetActorsRequest, GetPostRequest, GetTenureRequest, ListTenuresRequest, Post,
    Tenure,
};
use chancery_proto::communications::v1::{BatchGetCommunicationsRequest, Communication};
use chancery_proto::statements::v1::{
    BatchGetSourceDocumentsRequest, BatchGetStatementsRequest, SourceDocument, Statement,
};
use futures::{StreamExt, TryStreamExt};
use tonic::{Code, Status};

use super::remote::{BATCH, CONCURRENCY, Deadline, reading};
use crate::Gateway;

/// Defines a reader of one collection through its service's batch get: one call per
/// [`BATCH`] names, missing names simply absent from the answer.
macro_rules! batch_reader {
    ($(#[$doc:meta])* $function:ident, $resource:ty, $client:ident, $rpc:ident, $request:ident, $field:ident, $service:literal) => {
        $(#[$doc])*
        pub(crate) async fn $function(
            gateway: &Gateway,
            deadline: &Deadline,
            names: &[String],
        ) -> Result<HashMap<String, $resource>, Status> {
            let mut found = HashMap::with_capacity(names.len());
            for chunk in names.chunks(BATCH) {
                let mut client = gateway.$client();
                let request = $request { names: chunk.to_vec(), allow_missing: true };
                let answer = deadline
                    .call(request, |r| client.$rpc(r))
                    .await
                    .map_err(|status| reading($service, status))?;
                found.extend(answer.$field.into_iter().map(|r| (r.name.clone(), r)));
            }
            Ok(found)
        }
    };
}

batch_reader!(
    /// The actors among `names` that exist, by name.
    actors, Actor, actors, batch_get_actors, BatchGetActorsRequest, actors, "actors"
);
batch_reader!(
    /// The communications among `names` that exist, by name.
    communications, Communication, communications, batch_get_communications,
    BatchGetCommunicationsRequest, communications, "communications"
);
batch_reader!(
    /// The statements among `names` that exist, by name.
    statements, Statement, statements, batch_get_statements, BatchGetStatementsRequest,
    statements, "statements"
);
batch_reader!(
    /// The source documents among `names` that exist, by name.
    documents, SourceDocument, statements, batch_get_source_documents,
    BatchGetSourceDocumentsRequest, source_documents, "statements"
);

/// `Some` of a get's answer, `None` when the resource does not exist.
fn found<T>(answer: Result<T, Status>) -> Result<Option<T>, Status> {
    match answer {
        Ok(resource) => Ok(Some(resource)),
        Err(status) if status.code() == Code::NotFound => Ok(None),
        Err(status) => Err(reading("actors", status)),
    }
}

/// The resources among `names` that exist, by name: one `get` per name (for kinds the actors
/// service has no batch get of), `CONCURRENCY` at a time; NOT_FOUND means absent.
async fn each_found<T, Fut>(
    names: &[String],
    get: impl Fn(String) -> Fut,
    name_of: fn(&T) -> &str,
) -> Result<HashMap<String, T>, Status>
where
    Fut: Future<Output = Result<T, Status>>,
{
    let answers: Vec<Option<T>> = futures::stream::iter(names.iter().cloned())
        .map(|name| async { found(get(name).await) })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(answers
        .into_iter()
        .flatten()
        .map(|resource| (name_of(&resource).to_owned(), resource))
        .collect())
}

/// The posts among `names` that exist, by name (the actors service has no batch get of posts).
pub(crate) async fn posts(
    gateway: &Gateway,
    deadline: &Deadline,
    names: &[String],
) -> Result<HashMap<String, Post>, Status> {
    let get = |name| async move {
        let mut client = gateway.actors();
        deadline
            .call(GetPostRequest { name }, |r| client.get_post(r))
            .await
    };
    each_found(names, get, |post: &Post| &post.name).await
}

/// The tenures among `names` that exist, by name (the actors service has no batch get of
/// tenures).
pub(crate) async fn tenures(
    gateway: &Gateway,
    deadline: &Deadline,
    names: &[String],
) -> Result<HashMap<String, Tenure>, Status> {
    let get = |name| async move {
        let mut client = gateway.actors();
        deadline
            .call(GetTenureRequest { name }, |r| client.get_tenure(r))
            .await
    };
    each_found(names, get, |tenure: &Tenure| &tenure.name).await
}

/// Every tenure of each actor of `actors`, one `ListTenures` (paged) per actor, concurrently.
pub(crate) async fn tenures_of(
    gateway: &Gateway,
    deadline: &Deadline,
    actors: &[String],
) -> Result<Vec<Tenure>, Status> {
    let lists: Vec<Vec<Tenure>> = futures::stream::iter(actors.iter().cloned())
        .map(|parent| async move {
            let mut tenures = Vec::new();
            let mut page_token = String::new();
            loop {
                let mut client = gateway.actors();
                let request = ListTenuresRequest {
                    parent: parent.clone(),
                    page_size: 1000,
                    page_token,
                    post: String::new(),
                };
                let page = deadline
                    .call(request, |r| client.list_tenures(r))
                    .await
                    .map_err(|status| reading("actors", status))?;
                tenures.extend(page.tenures);
                if page.next_page_token.is_empty() {
                    return Ok::<_, Status>(tenures);
                }
                page_token = page.next_page_token;
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(lists.into_iter().flatten().collect())
}
