//! W3C Trace Context (`traceparent`): parsed on every incoming RPC, generated when absent or
//! invalid, carried in the RPC's tracing span (so every log line names its trace) and injected
//! into every call to another service with the same trace id and a new span id.
//!
//! The context of the RPC being served lives in a task-local set by the server's observe layer
//! ([`crate::layers::ObserveLayer`]); [`crate::backends::Outbound`] reads it when it sends a call.
//! Work moved to another task with `tokio::spawn` starts a new trace.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use tonic::codegen::http::HeaderMap;

/// The header name, as W3C Trace Context spells it.
pub const TRACEPARENT: &str = "traceparent";

/// One hop of a trace: the trace it belongs to, this hop's span, and the caller's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id, shared by every hop; never all zeros.
    pub trace_id: [u8; 16],
    /// This hop's span id; never all zeros.
    pub span_id: [u8; 8],
    /// The caller's span id, when the request carried a valid `traceparent`.
    pub parent_id: Option<[u8; 8]>,
    /// The trace flags (bit 0: sampled), passed on unchanged.
    pub flags: u8,
}

/// A `traceparent` value's parts: trace id, parent span id, flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id.
    pub trace_id: [u8; 16],
    /// The span id of the caller.
    pub parent_id: [u8; 8],
    /// The trace flags.
    pub flags: u8,
}

fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.as_bytes().chunks(2).enumerate() {
        out[i] = (lower_hex_digit(pair[0])? << 4) | lower_hex_digit(pair[1])?;
    }
    Some(out)
}

/// A lowercase hex digit's value (the spec forbids uppercase).
fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Parses a `traceparent` header value per W3C Trace Context level 1: `version-traceid-parentid-flags`
/// in lowercase hex. Version `ff`, all-zero ids and malformed values are refused. A version above
/// `00` is read as `00` when its first four fields have the `00` shape (what may follow must
/// start with `-`), as the specification asks.
pub fn parse_traceparent(value: &str) -> Option<TraceParent> {
    let value = value.trim_matches([' ', '\t']);
    if value.len() < 55 || !value.is_ascii() {
        return None;
    }
    let version = hex_bytes::<1>(&value[..2])?[0];
    if version == 0xff {
        return None;
    }
    if version == 0 && value.len() != 55 {
        return None;
    }
    if value.len() > 55 && value.as_bytes()[55] != b'-' {
        return None;
    }
    let bytes = value.as_bytes();
    if bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let trace_id = hex_bytes::<16>(&value[3..35])?;
    let parent_id = hex_bytes::<8>(&value[36..52])?;
    let flags = hex_bytes::<1>(&value[53..55])?[0];
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some(TraceParent {
        trace_id,
        parent_id,
        flags,
    })
}

/// 64 unpredictable bits: SipHash, keyed randomly per process and thread, of a counter and the
/// time. Good for ids; not for secrets.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

fn new_span_id() -> [u8; 8] {
    loop {
        let id = random_u64();
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

fn new_trace_id() -> [u8; 16] {
    loop {
        let id = (u128::from(random_u64()) << 64) | u128::from(random_u64());
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

impl TraceContext {
    /// A new trace, started here (sampled).
    pub fn new_root() -> Self {
        Self {
            trace_id: new_trace_id(),
            span_id: new_span_id(),
            parent_id: None,
            flags: 0x01,
        }
    }

    /// This hop of the trace the caller's `traceparent` names.
    pub fn child_of(parent: TraceParent) -> Self {
        Self {
            trace_id: parent.trace_id,
            span_id: new_span_id(),
            parent_id: Some(parent.parent_id),
            flags: parent.flags,
        }
    }

    /// The context of an incoming request: a child of its valid `traceparent`, else a new trace.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        // Several traceparent headers make the value ambiguous: the spec says start over.
        let mut values = headers.get_all(TRACEPARENT).iter();
        let parent = match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok().and_then(parse_traceparent),
            _ => None,
        };
        parent.map_or_else(Self::new_root, Self::child_of)
    }

    /// The trace id in lowercase hex (32 characters), as logs carry it.
    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    /// This hop's span id in lowercase hex (16 characters).
    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The `traceparent` of a call made from this hop: same trace, a new span id for the call.
    pub fn outbound_traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id_hex(),
            hex(&new_span_id()),
            self.flags
        )
    }
}

/// What the server knows about the RPC being served.
#[derive(Debug, Clone)]
pub struct RpcContext {
    /// The serving service's short name (`actors`, `gateway`…), the `service` label of metrics.
    pub service: &'static str,
    /// The RPC's trace context.
    pub trace: TraceContext,
}

tokio::task_local! {
    static CURRENT: RpcContext;
}

/// The context of the RPC this task is serving, if any.
pub fn current() -> Option<RpcContext> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Runs `future` with `context` as the current RPC's.
pub async fn scope<F: std::future::Future>(context: RpcContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// Runs `f` with `context` as the current RPC's.
pub fn sync_scope<R>(context: RpcContext, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(context, f)
}

/// The `traceparent` for a call made now: a child of the RPC being served, or a new trace when
/// this task serves none.
pub fn outbound_traceparent() -> String {
    current()
        .map_or_else(TraceContext::new_root, |c| c.trace)
        .outbound_traceparent()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_parses() {
        let parsed = parse_traceparent(VALID).unwrap();
        assert_eq!(hex(&parsed.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&parsed.parent_id), "00f067aa0ba902b7");
        assert_eq!(parsed.flags, 1);
        // A later version may append fields after a dash.
        let future =
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-the-future-holds";
        assert_eq!(parse_traceparent(future).unwrap().flags, 0);
    }

    #[test]
    fn invalid_traceparents_are_refused() {
        for bad in [
            "",
            "00",
            // uppercase hex
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
            // all-zero trace id, all-zero parent id
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            // version ff is invalid; version 00 must not be longer
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            // wrong separators and lengths, non-hex
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn incoming_context_continues_the_trace_or_starts_one() {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, VALID.parse().unwrap());
        let context = TraceContext::from_headers(&headers);
        assert_eq!(context.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            context.parent_id.map(|p| hex(&p)).unwrap(),
            "00f067aa0ba902b7"
        );
        assert_ne!(context.span_id_hex(), "00f067aa0ba902b7");

        let outbound = context.outbound_traceparent();
        let sent = parse_traceparent(&outbound).expect("what we send parses");
        assert_eq!(sent.trace_id, context.trace_id);
        assert_ne!(sent.parent_id, [0; 8]);
        assert_eq!(sent.flags, 1);

        // Absent, invalid or duplicated: a fresh, valid trace each time.
        let fresh = TraceContext::from_headers(&HeaderMap::new());
        assert_eq!(fresh.parent_id, None);
        assert_ne!(fresh.trace_id, [0; 16]);
        assert_ne!(
            fresh.trace_id,
            TraceContext::from_headers(&HeaderMap::new()).trace_id
        );
        let mut invalid = HeaderMap::new();
        invalid.insert(TRACEPARENT, "00-garbage".parse().unwrap());
        assert_eq!(TraceContext::from_headers(&invalid).parent_id, None);
        headers.append(TRACEPARENT, VALID.parse().unwrap());
        assert_eq!(TraceContext::from_headers(&headers).parent_id, None);
    }

    #[tokio::test]
    async fn outbound_calls_continue_the_current_rpcs_trace() {
        let trace = TraceContext::child_of(parse_traceparent(VALID).unwrap());
        let context = RpcContext {
            service: "gateway",
            trace,
        };
        let inside = scope(context, async { outbound_traceparent() }).await;
        assert!(inside.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        let outside = outbound_traceparent();
        assert!(parse_traceparent(&outside).is_some());
        assert!(!outside.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(current().is_none());
    }
}
