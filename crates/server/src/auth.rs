//! Who is calling: bearer tokens for the API, a session cookie for the web
//! UI (the same vault token either way, checked by `Vault::authenticate`),
//! and the defences of state-changing requests against cross-site forgery.

use aws_lc_rs::digest;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use confidant_vault::{Actor, Vault, VaultError};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::is_api;
use crate::{AppError, AppState};

/// The cookie holding the web session's vault token.
pub(crate) const SESSION_COOKIE: &str = "confidant_session";
/// The cookie holding the sign-in form's anti-forgery token.
pub(crate) const LOGIN_COOKIE: &str = "confidant_login";
/// The cookie holding a sign-in waiting for its second factor.
pub(crate) const PENDING_COOKIE: &str = "confidant_pending";

/// An API caller, authenticated by `Authorization: Bearer cfd_...`, with
/// the vault of its workspace.
pub(crate) struct ApiCaller {
    pub vault: Vault,
    pub actor: Actor,
    pub token: SecretString,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(&parts.headers)?;
        match state.tenants.authenticate(&token, true).await {
            Ok((vault, actor)) => Ok(ApiCaller {
                vault,
                actor,
                token,
            }),
            Err(VaultError::Forbidden(message)) => Err(AppError::Unauthorized(message)),
            Err(other) => Err(other.into()),
        }
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<SecretString, AppError> {
    let missing = || {
        AppError::Unauthorized(
            "sign in first: send `Authorization: Bearer <token>` with a token from \
             POST /api/v1/tokens"
                .into(),
        )
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(SecretString::from(token.to_owned()))
}

/// A signed-in web user, authenticated by the session cookie, with the
/// vault of their workspace.
pub(crate) struct Session {
    pub vault: Vault,
    pub actor: Actor,
    pub token: SecretString,
}

impl Session {
    /// The anti-forgery token of this session's forms.
    pub(crate) fn csrf(&self) -> String {
        csrf_token(&self.token)
    }
}

/// What happens to a page request without a valid session.
pub(crate) enum SessionRejection {
    /// Go to the sign-in page; `clear` drops a stale cookie on the way.
    SignIn {
        clear: bool,
        secure: bool,
    },
    /// An owner without a second factor: enroll one first.
    Enroll,
    Failed(AppError),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            SessionRejection::SignIn { clear, secure } => {
                let mut response = Redirect::to("/login").into_response();
                if clear {
                    response
                        .headers_mut()
                        .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE, secure));
                }
                response
            }
            SessionRejection::Enroll => Redirect::to("/account/second-factor").into_response(),
            SessionRejection::Failed(e) => crate::web::page_error(&e),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, SessionRejection> {
        let secure = state.options.secure_cookies;
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(SessionRejection::SignIn {
                clear: false,
                secure,
            });
        };
        let token = SecretString::from(token);
        match state.tenants.authenticate(&token, false).await {
            Ok((vault, actor)) => {
                // Second factor on by default for the owner: nothing but
                // enrolling (or signing out) until there is one.
                let path = parts.uri.path();
                if !actor.has_second_factor && path != "/account/second-factor" && path != "/logout"
                {
                    return Err(SessionRejection::Enroll);
                }
                Ok(Session {
                    vault,
                    actor,
                    token,
                })
            }
            Err(VaultError::Forbidden(_)) => Err(SessionRejection::SignIn {
                clear: true,
                secure,
            }),
            Err(other) => Err(SessionRejection::Failed(other.into())),
        }
    }
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A strict, script-proof cookie that lives as long as the browser session.
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool) -> Result<HeaderValue, AppError> {
    let secure = if secure { "; Secure" } else { "" };
    // Cookie names with the __Host- prefix would need Secure; the names
    // stay plain so plain-HTTP development works, and Secure is set
    // whenever the server runs on TLS.
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/{secure}"
    ))
    .map_err(|_| AppError::Internal(format!("the value of cookie {name} is not a header value")))
}

/// Removes cookie `name` from the browser.
pub(crate) fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    let value = if secure {
        format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure")
    } else {
        format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// hex(SHA-256("confidant-csrf" || token)): a value only the holder of the
/// session token can compute, and that does not reveal the token.
pub(crate) fn csrf_token(token: &SecretString) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"confidant-csrf");
    context.update(token.expose_secret().as_bytes());
    hex::encode(context.finish())
}

/// Compares anti-forgery tokens in constant time.
pub(crate) fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// A fresh random token for the sign-in form (32 bytes, hex).
pub(crate) fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| AppError::Internal("the system random number generator failed".into()))?;
    Ok(hex::encode(bytes))
}

/// Refuses state-changing requests that a browser says come from another
/// site: an `Origin` that differs from `Host`, or `Sec-Fetch-Site` other
/// than same-origin. Clients that send neither (the CLI, scripts) pass;
/// their credentials are not ambient, so they cannot be forged this way.
pub(crate) async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe
        && !is_same_origin(
            request.headers(),
            request.uri().authority().map(|a| a.as_str()),
        )
    {
        let error = AppError::Forbidden(
            "this request came from another site and was refused: use the form on this site".into(),
        );
        return if is_api(request.uri().path()) {
            error.into_response()
        } else {
            crate::web::page_error(&error)
        };
    }
    next.run(request).await
}

/// Whether a state-changing request comes from this site. Browsers that
/// send `Sec-Fetch-Site` (all current ones) are judged by it alone: it
/// cannot be set by a page, and `Origin` may be `null` on same-site
/// requests under some referrer policies. Older browsers are judged by
/// `Origin` against `Host`. Clients that send neither (the CLI, scripts)
/// pass: their credentials are not ambient.
fn is_same_origin(headers: &HeaderMap, uri_authority: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or(uri_authority);
    match (origin.to_str(), host) {
        (Ok(origin), Some(host)) => origin_matches_host(origin, host),
        _ => false,
    }
}

/// Whether `Origin: scheme://host[:port]` names the same host and port as
/// `Host: host[:port]`, counting a default port as absent.
fn origin_matches_host(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        // Includes `Origin: null` (sandboxed frames, redirects across sites).
        return false;
    };
    if authority.contains('/') {
        return false;
    }
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let strip = |a: &str| {
        a.strip_suffix(default_port)
            .unwrap_or(a)
            .to_ascii_lowercase()
    };
    strip(authority) == strip(host.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let cases = [
            ("http://localhost:8080", "localhost:8080", true),
            ("https://vault.example.com", "vault.example.com", true),
            ("https://vault.example.com:443", "vault.example.com", true),
            ("https://Vault.Example.com", "vault.example.com:443", true),
            ("http://evil.example", "vault.example.com", false),
            ("http://localhost:8081", "localhost:8080", false),
            ("null", "localhost:8080", false),
            ("http://localhost:8080/x", "localhost:8080", false),
            ("ftp://localhost", "localhost", false),
        ];
        for (origin, host, same) in cases {
            assert_eq!(
                origin_matches_host(origin, host),
                same,
                "{origin} vs {host}"
            );
        }
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("localhost:8080"));
        // A same-site form under a strict referrer policy: Origin null.
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(is_same_origin(&headers, None));
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!is_same_origin(&headers, None));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(
            !is_same_origin(&headers, None),
            "a sibling subdomain is another site"
        );
        // Without fetch metadata, Origin decides.
        headers.remove("sec-fetch-site");
        assert!(!is_same_origin(&headers, None));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:8080"),
        );
        assert!(is_same_origin(&headers, None));
        headers.remove(header::ORIGIN);
        assert!(is_same_origin(&headers, None), "scripts send neither");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; confidant_session=cfd_x"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("cfd_x"));
        assert_eq!(cookie(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert!(bearer_token(&headers).is_err());
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer_token(&headers).is_err());
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer cfd_abc"),
        );
        assert_eq!(
            bearer_token(&headers)
                .ok()
                .map(|t| t.expose_secret().to_owned())
                .as_deref(),
            Some("cfd_abc")
        );
    }

    #[test]
    fn csrf_tokens_depend_on_the_session() {
        let a = csrf_token(&SecretString::from("cfd_a"));
        let b = csrf_token(&SecretString::from("cfd_b"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(tokens_match(&a, &a));
        assert!(!tokens_match(&a, &b));
        assert!(!tokens_match(&a, ""));
        assert!(!tokens_match("", ""));
    }
}

/// The client's address as the TCP connection shows it (never a forwarded
/// header, which a client can forge); `None` when the server was not started
/// with connection info (as in in-process tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}
