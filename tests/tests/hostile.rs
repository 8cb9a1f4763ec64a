//! Hostile input: every service under at least 10 000 generated and mutated requests, messages
//! over the size limits, HTTP/2 limits as the server advertises them, and the lockfile free of
//! the known HTTP/2 denial-of-service advisories.
//!
//! The fuzz runs print their seed; `CHANCERY_FUZZ_SEED=<seed>` replays a run's requests (the
//! names picked from the store depend on timing, so a replay is close, not exact) and
//! `CHANCERY_FUZZ_CASES=<n>` runs more requests per service, `CHANCERY_FUZZ_IN_FLIGHT=<n>` sets
//! the requests in flight (12), and `CHANCERY_FUZZ_TRACE=1` prints every request with its
//! code, time taken and send time (to find what a stall lines up with).
//!
//! The servers run on the test's runtime: building requests (a few MB at most) and booking
//! outcomes happen on the blocking pool, so the client never takes the servers' threads.
//!
//! What a response may be, for every request:
//! - OK, or INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED,
//!   OUT_OF_RANGE, RESOURCE_EXHAUSTED — never INTERNAL, UNKNOWN, DATA_LOSS, UNAVAILABLE,
//!   DEADLINE_EXCEEDED or a broken stream (a panicking handler shows as one of these);
//! - INVALID_ARGUMENT carries a `google.rpc.BadRequest` with at least one field violation, each
//!   with a non-empty field path. The one exception is bytes that are not a valid encoding of
//!   the request message at all (only raw-mutated requests): tonic refuses them before any
//!   handler runs, and the server answers INVALID_ARGUMENT with tonic's message
//!   `failed to decode Protobuf message: …` and no field details.

#[path = "support/hostile.rs"]
mod hostile;
#[path = "support/http2.rs"]
mod http2;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chancery_proto::gateway::v1::ImportBundleRequest;
use chancery_testkit::{Suite, seed, spawn_suite};
use hostile::{
    Generator, Known, Mode, Rng, call, collection, decode, dynamic, message_field, method,
    method_collection, mutate_bytes, string_field,
};
use prost::Message as _;
use prost::bytes::Bytes;
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MethodDescriptor, ReflectMessage, Value,
};
use tonic::Code;
use tonic::transport::Channel;

/// The descriptors of the whole API.
pub(crate) fn pool() -> &'static DescriptorPool {
    chancery_proto::json::descriptor_pool()
}

/// Requests in flight at once against the service under test (`CHANCERY_FUZZ_IN_FLIGHT`
/// overrides it, 1 to find which request is slow).
const IN_FLIGHT: usize = 12;

/// A service under test: its gRPC name and, per collection it owns, the list RPC that shows
/// everything stored.
struct Spec {
    service: &'static str,
    /// (collection, list method, `parent` to send, field of the response holding the items)
    lists: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

const ACTORS: Spec = Spec {
    service: "chancery.actors.v1.ActorService",
    lists: &[
        ("actors", "ListActors", "", "actors"),
        ("posts", "ListPosts", "", "posts"),
        ("tenures", "ListTenures", "actors/-", "tenures"),
    ],
};

const COMMUNICATIONS: Spec = Spec {
    service: "chancery.communications.v1.CommunicationService",
    lists: &[("communications", "ListCommunications", "", "communications")],
};

const STATEMENTS: Spec = Spec {
    service: "chancery.statements.v1.StatementService",
    lists: &[
        ("statements", "ListStatements", "", "statements"),
        ("documents", "ListSourceDocuments", "", "source_documents"),
    ],
};

const GATEWAY: Spec = Spec {
    service: "chancery.gateway.v1.EpisodeService",
    lists: &[("episodes", "ListEpisodes", "", "episodes")],
};

/// Every item of one list RPC, following page tokens.
async fn list_all(
    channel: &Channel,
    service: &str,
    list: &str,
    parent: &str,
    field: &str,
) -> Vec<DynamicMessage> {
    let method = method(service, list);
    let path = format!("/{service}/{list}");
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let mut request = DynamicMessage::new(method.input());
        request.set_field_by_name("page_size", Value::I32(1000));
        request.set_field_by_name("page_token", Value::String(token.clone()));
        if !parent.is_empty() {
            request.set_field_by_name("parent", Value::String(parent.to_owned()));
        }
        let response = call(channel.clone(), &path, request.encode_to_vec().into())
            .await
            .unwrap_or_else(|status| panic!("{path}: {status:?}"));
        let response = decode(&method.output(), &response).expect("a list response decodes");
        if let Some(list) = response.get_field_by_name(field)
            && let Some(list) = list.as_list()
        {
            items.extend(list.iter().filter_map(|v| v.as_message().cloned()));
        }
        token = string_field(&response, "next_page_token").unwrap_or_default();
        if token.is_empty() {
            return items;
        }
    }
}

/// What the run observed, and what it expects the store to hold.
#[derive(Default)]
struct Ledger {
    known: Known,
    /// name → etag, before the first hostile request.
    initial: HashMap<String, String>,
    /// name → etags of OK creates (and imports) that returned it.
    created: HashMap<String, Vec<String>>,
    /// Names an OK delete removed.
    deleted: HashSet<String>,
    /// Names an OK update, status append, membership change or import returned.
    touched: HashSet<String>,
    /// (method, mode) → code → count.
    codes: BTreeMap<(String, Mode), BTreeMap<String, usize>>,
    failures: Vec<String>,
    failure_count: usize,
    /// Requests that took over a second: (time, case, method, mode, request bytes).
    slow: Vec<(Duration, usize, String, Mode, usize)>,
}

impl Ledger {
    fn fail(&mut self, failure: String) {
        self.failure_count += 1;
        if self.failures.len() < 25 {
            self.failures.push(failure);
        }
    }

    /// Learns every resource name in a response: the resource itself, the items of a list or
    /// batch, an import's episode, page tokens.
    fn learn_response(&mut self, response: &DynamicMessage) {
        if let Some(name) = string_field(response, "name") {
            self.known.learn(&name, Some(response));
        }
        if let Some(token) = string_field(response, "next_page_token")
            && !token.is_empty()
            && self.known.tokens.len() < 2000
        {
            self.known.tokens.push(token);
        }
        for field in response.descriptor().fields() {
            if let Kind::Message(_) = field.kind() {
                let value = response.get_field(&field);
                let items: Vec<DynamicMessage> = match value.as_list() {
                    Some(list) => list
                        .iter()
                        .filter_map(|v| v.as_message().cloned())
                        .collect(),
                    None => value.as_message().cloned().into_iter().collect(),
                };
                for item in items {
                    if let Some(name) = string_field(&item, "name") {
                        self.known.learn(&name, Some(&item));
                    }
                }
            }
        }
    }

    /// Checks one outcome and books what it changed.
    fn record(
        &mut self,
        case: usize,
        method: &MethodDescriptor,
        mode: Mode,
        request: &[u8],
        outcome: Result<Bytes, tonic::Status>,
    ) {
        let name = method.name().to_owned();
        let code = match &outcome {
            Ok(_) => "OK".to_owned(),
            Err(status) => format!("{:?}", status.code()),
        };
        *self
            .codes
            .entry((name.clone(), mode))
            .or_default()
            .entry(code)
            .or_default() += 1;
        let response = match outcome {
            Err(status) => {
                let allowed = matches!(
                    status.code(),
                    Code::InvalidArgument
                        | Code::NotFound
                        | Code::AlreadyExists
                        | Code::FailedPrecondition
                        | Code::Aborted
                        | Code::OutOfRange
                        | Code::ResourceExhausted
                );
                // A broken connection or stream (a reset, a GOAWAY, headers too big to read)
                // is never an answer, whatever code the client maps it to.
                let broken = std::error::Error::source(&status).is_some()
                    || status.message().contains("h2 protocol error");
                if !allowed || broken {
                    self.fail(format!(
                        "case {case} {name} ({mode:?}): {:?} {:?}",
                        status.code(),
                        status.message()
                    ));
                    return;
                }
                if status.code() == Code::InvalidArgument {
                    let fields = chancery_testkit::field_violations(&status);
                    let undecodable = mode == Mode::Raw
                        && status
                            .message()
                            .starts_with("failed to decode Protobuf message");
                    if fields.is_empty() && !undecodable {
                        self.fail(format!(
                            "case {case} {name} ({mode:?}): INVALID_ARGUMENT without field violations: {:?}",
                            status.message()
                        ));
                    }
                    if fields.iter().any(|f| f.trim().is_empty()) {
                        self.fail(format!(
                            "case {case} {name} ({mode:?}): an empty field path in {fields:?}"
                        ));
                    }
                }
                return;
            }
            Ok(bytes) => bytes,
        };
        let Some(response) = decode(&method.output(), &response) else {
            self.fail(format!(
                "case {case} {name} ({mode:?}): OK with an undecodable response"
            ));
            return;
        };
        self.learn_response(&response);
        let resource = if name == "ImportBundle" {
            message_field(&response, "episode")
        } else {
            Some(response.clone())
        };
        let resource_name = resource.as_ref().and_then(|r| string_field(r, "name"));
        let etag = resource
            .as_ref()
            .and_then(|r| string_field(r, "etag"))
            .unwrap_or_default();
        if name.starts_with("Create") || name == "ImportBundle" {
            match resource_name {
                Some(created) if !created.is_empty() => {
                    self.created.entry(created.clone()).or_default().push(etag);
                    if name == "ImportBundle" {
                        self.touched.insert(created);
                    }
                }
                _ => self.fail(format!("case {case} {name}: OK create without a name")),
            }
        } else if name.starts_with("Delete") {
            match decode(&method.input(), request).and_then(|r| string_field(&r, "name")) {
                Some(deleted) => {
                    self.deleted.insert(deleted);
                }
                None => self.fail(format!(
                    "case {case} {name} ({mode:?}): OK for a request the test cannot decode"
                )),
            }
        } else if (name.starts_with("Update")
            || name == "AppendStatus"
            || name.ends_with("EpisodeMembers"))
            && let Some(touched) = resource_name
        {
            self.touched.insert(touched);
        }
    }

    /// Whether `name` is gone for a reason: an OK delete of it or of the actor it belongs to.
    fn deleted(&self, name: &str) -> bool {
        self.deleted.contains(name)
            || name
                .split_once("/tenures/")
                .is_some_and(|(actor, _)| self.deleted.contains(actor))
    }
}

/// Every list of the suite, so generated references can name real resources of any service.
async fn learn_everything(suite: &Suite, known: &mut Known) {
    for (server, spec) in [
        (&suite.actors, &ACTORS),
        (&suite.communications, &COMMUNICATIONS),
        (&suite.statements, &STATEMENTS),
        (&suite.gateway, &GATEWAY),
    ] {
        for (_, list, parent, field) in spec.lists {
            for item in list_all(&server.channel, spec.service, list, parent, field).await {
                let name = string_field(&item, "name").expect("resources have names");
                known.learn(&name, Some(&item));
            }
        }
    }
}

/// The demo bundle's resources as dynamic messages, by message type.
fn bundle_resources() -> HashMap<String, Vec<DynamicMessage>> {
    let bundle = seed::bundle();
    let mut by_type: HashMap<String, Vec<DynamicMessage>> = HashMap::new();
    let mut add = |full_name: &str, messages: Vec<DynamicMessage>| {
        by_type.insert(full_name.to_owned(), messages);
    };
    add(
        "chancery.actors.v1.Actor",
        bundle
            .actors
            .iter()
            .map(|m| dynamic("chancery.actors.v1.Actor", m))
            .collect(),
    );
    add(
        "chancery.actors.v1.Post",
        bundle
            .posts
            .iter()
            .map(|m| dynamic("chancery.actors.v1.Post", m))
            .collect(),
    );
    add(
        "chancery.actors.v1.Tenure",
        bundle
            .tenures
            .iter()
            .map(|m| dynamic("chancery.actors.v1.Tenure", m))
            .collect(),
    );
    add(
        "chancery.statements.v1.SourceDocument",
        bundle
            .documents
            .iter()
            .map(|m| dynamic("chancery.statements.v1.SourceDocument", m))
            .collect(),
    );
    add(
        "chancery.communications.v1.Communication",
        bundle
            .communications
            .iter()
            .map(|m| dynamic("chancery.communications.v1.Communication", m))
            .collect(),
    );
    add(
        "chancery.statements.v1.Statement",
        bundle
            .statements
            .iter()
            .map(|m| dynamic("chancery.statements.v1.Statement", m))
            .collect(),
    );
    add(
        "chancery.gateway.v1.Episode",
        bundle
            .episode
            .iter()
            .map(|m| dynamic("chancery.gateway.v1.Episode", m))
            .collect(),
    );
    add(
        "chancery.gateway.v1.Bundle",
        vec![dynamic("chancery.gateway.v1.Bundle", &bundle)],
    );
    add(
        "chancery.communications.v1.StatusAssertion",
        bundle
            .communications
            .iter()
            .flat_map(|c| c.status_log.iter())
            .map(|m| dynamic("chancery.communications.v1.StatusAssertion", m))
            .collect(),
    );
    by_type
}

/// A valid request for `method` made from the demo bundle, when there is one: a create with a
/// fresh id, an update of one text field of a stored resource, a status appended, the bundle
/// imported under a fresh episode name.
fn seeded(
    generator: &mut Generator<'_>,
    method: &MethodDescriptor,
    resources: &HashMap<String, Vec<DynamicMessage>>,
) -> Option<DynamicMessage> {
    let input = method.input();
    let mut request = DynamicMessage::new(input.clone());
    let name = method.name();
    let resource_field = input.fields().find(|f| match f.kind() {
        Kind::Message(m) => resources.contains_key(m.full_name()),
        _ => false,
    })?;
    let Kind::Message(resource_type) = resource_field.kind() else {
        return None;
    };
    if name.starts_with("Update") {
        let collection = method_collection(name);
        let names = generator.known.names.get(collection)?;
        let target = generator.rng.pick(names).clone();
        let mut body = generator.known.bodies.get(&target)?.clone();
        let field = [
            "display_name",
            "title",
            "summary",
            "description",
            "location",
        ]
        .into_iter()
        .find(|f| resource_type.get_field_by_name(f).is_some())?;
        let fresh = generator.fresh_id();
        body.set_field_by_name(field, Value::String(format!("renamed {fresh}")));
        body.set_field_by_name("etag", Value::String(String::new()));
        request.set_field(&resource_field, Value::Message(body));
        let mask_field = input.get_field_by_name("update_mask")?;
        let Kind::Message(mask_type) = mask_field.kind() else {
            return None;
        };
        let mut mask = DynamicMessage::new(mask_type);
        mask.set_field_by_name("paths", Value::List(vec![Value::String(field.to_owned())]));
        request.set_field(&mask_field, Value::Message(mask));
        return Some(request);
    }
    let candidates = resources.get(resource_type.full_name())?;
    let mut resource = generator.rng.pick(candidates).clone();
    let fresh = generator.fresh_id();
    if name == "ImportBundle" {
        let mut episode = message_field(&resource, "episode")?;
        episode.set_field_by_name("name", Value::String(format!("episodes/{fresh}")));
        resource.set_field_by_name("episode", Value::Message(episode));
    } else if name == "AppendStatus" {
        let names = generator.known.names.get("communications")?;
        let target = generator.rng.pick(names).clone();
        request.set_field_by_name("name", Value::String(target));
    } else if name.starts_with("Create") {
        let original = string_field(&resource, "name").unwrap_or_default();
        for cleared in ["name", "etag", "external_ids", "create_time", "update_time"] {
            if resource.descriptor().get_field_by_name(cleared).is_some() {
                resource.clear_field_by_name(cleared);
            }
        }
        let id_field = input
            .fields()
            .find(|f| f.name().ends_with("_id") && f.name() != "request_id")?;
        request.set_field(&id_field, Value::String(fresh));
        if let Some((parent, _)) = original.split_once("/tenures/") {
            request.set_field_by_name("parent", Value::String(parent.to_owned()));
        }
    } else {
        return None;
    }
    request.set_field(&resource_field, Value::Message(resource));
    Some(request)
}

/// One request: which RPC, how it was made, its bytes.
fn next_request(
    generator: &mut Generator<'_>,
    methods: &[MethodDescriptor],
    resources: &HashMap<String, Vec<DynamicMessage>>,
) -> (MethodDescriptor, Mode, Vec<u8>) {
    let method = generator.rng.pick(methods).clone();
    generator.collection = method_collection(method.name());
    let roll = generator.rng.below(100);
    let (mode, message) = if roll < 20 {
        match seeded(generator, &method, resources) {
            Some(request) => (Mode::Seeded, request),
            None => {
                generator.gentle = true;
                (Mode::Gentle, generator.message(&method.input(), 0))
            }
        }
    } else if roll < 35 {
        generator.gentle = true;
        (Mode::Gentle, generator.message(&method.input(), 0))
    } else if roll < 65 {
        (Mode::Hostile, generator.message(&method.input(), 0))
    } else if roll < 80 {
        let mut request = match seeded(generator, &method, resources) {
            Some(request) => request,
            None => {
                generator.gentle = true;
                let request = generator.message(&method.input(), 0);
                generator.gentle = false;
                request
            }
        };
        generator.mutate(&mut request, 0);
        (Mode::Mutated, request)
    } else {
        generator.gentle = generator.rng.percent(50);
        let base = seeded(generator, &method, resources)
            .unwrap_or_else(|| generator.message(&method.input(), 0));
        let other_method = generator.rng.pick(methods).clone();
        let other = generator.message(&other_method.input(), 0);
        let bytes = mutate_bytes(
            &mut generator.rng,
            &base.encode_to_vec(),
            &other.encode_to_vec(),
        );
        return (method, Mode::Raw, bytes);
    };
    (method, mode, message.encode_to_vec())
}

/// Sends `cases()` hostile requests to the service of `spec` in a wired suite holding the demo
/// episode, checks every response, then checks that the store holds exactly what OK responses
/// explain and that the service still serves.
async fn survive(spec: &Spec, pick: fn(&Suite) -> &chancery_testkit::TestServer) {
    let seed = hostile::seed();
    let cases = hostile::cases();
    eprintln!(
        "{}: CHANCERY_FUZZ_SEED={seed} CHANCERY_FUZZ_CASES={cases}",
        spec.service
    );
    let suite = spawn_suite().await;
    suite
        .gateway
        .gateway()
        .import_bundle(ImportBundleRequest {
            bundle: Some(seed::bundle()),
        })
        .await
        .expect("the demo bundle imports");
    let server = pick(&suite);
    let channel = server.channel.clone();

    let mut ledger = Ledger::default();
    learn_everything(&suite, &mut ledger.known).await;
    for (_, list, parent, field) in spec.lists {
        for item in list_all(&channel, spec.service, list, parent, field).await {
            let name = string_field(&item, "name").expect("named");
            let etag = string_field(&item, "etag").unwrap_or_default();
            ledger.initial.insert(name, etag);
        }
    }
    assert!(!ledger.initial.is_empty(), "the demo episode is loaded");

    let methods: Arc<Vec<MethodDescriptor>> = Arc::new(
        pool()
            .get_service_by_name(spec.service)
            .expect("service")
            .methods()
            .collect(),
    );
    let resources = Arc::new(bundle_resources());
    let ledger = Arc::new(Mutex::new(ledger));
    let next = Arc::new(AtomicUsize::new(0));
    let fresh = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    let in_flight = std::env::var("CHANCERY_FUZZ_IN_FLIGHT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(IN_FLIGHT);
    for _ in 0..in_flight {
        let (ledger, next, fresh, resources, methods, channel) = (
            ledger.clone(),
            next.clone(),
            fresh.clone(),
            resources.clone(),
            methods.clone(),
            channel.clone(),
        );
        let service = spec.service;
        let trace = std::env::var_os("CHANCERY_FUZZ_TRACE").is_some();
        workers.spawn(async move {
            loop {
                let case = next.fetch_add(1, Ordering::Relaxed);
                if case >= cases {
                    return;
                }
                // Building a request (some are over 100 MB) and booking its outcome are CPU
                // work under a blocking lock: both run on the blocking pool, never on the
                // runtime's worker threads, which also run the four servers. (Done on a
                // worker, a 100 MB request froze every server for 10-20 s while it was built.)
                let (method, mode, bytes) = {
                    let (ledger, fresh, resources, methods) = (
                        ledger.clone(),
                        fresh.clone(),
                        resources.clone(),
                        methods.clone(),
                    );
                    tokio::task::spawn_blocking(move || {
                        let ledger = ledger.lock().expect("ledger");
                        let mut generator = Generator {
                            rng: Rng::new(
                                seed ^ (case as u64).wrapping_mul(0xA24B_AED4_963E_E407),
                            ),
                            known: &ledger.known,
                            gentle: false,
                            collection: "other",
                            self_id: None,
                            fresh: &fresh,
                            short: false,
                            budget: 300,
                        };
                        let (method, mode, bytes) =
                            next_request(&mut generator, &methods, &resources);
                        (method, mode, Bytes::from(bytes))
                    })
                    .await
                    .expect("building a request panicked")
                };
                let path = format!("/{service}/{}", method.name());
                let sent = Instant::now();
                let outcome = call(channel.clone(), &path, bytes.clone()).await;
                let took = sent.elapsed();
                if trace {
                    let code = match &outcome {
                        Ok(_) => "OK".to_owned(),
                        Err(status) => format!("{:?}", status.code()),
                    };
                    eprintln!(
                        "  case {case} {} ({mode:?}, {} bytes): {code} after {took:.2?} (sent at {:.2?})",
                        method.name(),
                        bytes.len(),
                        sent.duration_since(started)
                    );
                }
                let ledger = ledger.clone();
                tokio::task::spawn_blocking(move || {
                    let mut ledger = ledger.lock().expect("ledger");
                    if took > Duration::from_secs(1) {
                        ledger
                            .slow
                            .push((took, case, method.name().to_owned(), mode, bytes.len()));
                    }
                    ledger.record(case, &method, mode, &bytes, outcome);
                })
                .await
                .expect("booking an outcome panicked");
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.expect("a fuzz worker panicked");
    }
    let elapsed = started.elapsed();
    let ledger = Arc::into_inner(ledger)
        .expect("workers are done")
        .into_inner()
        .expect("ledger");

    // The codes each RPC answered, by how its requests were made.
    let mut by_method: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut ok_writes = 0;
    for ((method, mode), codes) in &ledger.codes {
        eprintln!("  {method:<26} {mode:<8?} {codes:?}");
        for (code, n) in codes {
            *by_method
                .entry(method.as_str())
                .or_default()
                .entry(code.as_str())
                .or_default() += n;
            if code == "OK" && !method.starts_with("Get") && !method.starts_with("List") {
                ok_writes += n;
            }
        }
    }
    eprintln!(
        "{}: {cases} requests in {elapsed:.1?} ({:.0}/s), {} failures, seed {seed}",
        spec.service,
        cases as f64 / elapsed.as_secs_f64(),
        ledger.failure_count
    );
    let mut slow = ledger.slow.clone();
    slow.sort_by_key(|s| s.1);
    for (took, case, method, mode, size) in slow.iter().take(40) {
        eprintln!("  slow: case {case} {method} ({mode:?}, {size} bytes) took {took:.1?}");
    }
    assert!(
        ledger.failures.is_empty(),
        "{} of {cases} responses broke the rules (CHANCERY_FUZZ_SEED={seed}):\n{}",
        ledger.failure_count,
        ledger.failures.join("\n")
    );
    for method in methods.iter() {
        let codes = by_method.get(method.name()).cloned().unwrap_or_default();
        let total: usize = codes.values().sum();
        assert!(
            total >= cases / methods.len() / 3,
            "{} got only {total} requests",
            method.name()
        );
        assert!(
            codes.contains_key("InvalidArgument"),
            "{} never refused anything: {codes:?}",
            method.name()
        );
    }
    assert!(
        !ledger.created.is_empty() && ok_writes > cases / 50,
        "the store barely changed: {} creates, {ok_writes} OK writes",
        ledger.created.len()
    );

    // Nothing stored for a rejected request, nothing lost without an OK delete, and resources
    // no OK write touched keep their etag.
    let mut problems = Vec::new();
    for (collection_name, list, parent, field) in spec.lists {
        let stored = list_all(&channel, spec.service, list, parent, field).await;
        let mut present = HashSet::new();
        for item in stored {
            let name = string_field(&item, "name").expect("named");
            let etag = string_field(&item, "etag").unwrap_or_default();
            present.insert(name.clone());
            let initial = ledger.initial.get(&name);
            let created = ledger.created.get(&name);
            if initial.is_none() && created.is_none() {
                problems.push(format!("{name} is stored but no OK create returned it"));
                continue;
            }
            if ledger.touched.contains(&name) || ledger.deleted.contains(&name) {
                continue;
            }
            let expected: Vec<&String> = initial
                .into_iter()
                .chain(created.into_iter().flatten())
                .collect();
            if !expected.contains(&&etag) {
                problems.push(format!(
                    "{name}: etag {etag:?} changed without an OK write naming it (expected one of {expected:?})"
                ));
            }
        }
        for name in ledger.initial.keys().chain(ledger.created.keys()) {
            if collection(name) == *collection_name
                && !present.contains(name)
                && !ledger.deleted(name)
            {
                problems.push(format!("{name} is gone but no OK delete named it"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the store does not match the OK responses (CHANCERY_FUZZ_SEED={seed}):\n{}",
        problems.join("\n")
    );

    // Still serving.
    let health = server
        .health()
        .check(tonic_health::pb::HealthCheckRequest {
            service: spec.service.to_owned(),
        })
        .await
        .expect("health answers after the run")
        .into_inner();
    assert_eq!(
        health.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    suite.stop().await;
}

/// The actors service under ≥ 10 000 generated, mutated and raw-mutated requests to every RPC
/// (self-parents, parent cycles, impossible tenure dates, thousands of names and external ids,
/// tampered page tokens, SQL in `name_contains`): no INTERNAL or UNKNOWN, every
/// INVALID_ARGUMENT with field paths, the store exactly what the OK responses explain, etags
/// of untouched resources unchanged, the server still serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_survive_hostile_requests() {
    survive(&ACTORS, |suite| &suite.actors).await;
}

/// The communications service under the same run as the actors service (participants by the
/// thousand, impossible planned/occurred dates, previous_in_series pointing at itself,
/// statuses appended with forged etags).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communications_survive_hostile_requests() {
    survive(&COMMUNICATIONS, |suite| &suite.communications).await;
}

/// The statements service under the same run (replies to themselves, attribution chains by
/// the thousand, quoted spans out of range, documents with hostile URLs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_survive_hostile_requests() {
    survive(&STATEMENTS, |suite| &suite.statements).await;
}

/// The gateway's episodes and bundles under the same run (members by the thousand, views of
/// missing episodes with tampered page tokens, mutated bundles).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_survives_hostile_requests() {
    survive(&GATEWAY, |suite| &suite.gateway).await;
}

/// A message of exactly `total` bytes: field 2 (a string: `actor_id`, `episode_id`…) padded
/// with `a`s.
fn message_of(total: usize) -> Bytes {
    // tag (1 byte) + length varint + payload = total
    for varint_len in 1..=5 {
        let payload = total - 1 - varint_len;
        let mut encoded = Vec::with_capacity(total);
        encoded.push(0x12);
        prost::encoding::encode_varint(payload as u64, &mut encoded);
        if encoded.len() == 1 + varint_len {
            encoded.resize(total, b'a');
            return encoded.into();
        }
    }
    unreachable!("a length fits in five varint bytes")
}

/// A request one byte over a service's `MAX_MESSAGE_BYTES` (4 MiB for actors, communications
/// and statements, 32 MiB for the gateway) is refused with RESOURCE_EXHAUSTED, its message
/// naming the size and the limit; one of exactly the limit reaches the handler (which refuses
/// the 4 MiB id with INVALID_ARGUMENT on its field); the server keeps serving.
#[tokio::test]
async fn oversized_requests_are_resource_exhausted_at_the_documented_limit() {
    let suite = spawn_suite().await;
    for (server, path, limit, id_field) in [
        (
            &suite.actors,
            "/chancery.actors.v1.ActorService/CreateActor",
            chancery_actors::MAX_MESSAGE_BYTES,
            "actor_id",
        ),
        (
            &suite.communications,
            "/chancery.communications.v1.CommunicationService/CreateCommunication",
            chancery_communications::MAX_MESSAGE_BYTES,
            "communication_id",
        ),
        (
            &suite.statements,
            "/chancery.statements.v1.StatementService/CreateStatement",
            chancery_statements::MAX_MESSAGE_BYTES,
            "statement_id",
        ),
        (
            &suite.gateway,
            "/chancery.gateway.v1.EpisodeService/CreateEpisode",
            chancery_gateway::MAX_MESSAGE_BYTES,
            "episode_id",
        ),
    ] {
        let over = call(server.channel.clone(), path, message_of(limit + 1))
            .await
            .expect_err("one byte over the limit is refused");
        assert_eq!(over.code(), Code::ResourceExhausted, "{path}: {over:?}");
        assert!(
            over.message().contains(&format!(
                "found {} bytes, the limit is: {limit} bytes",
                limit + 1
            )),
            "{path}: {over:?}"
        );

        let at = call(server.channel.clone(), path, message_of(limit))
            .await
            .expect_err("a 4 MiB id is not valid");
        assert_eq!(at.code(), Code::InvalidArgument, "{path}: {at:?}");
        assert!(
            chancery_testkit::field_violations(&at).contains(&id_field.to_owned()),
            "{path}: {:?}",
            chancery_testkit::field_violations(&at)
        );

        server
            .health()
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("still serving");
    }
    suite.stop().await;
}

/// Bytes that are not a protobuf encoding of the request are INVALID_ARGUMENT (not tonic's
/// INTERNAL), with tonic's decode message.
#[tokio::test]
async fn undecodable_requests_are_invalid_argument() {
    let suite = spawn_suite().await;
    let refused = call(
        suite.actors.channel.clone(),
        "/chancery.actors.v1.ActorService/GetActor",
        Bytes::from_static(&[0x0a, 0x05, b'a']),
    )
    .await
    .expect_err("a truncated string");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(
        refused
            .message()
            .starts_with("failed to decode Protobuf message"),
        "{refused:?}"
    );
    suite.stop().await;
}

/// Reads HTTP/2 frames from a raw connection until the server's first SETTINGS frame and
/// returns its parameters (identifier → value).
async fn server_settings(addr: std::net::SocketAddr) -> BTreeMap<u16, u32> {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut hello = http2::PREFACE.to_vec();
    hello.extend(http2::frame(http2::SETTINGS, 0, 0, &[]));
    stream.write_all(&hello).await.expect("preface");
    let read = async {
        loop {
            let (kind, flags, _, payload) = http2::read_frame(&mut stream).await.expect("a frame");
            if kind == http2::SETTINGS && flags & http2::ACK == 0 {
                return payload
                    .chunks_exact(6)
                    .map(|p| {
                        (
                            u16::from_be_bytes([p[0], p[1]]),
                            u32::from_be_bytes([p[2], p[3], p[4], p[5]]),
                        )
                    })
                    .collect();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("the server sends its SETTINGS at once")
}

/// Every server advertises its HTTP/2 limits in its first SETTINGS frame: at most
/// `MAX_CONCURRENT_STREAMS` (256) concurrent streams per connection
/// (SETTINGS_MAX_CONCURRENT_STREAMS, 0x3) and header lists of at most `MAX_HEADER_LIST_BYTES`
/// (16 KiB; SETTINGS_MAX_HEADER_LIST_SIZE, 0x6). Clients queue streams past the limit; the
/// server refuses streams opened past it.
#[tokio::test]
async fn http2_settings_advertise_the_stream_and_header_limits() {
    use chancery_runtime::server::{MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_BYTES};
    assert_eq!(MAX_CONCURRENT_STREAMS, 256);
    assert_eq!(MAX_HEADER_LIST_BYTES, 16 * 1024);
    let suite = spawn_suite().await;
    for server in [
        &suite.actors,
        &suite.communications,
        &suite.statements,
        &suite.gateway,
    ] {
        let settings = server_settings(server.addr).await;
        assert_eq!(
            settings.get(&0x3),
            Some(&MAX_CONCURRENT_STREAMS),
            "{settings:?}"
        );
        assert_eq!(
            settings.get(&0x6),
            Some(&MAX_HEADER_LIST_BYTES),
            "{settings:?}"
        );
    }
    suite.stop().await;
}

/// A client that ignores the advertised stream limit cannot make the server run more: on one
/// connection, after acknowledging the server's SETTINGS, it opens 300 `GetActor` streams whose
/// bodies never come (HEADERS without END_STREAM, written by hand). The server refuses exactly
/// the 44 past `MAX_CONCURRENT_STREAMS` with RST_STREAM(REFUSED_STREAM), and keeps answering
/// other clients meanwhile.
#[tokio::test]
async fn streams_past_the_limit_on_one_connection_are_refused() {
    use chancery_runtime::server::MAX_CONCURRENT_STREAMS;
    use tokio::io::AsyncWriteExt;
    const OPENED: u32 = 300;
    const REFUSED_STREAM: u32 = 0x7;
    let suite = spawn_suite().await;
    let mut stream = tokio::net::TcpStream::connect(suite.actors.addr)
        .await
        .expect("connect");
    let mut hello = http2::PREFACE.to_vec();
    hello.extend(http2::frame(http2::SETTINGS, 0, 0, &[])); // ours: defaults
    stream.write_all(&hello).await.expect("preface");
    // The server's limits take effect once acknowledged: wait for its SETTINGS, then ACK.
    let settings = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (kind, flags, _, payload) = http2::read_frame(&mut stream).await.expect("a frame");
            if kind == http2::SETTINGS && flags & http2::ACK == 0 {
                return payload;
            }
        }
    })
    .await
    .expect("the server's SETTINGS");
    assert!(!settings.is_empty());
    stream
        .write_all(&http2::frame(http2::SETTINGS, http2::ACK, 0, &[]))
        .await
        .expect("SETTINGS ACK");

    // One header block serves every stream: no entry goes to the dynamic table.
    let block = http2::grpc_request_headers("/chancery.actors.v1.ActorService/GetActor");
    let mut burst = Vec::new();
    for i in 0..OPENED {
        burst.extend(http2::frame(
            http2::HEADERS,
            http2::END_HEADERS,
            2 * i + 1,
            &block,
        ));
    }
    stream.write_all(&burst).await.expect("open the streams");

    let mut refused = std::collections::BTreeSet::new();
    let past_limit = (OPENED - MAX_CONCURRENT_STREAMS) as usize;
    let read = async {
        while refused.len() < past_limit {
            let (kind, _, id, payload) = http2::read_frame(&mut stream).await.expect("a frame");
            if kind == http2::RST_STREAM {
                let code = u32::from_be_bytes(payload[..4].try_into().expect("4 bytes"));
                assert_eq!(code, REFUSED_STREAM, "stream {id} reset with {code}");
                refused.insert(id);
            }
            assert_ne!(
                kind,
                http2::GOAWAY,
                "GOAWAY: the server dropped the whole connection"
            );
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("the excess streams are refused");
    // Nothing more is refused: the first 256 streams stay open, waiting for their bodies.
    let more =
        tokio::time::timeout(Duration::from_millis(500), http2::read_frame(&mut stream)).await;
    if let Ok(Ok((kind, _, id, _))) = more {
        assert_ne!(
            kind,
            http2::RST_STREAM,
            "stream {id} reset within the limit"
        );
    }
    assert_eq!(refused.len(), past_limit, "{refused:?}");
    assert!(
        refused.iter().all(|id| *id > 2 * MAX_CONCURRENT_STREAMS),
        "only streams past the limit are refused: {refused:?}"
    );

    let answer = suite
        .actors
        .actors()
        .get_actor(chancery_proto::actors::v1::GetActorRequest {
            name: "actors/nobody".into(),
        })
        .await
        .expect_err("no such actor");
    assert_eq!(answer.code(), Code::NotFound, "{answer:?}");
    drop(stream);
    suite.stop().await;
}

/// A request whose metadata (64 KiB in one header) exceeds the header list limit never
/// reaches a handler: the client gets an error, and the server answers the next request on a
/// fresh connection and on the same channel.
#[tokio::test]
async fn oversized_metadata_is_refused_and_the_server_keeps_serving() {
    let suite = spawn_suite().await;
    let mut request = tonic::Request::new(chancery_proto::actors::v1::GetActorRequest {
        name: "actors/france".to_owned(),
    });
    request.metadata_mut().insert(
        "x-padding",
        "a".repeat(64 * 1024).parse().expect("ascii metadata"),
    );
    let refused = suite
        .actors
        .actors()
        .get_actor(request)
        .await
        .expect_err("64 KiB of metadata is refused");
    eprintln!("oversized metadata: {refused:?}");
    assert_ne!(
        refused.code(),
        Code::NotFound,
        "the handler ran: {refused:?}"
    );
    // The HTTP/2 layer refused it (h2 closes the connection with GOAWAY ENHANCE_YOUR_CALM
    // for a header list far over the limit).
    assert!(
        refused.message().contains("h2 protocol error"),
        "{refused:?}"
    );

    let fresh = chancery_testkit::connect(suite.actors.addr).await;
    let answer = chancery_proto::actors::v1::actor_service_client::ActorServiceClient::new(fresh)
        .get_actor(chancery_proto::actors::v1::GetActorRequest {
            name: "actors/nobody".to_owned(),
        })
        .await
        .expect_err("no such actor");
    assert_eq!(answer.code(), Code::NotFound, "{answer:?}");
    let again = suite
        .actors
        .actors()
        .get_actor(chancery_proto::actors::v1::GetActorRequest {
            name: "actors/nobody".to_owned(),
        })
        .await
        .expect_err("no such actor");
    assert_eq!(again.code(), Code::NotFound, "{again:?}");
    suite.stop().await;
}

/// The lockfile's HTTP/2 stack is past every HTTP/2 denial-of-service advisory of the RustSec
/// database that was checked (crates/h2 in rustsec/advisory-db):
/// - RUSTSEC-2023-0034 (CVE-2023-26964, HEADERS + RST_STREAM flood, the pattern of the rapid
///   reset attack CVE-2023-44487): patched in h2 ≥ 0.3.17;
/// - RUSTSEC-2024-0003 (reset-frame flood, CVE-2019-9514): patched in h2 ^0.3.24, ≥ 0.4.2;
/// - RUSTSEC-2024-0332 (CONTINUATION flood): patched in h2 ^0.3.26, ≥ 0.4.4;
/// - RUSTSEC-2026-0258 (unbounded empty DATA frames): patched in h2 ≥ 0.4.16 only, so no h2
///   0.3 may remain.
///
/// hyper's maintainers stated hyper itself was not affected by rapid reset (h2 carries the
/// mitigation; `MAX_PENDING_ACCEPT_RESET_STREAMS` configures it). The test also requires hyper
/// 1.x and tonic ≥ 0.14, whose server builder exposes the limits `runtime::server` sets.
#[test]
fn lockfile_is_past_the_http2_denial_of_service_advisories() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"))
        .expect("Cargo.lock");
    let mut versions: BTreeMap<String, Vec<(u64, u64, u64)>> = BTreeMap::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
        {
            let parts: Vec<u64> = v
                .trim_matches('"')
                .split(['.', '-', '+'])
                .take(3)
                .map(|p| p.parse().unwrap_or(0))
                .collect();
            versions
                .entry(n)
                .or_default()
                .push((parts[0], parts[1], parts[2]));
        }
    }
    let h2 = versions.get("h2").expect("h2 is in the lockfile");
    for &version in h2 {
        assert!(
            version.0 == 0 && version.1 >= 4 && (version.1 > 4 || version.2 >= 16),
            "h2 {version:?} is older than 0.4.16 (RUSTSEC-2026-0258, RUSTSEC-2024-0332, \
             RUSTSEC-2024-0003, RUSTSEC-2023-0034)"
        );
    }
    for &version in versions.get("hyper").expect("hyper is in the lockfile") {
        assert!(version.0 >= 1, "hyper {version:?} is older than 1.0");
    }
    for &version in versions.get("tonic").expect("tonic is in the lockfile") {
        assert!(
            version.0 > 0 || version.1 >= 14,
            "tonic {version:?} is older than 0.14"
        );
    }
}
