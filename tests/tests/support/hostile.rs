//! Generators of hostile requests for `tests/hostile.rs`: a seeded PRNG, a pass-through gRPC
//! codec that sends and receives raw bytes, and request builders driven by the API's
//! descriptors (prost-reflect), so every RPC of every service is covered without one generator
//! per message.
//!
//! Three kinds of request are built:
//! - **generated**: every field filled (or not) from pools chosen by the field's name —
//!   resource names (existing, missing, of the wrong collection, self-references, path
//!   traversal), ids, EDTF dates (impossible ones included), page tokens (tampered), filter
//!   strings with SQL fragments, update-mask paths (unknown ones included), enum numbers out of
//!   range, huge, empty, control-character and unicode strings, thousands of repeated values;
//!   in *gentle* mode only plausible values, so many succeed and the store changes;
//! - **seeded**: a create built from a resource of the demo bundle with a fresh id (valid), or
//!   such a create with one field replaced by a hostile value;
//! - **raw**: the encoding of a generated or seeded request with bits flipped, truncated,
//!   spliced with another request, a slice duplicated, garbage or an impossible length inserted.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

use prost::bytes::{Buf, BufMut, Bytes};
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor, ReflectMessage,
    Value,
};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// A splitmix64 generator: tiny, seedable, good enough to pick test cases.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times out of a hundred.
    pub(crate) fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed of this run: `CHANCERY_FUZZ_SEED` when set (to replay a failure), else the clock.
pub(crate) fn seed() -> u64 {
    match std::env::var("CHANCERY_FUZZ_SEED") {
        Ok(seed) => seed
            .trim()
            .parse()
            .expect("CHANCERY_FUZZ_SEED is a decimal u64"),
        Err(_) => {
            static SALT: AtomicU64 = AtomicU64::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or_default();
            nanos ^ SALT.fetch_add(0x5851_F42D_4C95_7F2D, Ordering::Relaxed)
        }
    }
}

/// Requests per service: `CHANCERY_FUZZ_CASES` when set (a long run), else 10 000.
pub(crate) fn cases() -> usize {
    std::env::var("CHANCERY_FUZZ_CASES")
        .ok()
        .map(|n| n.trim().parse().expect("CHANCERY_FUZZ_CASES is a number"))
        .unwrap_or(10_000)
}

/// A codec that sends the request bytes as they are and returns the response bytes undecoded.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

/// The encoder and decoder of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawBytes;

impl Encoder for RawBytes {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }

    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

/// Sends `body` as the request of `path` (`/package.Service/Method`) and returns the raw
/// response message, with a 30 s deadline so a hung handler fails the test instead of hanging it.
pub(crate) async fn call(
    channel: tonic::transport::Channel,
    path: &str,
    body: Bytes,
) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(256 << 20);
    grpc.ready()
        .await
        .map_err(|e| Status::unknown(format!("channel not ready: {e}")))?;
    let path = tonic::codegen::http::uri::PathAndQuery::try_from(path.to_owned())
        .expect("a valid RPC path");
    let mut request = tonic::Request::new(body);
    request.set_timeout(std::time::Duration::from_secs(30));
    grpc.unary(request, path, RawCodec)
        .await
        .map(|r| r.into_inner())
}

/// How a request was made (reported with every failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Mode {
    /// A create from the demo bundle with a fresh id.
    Seeded,
    /// Generated with plausible values only.
    Gentle,
    /// Generated with hostile values mixed in.
    Hostile,
    /// A seeded create with one field made hostile.
    Mutated,
    /// Bytes of a request, mutated below the protobuf level.
    Raw,
}

/// What the generators know of the store: names of every collection seen so far, the latest
/// body seen per name, page tokens and etags handed out.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// Names by collection (`actors`, `tenures`, `posts`, …), deleted ones included.
    pub(crate) names: BTreeMap<&'static str, Vec<String>>,
    seen: HashSet<String>,
    /// The latest body seen per resource name.
    pub(crate) bodies: HashMap<String, DynamicMessage>,
    /// Page tokens the servers returned.
    pub(crate) tokens: Vec<String>,
    /// Etags the servers returned.
    pub(crate) etags: Vec<String>,
}

/// The collection a resource name belongs to (`tenures` for `actors/x/tenures/y`).
pub(crate) fn collection(name: &str) -> &'static str {
    if name.contains("/tenures/") {
        return "tenures";
    }
    match name.split('/').next().unwrap_or_default() {
        "actors" => "actors",
        "posts" => "posts",
        "communications" => "communications",
        "statements" => "statements",
        "documents" => "documents",
        "episodes" => "episodes",
        _ => "other",
    }
}

impl Known {
    /// Remembers `name` (and `body`, when it is a resource).
    pub(crate) fn learn(&mut self, name: &str, body: Option<&DynamicMessage>) {
        if name.is_empty() {
            return;
        }
        if self.seen.insert(name.to_owned()) {
            self.names
                .entry(collection(name))
                .or_default()
                .push(name.to_owned());
        }
        if let Some(body) = body {
            self.bodies.insert(name.to_owned(), body.clone());
            if let Some(etag) = string_field(body, "etag")
                && !etag.is_empty()
                && self.etags.len() < 5000
            {
                self.etags.push(etag);
            }
        }
    }

    fn existing(&self, rng: &mut Rng, collection: &str) -> Option<String> {
        self.names
            .get(collection)
            .filter(|names| !names.is_empty())
            .map(|names| rng.pick(names).clone())
    }
}

/// The string value of `field` in `message`, if it has such a field.
pub(crate) fn string_field(message: &DynamicMessage, field: &str) -> Option<String> {
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// The message value of `field` in `message`, if set.
pub(crate) fn message_field(message: &DynamicMessage, field: &str) -> Option<DynamicMessage> {
    if !message.has_field_by_name(field) {
        return None;
    }
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_message().cloned())
}

/// Strings that must never break a server: SQL and LIKE fragments, escapes, control characters,
/// unicode oddities.
pub(crate) const NASTY: &[&str] = &[
    "'; DROP TABLE actors; --",
    "' OR '1'='1",
    "%",
    "_",
    "\\",
    "%%",
    "\\%",
    "\"",
    "`",
    "$1",
    "?",
    "\u{0}",
    "a\u{0}b",
    "\u{7}\u{1b}[2J",
    "\r\n",
    "   ",
    "\t",
    "\u{202e}evil",
    "\u{feff}",
    "e\u{301}\u{301}\u{301}",
    "𝕸𝖆𝖈𝖗𝖔𝖓",
    "🇫🇷🇷🇺",
    "Ἀθῆναι",
    "МАКРОН",
    "null",
    "undefined",
    "../../etc/passwd",
    "%2e%2e%2f",
    "*",
    "-",
    "{}",
    "<script>alert(1)</script>",
];

/// EDTF strings, valid and not.
pub(crate) const DATES_VALID: &[&str] = &[
    "2022-03-29",
    "2022-03",
    "2022",
    "2022-23",
    "2022-03-10/2022-03-12",
    "2022-03-29T14:30+02:00",
    "2022?",
    "2022-03~",
    "2022-03-23/2022-03-28",
    "2017-05-14",
    "2022-03-29/",
    "../2022-05-03",
    "2021/..",
    "2022-03-10~/2022-03-12",
];

/// Impossible or malformed dates.
pub(crate) const DATES_INVALID: &[&str] = &[
    "2022-02-30",
    "2022-02-29",
    "2022-13",
    "2022-00-10",
    "-99999",
    "99999-01-01",
    "2022-03-29T25:00",
    "2022-03-29T14:30+25:00",
    "2022-03-12/2022-03-10",
    "/",
    "..",
    "../..",
    "2022-1",
    "22-03-29",
    "2022-03-29T",
    "XXXX-XX",
    "2022-03-29 14:30",
    "１９９９",
    "2022-99",
    "2022-41",
    "2022??~",
    "0000-00-00",
    "2022-03-29/2022-03-30/2022-03-31",
    "-0",
    "9223372036854775807",
];

/// Field names that hold a resource name, and the collection it belongs to (`None`: the
/// collection of the RPC).
fn reference_collection(field: &str) -> Option<Option<&'static str>> {
    let collection = match field {
        "name" | "names" => None,
        "parent" => Some("actors"),
        "actor" | "speaker" | "co_speakers" | "on_behalf_of" | "addressees" | "about_actors"
        | "reporter" | "publisher" | "issuer" | "credit_actor" | "asserted_by" | "participant"
        | "counterpart" | "about_actor" | "readout_issuer" | "actors_of_interest"
        | "mentioned_actors" | "organization" | "affiliation" => Some("actors"),
        "post" => Some("posts"),
        "communication" | "previous_in_series" | "communications" => Some("communications"),
        "statement" | "in_reply_to" | "statements" => Some("statements"),
        "document" => Some("documents"),
        "member" => Some("communications"),
        _ => return None,
    };
    Some(collection)
}

/// The collection an RPC works on, from its name.
pub(crate) fn method_collection(method: &str) -> &'static str {
    for (needle, collection) in [
        ("Tenure", "tenures"),
        ("Post", "posts"),
        ("Offices", "actors"),
        ("Actor", "actors"),
        ("SourceDocument", "documents"),
        ("Statement", "statements"),
        ("Communication", "communications"),
        ("Status", "communications"),
        ("Episode", "episodes"),
        ("Bundle", "episodes"),
    ] {
        if method.contains(needle) {
            return collection;
        }
    }
    "other"
}

/// Builds requests for one RPC at a time.
pub(crate) struct Generator<'a> {
    /// The random source of this case.
    pub(crate) rng: Rng,
    /// What the store is known to hold.
    pub(crate) known: &'a Known,
    /// Plausible values only.
    pub(crate) gentle: bool,
    /// The collection of the RPC being built.
    pub(crate) collection: &'static str,
    /// The id a create is giving its resource (for self-references).
    pub(crate) self_id: Option<String>,
    /// A counter for fresh ids, unique in the run.
    pub(crate) fresh: &'a AtomicU64,
    /// No huge strings (while building thousands of repeated values).
    pub(crate) short: bool,
    /// Nested messages still allowed in this request (keeps nested repeated fields from
    /// multiplying into millions of messages).
    pub(crate) budget: usize,
}

impl Generator<'_> {
    /// A fresh, valid id.
    pub(crate) fn fresh_id(&mut self) -> String {
        format!("fz-{}", self.fresh.fetch_add(1, Ordering::Relaxed))
    }

    fn text(&mut self) -> String {
        if self.gentle || self.rng.percent(45) {
            let words = [
                "Macron",
                "Putin",
                "call",
                "Élysée",
                "Kremlin",
                "dialogue",
                "ceasefire",
                "Zelensky",
                "press",
            ];
            let n = 1 + self.rng.below(4);
            return (0..n)
                .map(|_| *self.rng.pick(&words))
                .collect::<Vec<_>>()
                .join(" ");
        }
        match self.rng.below(10) {
            0 => String::new(),
            1 | 2 if self.short => "x".repeat(200),
            1 => {
                // Huge: 100 KiB usually, sometimes 1 MiB.
                let len = if self.rng.percent(10) {
                    1 << 20
                } else {
                    100 << 10
                };
                "x".repeat(len)
            }
            2 => "é".repeat(300 + self.rng.below(5000)),
            3 => (0..(1 + self.rng.below(64)))
                .map(|_| char::from_u32(self.rng.below(0x20) as u32).unwrap_or('\u{0}'))
                .collect(),
            4 => (0..(1 + self.rng.below(40)))
                .filter_map(|_| char::from_u32(self.rng.below(0x11_0000) as u32))
                .collect(),
            _ => (*self.rng.pick(NASTY)).to_owned(),
        }
    }

    fn date(&mut self) -> String {
        if self.gentle || self.rng.percent(40) {
            (*self.rng.pick(DATES_VALID)).to_owned()
        } else if self.rng.percent(85) {
            (*self.rng.pick(DATES_INVALID)).to_owned()
        } else {
            self.text()
        }
    }

    fn id(&mut self) -> String {
        if self.gentle || self.rng.percent(50) {
            let id = self.fresh_id();
            self.self_id = Some(id.clone());
            return id;
        }
        let existing = self
            .known
            .existing(&mut self.rng, self.collection)
            .map(|name| name.rsplit('/').next().unwrap_or_default().to_owned());
        match self.rng.below(9) {
            0 => String::new(),
            1 => "UPPER".to_owned(),
            2 => "../actors/x".to_owned(),
            3 => "a".repeat(64),
            4 => "-leading-dash".to_owned(),
            5 => "é".to_owned(),
            6 => existing.unwrap_or_else(|| "fz-0".to_owned()),
            7 => "a/b".to_owned(),
            _ => (*self.rng.pick(NASTY)).to_owned(),
        }
    }

    fn reference(&mut self, collection: &'static str) -> String {
        let existing = self.known.existing(&mut self.rng, collection);
        if self.gentle || self.rng.percent(40) {
            return existing.unwrap_or_else(|| format!("{collection}/missing"));
        }
        let id = self.self_id.clone().unwrap_or_else(|| "x".to_owned());
        match self.rng.below(14) {
            0 => format!("{collection}/{id}"), // a self-reference when creating
            1 => format!("{collection}/../../etc/passwd"),
            2 => format!("{collection}/"),
            3 => format!("{collection}/a/b/c"),
            4 => format!("/{collection}/{id}"),
            5 => format!("{}/X", collection.to_uppercase()),
            6 => format!("{collection}/{}", "a".repeat(70)),
            7 => format!("{collection}/%2e%2e"),
            8 => format!("{collection}/-"),
            9 => format!("{collection}/does-not-exist"),
            10 => {
                // A name of another collection.
                let other = *self.rng.pick(&[
                    "actors",
                    "posts",
                    "communications",
                    "statements",
                    "documents",
                    "episodes",
                ]);
                self.known
                    .existing(&mut self.rng, other)
                    .unwrap_or_else(|| format!("{other}/x"))
            }
            11 => String::new(),
            12 => format!("{collection}/x\u{0}"),
            _ => (*self.rng.pick(NASTY)).to_owned(),
        }
    }

    fn page_token(&mut self) -> String {
        let valid =
            (!self.known.tokens.is_empty()).then(|| self.rng.pick(&self.known.tokens).clone());
        if self.gentle {
            return String::new();
        }
        match (self.rng.below(6), valid) {
            (0, _) => String::new(),
            (1 | 2, Some(token)) => {
                let tampered = chancery_testkit::tampered_page_tokens(&token);
                tampered[self.rng.below(3)].clone()
            }
            (3, Some(token)) => token, // a token of another query, or of this one
            (4, Some(token)) => token[..token.len() / 2].to_owned(),
            _ => self.text(),
        }
    }

    fn etag(&mut self) -> String {
        if self.gentle || self.rng.percent(50) {
            return String::new();
        }
        if !self.known.etags.is_empty() && self.rng.percent(60) {
            return self.rng.pick(&self.known.etags).clone();
        }
        self.text()
    }

    fn string_for(&mut self, field: &FieldDescriptor) -> String {
        let name = field.name();
        if let Some(collection) = reference_collection(name) {
            // `name` inside a resource (an update's target) or a request: the RPC's collection.
            let collection = collection.unwrap_or(self.collection);
            return self.reference(collection);
        }
        match name {
            "edtf" => self.date(),
            "page_token" => self.page_token(),
            "etag" => self.etag(),
            "request_id" => {
                if self.gentle || self.rng.percent(50) {
                    String::new()
                } else if self.rng.percent(50) {
                    format!("rq-{}", self.rng.below(20))
                } else {
                    self.text()
                }
            }
            n if n.ends_with("_id") && n != "request_id" => self.id(),
            "country" | "side" => {
                if self.gentle || self.rng.percent(50) {
                    (*self.rng.pick(&["FRA", "RUS", "DEU", "UKR", "USA"])).to_owned()
                } else {
                    (*self.rng.pick(&["fr", "XXXX", "F", "ÉÉÉ", "", "'--", "fra"])).to_owned()
                }
            }
            "language_code" | "original_language_code" => {
                if self.gentle || self.rng.percent(50) {
                    (*self.rng.pick(&["en", "fr", "ru", "de", "uk"])).to_owned()
                } else {
                    (*self
                        .rng
                        .pick(&["english", "x-", "123", "e", "en_US_POSIX_x", ""]))
                    .to_owned()
                }
            }
            "url" => {
                if self.gentle || self.rng.percent(50) {
                    "https://example.org/article".to_owned()
                } else {
                    (*self.rng.pick(&[
                        "javascript:alert(1)",
                        "not a url",
                        "file:///etc/passwd",
                        "http://",
                        "https://[::1",
                    ]))
                    .to_owned()
                }
            }
            "name_contains" | "topic" | "tag" | "id" | "label" | "time_zone" => {
                if self.rng.percent(50) {
                    (*self.rng.pick(NASTY)).to_owned()
                } else {
                    self.text()
                }
            }
            _ => self.text(),
        }
    }

    fn int(&mut self) -> i32 {
        if self.gentle {
            return *self.rng.pick(&[0, 1, 5, 10, 100]);
        }
        *self.rng.pick(&[
            0,
            1,
            10,
            -1,
            -100,
            i32::MIN,
            i32::MAX,
            1000,
            1001,
            100_000,
            3,
            7,
        ])
    }

    fn enum_number(&mut self, field: &FieldDescriptor) -> i32 {
        let Kind::Enum(desc) = field.kind() else {
            return 0;
        };
        let values: Vec<i32> = desc.values().map(|v| v.number()).collect();
        if self.gentle || self.rng.percent(70) {
            let nonzero: Vec<i32> = values.iter().copied().filter(|n| *n != 0).collect();
            if !nonzero.is_empty() && self.rng.percent(85) {
                return *self.rng.pick(&nonzero);
            }
            return 0;
        }
        *self.rng.pick(&[-1, 98, 100, 12345, i32::MAX, i32::MIN])
    }

    fn scalar(&mut self, field: &FieldDescriptor, depth: usize) -> Option<Value> {
        Some(match field.kind() {
            Kind::String => Value::String(self.string_for(field)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(self.int()),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(*self.rng.pick(&[
                0,
                -1,
                i64::MIN,
                i64::MAX,
                253_402_300_800,
                1_648_000_000,
            ])),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(self.rng.next_u64() as u32),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(self.rng.next_u64()),
            Kind::Bool => Value::Bool(self.rng.percent(50)),
            Kind::Float => Value::F32(f32::NAN),
            Kind::Double => Value::F64(f64::INFINITY),
            Kind::Bytes => Value::Bytes(Bytes::from_static(b"\xff\x00")),
            Kind::Enum(_) => Value::EnumNumber(self.enum_number(field)),
            Kind::Message(desc) => {
                if depth >= 4 || self.budget == 0 {
                    return None;
                }
                self.budget -= 1;
                Value::Message(self.message(&desc, depth + 1))
            }
        })
    }

    fn update_mask(&mut self, resource: Option<&MessageDescriptor>) -> DynamicMessage {
        let desc = crate::pool()
            .get_message_by_name("google.protobuf.FieldMask")
            .expect("FieldMask");
        let mut mask = DynamicMessage::new(desc);
        let real: Vec<String> = resource
            .map(|r| r.fields().map(|f| f.name().to_owned()).collect())
            .unwrap_or_default();
        let n = if self.gentle {
            1
        } else {
            *self.rng.pick(&[0, 1, 2, 3, 2000])
        };
        let mut paths = Vec::with_capacity(n);
        for _ in 0..n {
            let path = if (self.gentle || self.rng.percent(50)) && !real.is_empty() {
                self.rng.pick(&real).clone()
            } else {
                (*self.rng.pick(&[
                    "unknown_field",
                    "*",
                    "",
                    "name",
                    "etag",
                    "create_time",
                    "display_name,kind",
                    "names[0]",
                    "actor.kind",
                    "content.text",
                    "said.edtf",
                    "participants.actor",
                    "'; DROP TABLE actors; --",
                ]))
                .to_owned()
            };
            paths.push(Value::String(path));
        }
        mask.set_field_by_name("paths", Value::List(paths));
        mask
    }

    /// A message of type `desc`, each field set or left out at random.
    pub(crate) fn message(&mut self, desc: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(desc.clone());
        // The resource an update mask applies to: the request's other message field.
        let resource = desc.fields().find_map(|f| match f.kind() {
            Kind::Message(m) if !m.full_name().starts_with("google.") => Some(m),
            _ => None,
        });
        // Ids first, so references can point back at the resource being created.
        let mut fields: Vec<FieldDescriptor> = desc.fields().collect();
        fields.sort_by_key(|f| !f.name().ends_with("_id"));
        for field in fields {
            if field.is_map() || field.containing_oneof().is_some() && self.rng.percent(50) {
                continue;
            }
            if !self.rng.percent(if self.gentle { 75 } else { 60 }) {
                continue;
            }
            if let Kind::Message(m) = field.kind()
                && m.full_name() == "google.protobuf.FieldMask"
            {
                let mask = self.update_mask(resource.as_ref());
                message.set_field(&field, Value::Message(mask));
                continue;
            }
            if field.is_list() {
                let n = if self.gentle {
                    self.rng.below(3)
                } else {
                    match self.rng.below(10) {
                        0..=5 => self.rng.below(4),
                        6..=8 if depth == 0 => 4 + self.rng.below(30),
                        6..=8 => self.rng.below(4),
                        // Inside a value that is itself repeated by the thousand, tens: thousands
                        // of thousands made requests of 75-130 MB, far over every size limit
                        // (refused before any handler runs, which the oversize test covers),
                        // that took a debug build 10-20 s of CPU each to build.
                        _ if self.short => 4 + self.rng.below(30),
                        _ => 1000 + self.rng.below(4000),
                    }
                };
                let mut values = Vec::with_capacity(n);
                if n >= 1000 {
                    // Thousands of one repeated value: cheap to build, heavy to validate.
                    let short = std::mem::replace(&mut self.short, true);
                    if let Some(one) = self.scalar(&field, depth + 2) {
                        values.resize(n, one);
                    }
                    self.short = short;
                } else {
                    for _ in 0..n {
                        if let Some(v) = self.scalar(&field, depth) {
                            values.push(v);
                        }
                    }
                }
                message.set_field(&field, Value::List(values));
            } else if let Some(value) = self.scalar(&field, depth) {
                message.set_field(&field, value);
            }
        }
        message
    }

    /// One field somewhere in `message` (depth ≤ 2) replaced with a hostile value.
    pub(crate) fn mutate(&mut self, message: &mut DynamicMessage, depth: usize) {
        let fields: Vec<FieldDescriptor> = message.descriptor().fields().collect();
        let field = self.rng.pick(&fields).clone();
        if let Kind::Message(_) = field.kind()
            && !field.is_list()
            && depth < 2
            && message.has_field(&field)
            && self.rng.percent(60)
        {
            let mut inner = message
                .get_field(&field)
                .as_message()
                .cloned()
                .expect("a message field holds a message");
            self.mutate(&mut inner, depth + 1);
            message.set_field(&field, Value::Message(inner));
            return;
        }
        let gentle = std::mem::replace(&mut self.gentle, false);
        if field.is_list() {
            let n = *self.rng.pick(&[0, 1, 2, 2500]);
            let mut values = Vec::new();
            let short = std::mem::replace(&mut self.short, true);
            if let Some(v) = self.scalar(&field, depth + 2) {
                values.resize(n, v);
            }
            self.short = short;
            message.set_field(&field, Value::List(values));
        } else if self.rng.percent(20) {
            message.clear_field(&field);
        } else if let Some(v) = self.scalar(&field, depth + 1) {
            message.set_field(&field, v);
        }
        self.gentle = gentle;
    }
}

/// Mutates encoded request bytes below the protobuf level.
pub(crate) fn mutate_bytes(rng: &mut Rng, bytes: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        match rng.below(8) {
            0 if !out.is_empty() => {
                for _ in 0..(1 + rng.below(8)) {
                    let i = rng.below(out.len());
                    out[i] ^= 1 << rng.below(8);
                }
            }
            1 if !out.is_empty() => {
                let at = rng.below(out.len());
                out.truncate(at);
            }
            2 => {
                // Splice: a prefix of this request, a suffix of another.
                let a = if out.is_empty() {
                    0
                } else {
                    rng.below(out.len())
                };
                let b = if other.is_empty() {
                    0
                } else {
                    rng.below(other.len())
                };
                out.truncate(a);
                out.extend_from_slice(&other[b..]);
            }
            3 if !out.is_empty() => {
                // Duplicate a slice (whole fields repeated, or half a field twice).
                let start = rng.below(out.len());
                let end = start + rng.below(out.len() - start + 1);
                let slice = out[start..end].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, slice);
            }
            4 => {
                // A field with a length far past the end of the message.
                let at = if out.is_empty() {
                    0
                } else {
                    rng.below(out.len())
                };
                out.splice(at..at, [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
            }
            5 => {
                let at = if out.is_empty() {
                    0
                } else {
                    rng.below(out.len())
                };
                let garbage: Vec<u8> = (0..(1 + rng.below(16)))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                out.splice(at..at, garbage);
            }
            6 => {
                // The whole message twice: valid protobuf, merged by the decoder.
                let copy = out.clone();
                out.extend_from_slice(&copy);
            }
            _ => {
                // A string made invalid UTF-8, or a wire type made impossible.
                if !out.is_empty() {
                    let i = rng.below(out.len());
                    out[i] = *rng.pick(&[0xff, 0xc0, 0x80, 0x07, 0x0f]);
                }
            }
        }
    }
    out
}

/// The descriptor of `method` of `service`.
pub(crate) fn method(service: &str, name: &str) -> MethodDescriptor {
    crate::pool()
        .get_service_by_name(service)
        .unwrap_or_else(|| panic!("no service {service}"))
        .methods()
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no method {service}/{name}"))
}

/// Decodes `bytes` as a `desc` message.
pub(crate) fn decode(desc: &MessageDescriptor, bytes: &[u8]) -> Option<DynamicMessage> {
    DynamicMessage::decode(desc.clone(), bytes).ok()
}

/// `message` as a dynamic message of its own type.
pub(crate) fn dynamic<M: prost::Message>(full_name: &str, message: &M) -> DynamicMessage {
    let desc = crate::pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("no message {full_name}"));
    DynamicMessage::decode(desc, message.encode_to_vec().as_slice()).expect("re-decodes")
}
