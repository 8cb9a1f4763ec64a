//! gRPC-Web on a gRPC listener, for browsers: the translation (tonic-web) and CORS.
//!
//! A server whose [`crate::config::ServerConfig::grpc_web`] is set accepts HTTP/1.1 beside
//! HTTP/2 on its one port and answers gRPC-Web requests (`application/grpc-web`,
//! `application/grpc-web+proto`, and the `-text` forms) by translating them into gRPC calls
//! *before* every other layer: trace context and metrics, access control, admission and
//! deadlines see a gRPC-Web call exactly as they see a gRPC one (same path, same headers,
//! `authorization` and `grpc-timeout` included). Plain gRPC over HTTP/2 is unchanged.
//!
//! CORS, outside the translation, follows the allow-list of
//! [`crate::config::CORS_ALLOWED_ORIGINS`]:
//!
//! - a preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is
//!   answered `204` with `Access-Control-Allow-Origin` (that origin, or `*` when any origin is
//!   allowed), `-Allow-Methods` ([`ALLOWED_METHODS`]), `-Allow-Headers` ([`ALLOWED_HEADERS`])
//!   and `-Max-Age`; from any other origin it is answered `403` with no CORS header, so the
//!   browser refuses the call. Preflights never reach the RPC layers (they carry no token).
//! - a call from an allowed origin gets `Access-Control-Allow-Origin` and
//!   `Access-Control-Expose-Headers` ([`EXPOSED_HEADERS`]: the status, its message and its
//!   details, which a trailers-only error answer carries as headers); a call from another
//!   origin is served without them, so a browser does not let the page read the answer.
//!   Non-browser clients (no `Origin`) are not affected.
//!
//! With no allow-list (the default) every preflight is refused: only pages of the gateway's own
//! origin, and clients that are not browsers, can use gRPC-Web. `*` allows every origin; it is
//! meant for open, read-only data (a token a page holds is then sendable from any site).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::codegen::http::{self, HeaderValue, Method, StatusCode, header};
use tower::layer::util::Stack;
use tower::{Layer, Service};

/// The request headers a browser may send on a gRPC-Web call (`Access-Control-Allow-Headers`).
pub const ALLOWED_HEADERS: &str =
    "content-type, x-grpc-web, x-user-agent, authorization, grpc-timeout";

/// The response headers a page may read (`Access-Control-Expose-Headers`).
pub const EXPOSED_HEADERS: &str = "grpc-status, grpc-message, grpc-status-details-bin";

/// The methods a browser may use (`Access-Control-Allow-Methods`): gRPC-Web calls are POSTs.
pub const ALLOWED_METHODS: &str = "POST, OPTIONS";

/// How long a browser may cache a preflight answer, in seconds (`Access-Control-Max-Age`;
/// Chromium caps it at two hours).
pub const PREFLIGHT_MAX_AGE_SECONDS: u32 = 7200;

/// The gRPC-Web settings of a listener that speaks it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrpcWebConfig {
    /// Which web origins' pages may call (CORS); none by default.
    pub allowed_origins: AllowedOrigins,
}

/// The web origins whose pages may call the server from a browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// No other origin (the default): every preflight is refused.
    #[default]
    None,
    /// Every origin (`*`).
    Any,
    /// These origins, each `scheme://host[:port]` in lower case.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Parses a comma-separated list of origins (`https://app.example.org,
    /// http://localhost:5173`), or `*` alone for every origin.
    pub fn parse(value: &str) -> Result<Self, String> {
        let origins: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .collect();
        match origins.as_slice() {
            [] => Err(format!(
                "must name at least one origin, such as https://app.example.org (got {value:?})"
            )),
            ["*"] => Ok(AllowedOrigins::Any),
            _ if origins.contains(&"*") => Err(format!(
                "`*` (every origin) must stand alone, not in a list (got {value:?})"
            )),
            _ => origins
                .iter()
                .map(|origin| parse_origin(origin))
                .collect::<Result<Vec<_>, _>>()
                .map(AllowedOrigins::List),
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    fn allow(&self, origin: &HeaderValue) -> Option<HeaderValue> {
        match self {
            AllowedOrigins::None => None,
            AllowedOrigins::Any => Some(HeaderValue::from_static("*")),
            AllowedOrigins::List(origins) => origins
                .iter()
                .any(|allowed| allowed.as_bytes() == origin.as_bytes())
                .then(|| origin.clone()),
        }
    }
}

/// One origin, `http(s)://host[:port]`, lower-cased (as browsers send it).
fn parse_origin(origin: &str) -> Result<String, String> {
    let lower = origin.to_ascii_lowercase();
    let host = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let valid = host.is_some_and(|host| {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
    });
    if valid {
        Ok(lower)
    } else {
        Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port], such as https://app.example.org (no path, no trailing slash)"
        ))
    }
}

/// The layers gRPC-Web adds in front of a server's own: CORS outside, the tonic-web
/// translation inside.
pub fn layer(config: &GrpcWebConfig) -> Stack<tonic_web::GrpcWebLayer, CorsLayer> {
    Stack::new(
        tonic_web::GrpcWebLayer::new(),
        CorsLayer {
            origins: Arc::new(config.allowed_origins.clone()),
        },
    )
}

/// Builds [`Cors`] services.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    origins: Arc<AllowedOrigins>,
}

impl<S> Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Cors {
            inner,
            origins: self.origins.clone(),
        }
    }
}

/// Answers CORS preflights and marks the answers to allowed origins (see the module docs).
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    origins: Arc<AllowedOrigins>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, R> Service<http::Request<B>> for Cors<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call; the fresh clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
            return Box::pin(inner.call(request));
        };
        let allowed = self.origins.allow(&origin);
        let vary = matches!(*self.origins, AllowedOrigins::List(_));
        if request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            return Box::pin(std::future::ready(Ok(preflight(allowed, vary))));
        }
        let response = inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            let headers = response.headers_mut();
            if let Some(allowed) = allowed {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
                headers.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(EXPOSED_HEADERS),
                );
            }
            if vary {
                headers.append(header::VARY, HeaderValue::from_static("origin"));
            }
            Ok(response)
        })
    }
}

/// The answer to a preflight: `204` with the allow headers for an allowed origin, `403` with
/// none for another.
fn preflight<R: Default>(allowed: Option<HeaderValue>, vary: bool) -> http::Response<R> {
    let mut response = http::Response::new(R::default());
    *response.status_mut() = if allowed.is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::FORBIDDEN
    };
    let headers = response.headers_mut();
    if vary {
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    let Some(allowed) = allowed else {
        return response;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECONDS),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    fn cors(
        origins: AllowedOrigins,
    ) -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = std::convert::Infallible,
    > + Clone {
        let inner = tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new("served".to_owned()))
        });
        CorsLayer {
            origins: Arc::new(origins),
        }
        .layer(inner)
    }

    fn request(method: Method, origin: Option<&str>) -> http::Request<()> {
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri("/chancery.gateway.v1.EpisodeService/GetEpisodeView");
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        if method == Method::OPTIONS {
            builder = builder.header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST");
        }
        builder.body(()).unwrap()
    }

    async fn send(origins: AllowedOrigins, request: http::Request<()>) -> http::Response<String> {
        cors(origins).oneshot(request).await.unwrap()
    }

    fn list() -> AllowedOrigins {
        AllowedOrigins::parse("https://app.example.org, http://localhost:5173").unwrap()
    }

    #[test]
    fn origins_parse_as_a_list_or_a_lone_star() {
        assert_eq!(
            AllowedOrigins::parse(" https://App.Example.org ,http://localhost:5173,").unwrap(),
            AllowedOrigins::List(vec![
                "https://app.example.org".into(),
                "http://localhost:5173".into()
            ])
        );
        assert_eq!(AllowedOrigins::parse("*").unwrap(), AllowedOrigins::Any);
        for bad in [
            "",
            " , ",
            "*, https://a.example",
            "app.example.org",
            "https://app.example.org/",
            "https://app.example.org/path",
            "ftp://app.example.org",
            "https://",
            "https://a b",
        ] {
            let problem = AllowedOrigins::parse(bad).unwrap_err();
            assert!(!problem.is_empty(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_preflight_from_an_allowed_origin_gets_the_allow_headers() {
        let response = send(
            list(),
            request(Method::OPTIONS, Some("http://localhost:5173")),
        )
        .await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let headers = response.headers();
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:5173"
        );
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_HEADERS],
            ALLOWED_HEADERS
        );
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_METHODS],
            ALLOWED_METHODS
        );
        assert_eq!(headers[header::VARY], "origin");
        assert_eq!(
            response.body(),
            "",
            "the preflight never reaches the service"
        );
    }

    #[tokio::test]
    async fn a_preflight_from_another_origin_or_with_no_list_is_refused_bare() {
        for (origins, origin) in [
            (list(), "https://evil.example"),
            (list(), "https://app.example.org.evil.example"),
            (AllowedOrigins::None, "https://app.example.org"),
        ] {
            let response = send(origins, request(Method::OPTIONS, Some(origin))).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin}");
            for name in [
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                header::ACCESS_CONTROL_ALLOW_METHODS,
            ] {
                assert!(!response.headers().contains_key(&name), "{origin}: {name}");
            }
        }
    }

    #[tokio::test]
    async fn calls_are_served_and_only_allowed_origins_may_read_them() {
        let allowed = send(
            list(),
            request(Method::POST, Some("https://app.example.org")),
        )
        .await;
        assert_eq!(allowed.body(), "served");
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example.org"
        );
        assert_eq!(
            allowed.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            EXPOSED_HEADERS
        );
        let other = send(list(), request(Method::POST, Some("https://evil.example"))).await;
        assert_eq!(other.body(), "served");
        assert!(
            !other
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
        let no_origin = send(list(), request(Method::POST, None)).await;
        assert_eq!(no_origin.body(), "served");
        assert!(no_origin.headers().is_empty());
        let any = send(
            AllowedOrigins::Any,
            request(Method::POST, Some("https://anyone.example")),
        )
        .await;
        assert_eq!(any.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(!any.headers().contains_key(header::VARY));
    }
}
