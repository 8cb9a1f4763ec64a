//! The I/O half of `GetEpisodeView`: the deadline budget, and the two rounds of batch calls,
//! each call bounded by its round's deadline, retried once on UNAVAILABLE while budget remains
//! (never when the backend's circuit breaker is open),
//! and turned into a missing part (never an error) when it fails.

use std::future::Future;
use std::time::Duration;

use chancery_proto::actors::v1::{Actor, OfficeAnswer, OfficeQuery, ResolveOfficesRequest};
use chancery_proto::communications::v1::Communication;
use chancery_proto::statements::v1::{SourceDocument, Statement};
use chancery_runtime::breaker::is_short_circuit;
use chancery_runtime::lookup::{
    Actors, Communications, LookupClient, Resource, SourceDocuments, Statements,
};
use futures::future::join_all;
use tokio::time::Instant;
use tonic::{Code, Request, Status};

use crate::Gateway;
use crate::view::assemble::Wanted;

/// Most names (or office questions) one batch call carries, as the backends accept. Larger lists
/// are split into several calls sent concurrently, within the same round.
pub(crate) const MAX_BATCH: usize = 10_000;
/// Pause before the one retry of a call that failed with UNAVAILABLE.
const RETRY_BACKOFF: Duration = Duration::from_millis(10);
/// Least time that must remain in the round, after the backoff, for a retry to be worth it.
const MIN_RETRY_BUDGET: Duration = Duration::from_millis(50);
/// Most time kept back from the whole budget to assemble and send the view.
const MAX_ASSEMBLY_RESERVE: Duration = Duration::from_millis(250);

/// The deadlines of one view. Of the time that remains when the first round starts (less a
/// reserve for assembling and sending the answer: a tenth of the total, at most 250 ms), the first round
/// gets half; the second round gets whatever is left until the reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// When the second round must be over: the caller's deadline less the reserve.
    rounds_end: Instant,
}

impl Budget {
    /// The budget of a view that started at `start` and must answer within `total`.
    pub(crate) fn new(start: Instant, total: Duration) -> Self {
        let reserve = (total / 10).min(MAX_ASSEMBLY_RESERVE);
        Self {
            rounds_end: start + total.saturating_sub(reserve),
        }
    }

    /// When the first round, starting `now`, must be over: half of what remains.
    pub(crate) fn round_one(&self, now: Instant) -> Instant {
        now + self.rounds_end.saturating_duration_since(now) / 2
    }

    /// When the second round must be over.
    pub(crate) fn round_two(&self) -> Instant {
        self.rounds_end
    }
}

/// The outcome of one part of a round: what was found, what does not exist, and whether the
/// backend failed to answer (some or all of the part is then missing).
#[derive(Debug, Default)]
pub(crate) struct Fetched<T> {
    /// What the backend answered.
    pub(crate) items: Vec<T>,
    /// Names the backend says do not exist.
    pub(crate) missing: Vec<String>,
    /// True when a call failed or timed out.
    pub(crate) failed: bool,
}

/// Makes one call, bounded by `deadline`: `send` receives the time left (for
/// `Request::set_timeout`) and the call is also cut off locally when the time is up. A call that
/// fails with UNAVAILABLE is retried once, after a short pause, when enough time remains (every
/// call made here is a read) — but not when the backend's circuit breaker refused it: the
/// backend is known to be down and was not even called.
pub(crate) async fn call<R, F, Fut>(
    rpc: &'static str,
    deadline: Instant,
    mut send: F,
) -> Result<R, Status>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<R, Status>>,
{
    let mut retried = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Status::deadline_exceeded(format!(
                "no time left in the view's budget for {rpc}"
            )));
        }
        let outcome = match tokio::time::timeout(left, send(left)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Status::deadline_exceeded(format!(
                "{rpc} did not answer within its budget of {left:?}"
            ))),
        };
        match outcome {
            Err(status)
                if status.code() == Code::Unavailable
                    && !retried
                    && !is_short_circuit(&status)
                    && deadline.saturating_duration_since(Instant::now())
                        > RETRY_BACKOFF + MIN_RETRY_BUDGET =>
            {
                tracing::debug!(rpc, error = %status.message(), "backend unavailable; retrying once");
                retried = true;
                tokio::time::sleep(RETRY_BACKOFF).await;
            }
            outcome => return outcome,
        }
    }
}

/// One chunk of a chunked call and its outcome.
type Chunk<'i, I, R> = (&'i [I], Result<R, Status>);

/// Sends `items` in chunks of at most [`MAX_BATCH`], all at once, and returns each chunk's
/// outcome in order. No items means no call.
async fn chunked<'i, I, R, F, Fut>(
    rpc: &'static str,
    deadline: Instant,
    items: &'i [I],
    send: F,
) -> Vec<Chunk<'i, I, R>>
where
    I: Clone,
    F: Fn(Vec<I>, Duration) -> Fut,
    Fut: Future<Output = Result<R, Status>>,
{
    let chunks: Vec<&[I]> = items.chunks(MAX_BATCH).collect();
    let outcomes = join_all(
        chunks
            .iter()
            .map(|chunk| call(rpc, deadline, |left| send(chunk.to_vec(), left))),
    )
    .await;
    chunks.into_iter().zip(outcomes).collect()
}

/// A batch get of `names`: the found items and missing names of every chunk that answered;
/// `failed` when any did not.
async fn gather<T, F, Fut>(
    rpc: &'static str,
    deadline: Instant,
    names: &[String],
    send: F,
) -> Fetched<T>
where
    F: Fn(Vec<String>, Duration) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Vec<String>), Status>>,
{
    let mut fetched = Fetched {
        items: Vec::new(),
        missing: Vec::new(),
        failed: false,
    };
    for (_, outcome) in chunked(rpc, deadline, names, send).await {
        match outcome {
            Ok((items, missing)) => {
                fetched.items.extend(items);
                fetched.missing.extend(missing);
            }
            Err(status) => {
                tracing::warn!(rpc, code = ?status.code(), error = %status.message(), "backend call failed; the view will be partial");
                fetched.failed = true;
            }
        }
    }
    fetched
}

/// A batch get of `names` from `R`'s service on `client`: each chunk one
/// [`Resource::batch_get`], bounded by `deadline` and retried as [`call`] does.
async fn batch_get<R: Resource>(
    client: &LookupClient,
    deadline: Instant,
    names: &[String],
) -> Fetched<R::Found> {
    gather(R::METHOD, deadline, names, |names, left| {
        R::batch_get(client.clone(), names, left)
    })
    .await
}

/// The time left until `deadline`.
fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// A request for `message` that the backend must answer within `left`.
fn request<M>(message: M, left: Duration) -> Request<M> {
    let mut request = Request::new(message);
    request.set_timeout(left);
    request
}

/// The first round: the member communications and statements, concurrently.
pub(crate) async fn round_one(
    gateway: &Gateway,
    deadline: Instant,
    communications: &[String],
    statements: &[String],
) -> (Fetched<Communication>, Fetched<Statement>) {
    let communication_client = gateway.communications_lookup(left(deadline)).client();
    let statement_client = gateway.statements_lookup(left(deadline)).client();
    tokio::join!(
        batch_get::<Communications>(&communication_client, deadline, communications),
        batch_get::<Statements>(&statement_client, deadline, statements),
    )
}

/// What the second round answered.
#[derive(Debug, Default)]
pub(crate) struct RoundTwo {
    /// The actors.
    pub(crate) actors: Fetched<Actor>,
    /// Each office question answered, with its answer.
    pub(crate) offices: Vec<(OfficeQuery, OfficeAnswer)>,
    /// True when some office questions went unanswered.
    pub(crate) offices_failed: bool,
    /// The source documents.
    pub(crate) documents: Fetched<SourceDocument>,
}

/// The second round: actors, offices at the time and source documents, concurrently.
pub(crate) async fn round_two(gateway: &Gateway, deadline: Instant, wanted: &Wanted) -> RoundTwo {
    let actor_client = gateway.actors_lookup(left(deadline)).client();
    let document_client = gateway.statements_lookup(left(deadline)).client();
    let actors = batch_get::<Actors>(&actor_client, deadline, &wanted.actors);
    let offices = chunked(
        "ResolveOffices",
        deadline,
        &wanted.offices,
        |queries, left| {
            let mut client = gateway.actors();
            async move {
                Ok(client
                    .resolve_offices(request(ResolveOfficesRequest { queries }, left))
                    .await?
                    .into_inner()
                    .answers)
            }
        },
    );
    let documents = batch_get::<SourceDocuments>(&document_client, deadline, &wanted.documents);
    let (actors, offices, documents) = tokio::join!(actors, offices, documents);
    let (offices, offices_failed) = answered_offices(wanted.offices.len(), offices);
    RoundTwo {
        actors,
        offices,
        offices_failed,
        documents,
    }
}

/// The office questions answered, each with its answer, and whether some went unanswered
/// (a chunk that failed, or answered a different number of questions than it was asked).
fn answered_offices(
    asked: usize,
    outcomes: Vec<Chunk<'_, OfficeQuery, Vec<OfficeAnswer>>>,
) -> (Vec<(OfficeQuery, OfficeAnswer)>, bool) {
    let mut answered = Vec::with_capacity(asked);
    let mut offices_failed = false;
    for (queries, outcome) in outcomes {
        match outcome {
            Ok(answers) if answers.len() == queries.len() => {
                answered.extend(queries.iter().cloned().zip(answers));
            }
            Ok(answers) => {
                tracing::warn!(
                    asked = queries.len(),
                    answered = answers.len(),
                    "ResolveOffices answered a different number of questions; ignoring its answer"
                );
                offices_failed = true;
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), error = %status.message(), "ResolveOffices failed; the view will be partial");
                offices_failed = true;
            }
        }
    }
    (answered, offices_failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_budget_gives_round_one_half_and_round_two_the_rest() {
        let start = Instant::now();
        let budget = Budget::new(start, Duration::from_secs(1));
        // A tenth (100 ms) is kept back for assembly.
        assert_eq!(budget.round_two(), start + Duration::from_millis(900));
        assert_eq!(budget.round_one(start), start + Duration::from_millis(450));
        // Reading the episode took 100 ms: round one gets half of the 800 ms left.
        let later = start + Duration::from_millis(100);
        assert_eq!(budget.round_one(later), later + Duration::from_millis(400));
        // The reserve is at most 250 ms.
        let long = Budget::new(start, Duration::from_secs(10));
        assert_eq!(long.round_two(), start + Duration::from_millis(9_750));
        // Past the end, nothing is left.
        let late = start + Duration::from_secs(2);
        assert_eq!(budget.round_one(late), late);
    }

    #[tokio::test]
    async fn unavailable_is_retried_once_and_other_errors_never() {
        let calls = AtomicUsize::new(0);
        let deadline = Instant::now() + Duration::from_secs(1);
        let outcome: Result<(), Status> = call("Rpc", deadline, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Status::unavailable("down")) }
        })
        .await;
        assert_eq!(outcome.unwrap_err().code(), Code::Unavailable);
        assert_eq!(calls.swap(0, Ordering::SeqCst), 2, "one retry");

        let outcome: Result<(), Status> = call("Rpc", deadline, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Status::invalid_argument("bad")) }
        })
        .await;
        assert_eq!(outcome.unwrap_err().code(), Code::InvalidArgument);
        assert_eq!(calls.swap(0, Ordering::SeqCst), 1, "no retry");

        let outcome = call("Rpc", deadline, |_| {
            let attempt = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if attempt == 0 {
                    Err(Status::unavailable("down"))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!(outcome.unwrap(), 7, "the retry answers");
    }

    #[tokio::test]
    async fn a_call_refused_by_an_open_circuit_is_not_retried() {
        let breaker = chancery_runtime::breaker::Breaker::new("gateway", "actors");
        let now = std::time::Instant::now();
        for _ in 0..chancery_runtime::breaker::FAILURE_THRESHOLD {
            breaker.admit(now).unwrap().failed(now);
        }
        let refusal = breaker.refusal(breaker.admit(now).unwrap_err());
        let calls = AtomicUsize::new(0);
        let deadline = Instant::now() + Duration::from_secs(1);
        let outcome: Result<(), Status> = call("Rpc", deadline, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            let refusal = refusal.clone();
            async move { Err(refusal) }
        })
        .await;
        assert!(is_short_circuit(&outcome.unwrap_err()));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry");
    }

    #[tokio::test]
    async fn a_call_that_hangs_is_cut_at_the_deadline_and_not_retried() {
        let calls = AtomicUsize::new(0);
        let start = Instant::now();
        let deadline = start + Duration::from_millis(200);
        let outcome: Result<(), Status> = call("Rpc", deadline, |left| {
            calls.fetch_add(1, Ordering::SeqCst);
            assert!(left <= Duration::from_millis(200));
            std::future::pending()
        })
        .await;
        assert_eq!(outcome.unwrap_err().code(), Code::DeadlineExceeded);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_millis(400),
            "cut at the deadline, not later: {elapsed:?}"
        );

        // With too little time left, an UNAVAILABLE is not retried.
        let deadline = Instant::now() + Duration::from_millis(20);
        let outcome: Result<(), Status> = call("Rpc", deadline, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Status::unavailable("down")) }
        })
        .await;
        assert_eq!(outcome.unwrap_err().code(), Code::Unavailable);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn large_lists_are_split_into_concurrent_chunks() {
        let names: Vec<String> = (0..(2 * MAX_BATCH + 1)).map(|i| format!("x/{i}")).collect();
        let sizes = std::sync::Mutex::new(Vec::new());
        let deadline = Instant::now() + Duration::from_secs(5);
        let fetched: Fetched<String> = gather("Rpc", deadline, &names, |names, _| {
            sizes.lock().unwrap().push(names.len());
            async move { Ok((names, Vec::new())) }
        })
        .await;
        assert_eq!(fetched.items, names, "in order");
        assert!(!fetched.failed);
        assert_eq!(*sizes.lock().unwrap(), [MAX_BATCH, MAX_BATCH, 1]);
        let none: Fetched<String> = gather("Rpc", deadline, &[], |_, _| async {
            panic!("no names, no call")
        })
        .await;
        assert!(none.items.is_empty() && !none.failed);
    }
}
