//! The middleware around every route: security headers, no caching,
//! redacted credentials in traces, a same-origin rule for state-changing
//! requests, and a generic answer to a panic.

use std::any::Any;

use axum::Router;
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::AppState;
use crate::error::{Shown, json_error};

/// The Content-Security-Policy of every response: no scripts at all,
/// styles only from this server, forms only to this server, no framing.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn layers(router: Router<AppState>, hsts: bool) -> Router<AppState> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    // Only over TLS: a browser that saw it refuses plain HTTP for a year.
    let router = if hsts {
        router.layer(set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        router
    };
    // Layers wrap in order: each `.layer` goes around the ones before it.
    router
        .layer(axum::middleware::from_fn(crate::auth::same_origin_only))
        // Inside the trace, so the trace sees the cookie marked sensitive.
        .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
        .layer(TraceLayer::new_for_http().make_span_with(span_for))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(set(header::CACHE_CONTROL, "no-store"))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // same-origin, not no-referrer: under no-referrer browsers send
        // `Origin: null` even to this site, which hides a form's origin.
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
}

/// A request's span names the route pattern, never the concrete path or
/// query, which may carry document names.
fn span_for(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(unmatched)", MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route)
}

fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    // The payload may quote data; it is not repeated here.
    tracing::error!("a request handler panicked");
    json_error(Shown {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: "internal",
        message: "the server failed to handle this request: try again, and tell the operator \
                  if it persists"
            .into(),
    })
}
