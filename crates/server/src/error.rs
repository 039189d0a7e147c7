//! One error type for every handler, and how it becomes a response: a JSON
//! [`ErrorBody`] for the API, an HTML page for the web UI (see
//! `web::page_error`). Messages of internal failures are logged, never sent.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use confidant_protocol::ErrorBody;
use confidant_vault::VaultError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// No credentials, or credentials that do not (or no longer) work.
    #[error("{0}")]
    Unauthorized(String),
    /// The password was right; the second factor is missing (API sign-in).
    #[error("{0}")]
    SecondFactorRequired(String),
    /// The request itself is malformed (a bad query, path or body).
    #[error("{0}")]
    InvalidInput(String),
    /// The request body is over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// Refused before reaching the vault (a cross-origin or forged form).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A failure of the server itself; the detail is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What may be shown of an error: its status, its kind (the `error` field
/// of [`ErrorBody`]) and a message for a person.
#[derive(Debug)]
pub(crate) struct Shown {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

const INTERNAL_MESSAGE: &str =
    "the server failed to handle this request: try again, and tell the operator if it persists";
const UNAVAILABLE_MESSAGE: &str =
    "the storage is unavailable right now: nothing was changed, try again in a moment";

impl AppError {
    /// The public face of the error. Internal details are logged here.
    pub(crate) fn shown(&self) -> Shown {
        let shown = |status, kind, message: &str| Shown {
            status,
            kind,
            message: message.to_owned(),
        };
        match self {
            AppError::Vault(e) => match e {
                VaultError::NotFound(m) => shown(StatusCode::NOT_FOUND, "not_found", m),
                VaultError::Forbidden(m) => shown(StatusCode::FORBIDDEN, "forbidden", m),
                // A grant covers the item; the person must first sign or
                // enter the day passcode, and is told which.
                VaultError::Blocked(b) => shown(StatusCode::FORBIDDEN, "blocked", &b.message()),
                VaultError::Conflict(m) => shown(StatusCode::CONFLICT, "conflict", m),
                // Shown in the browser only: the web UI sends the person to
                // the document's page instead.
                VaultError::ViewOnly(m) => shown(StatusCode::FORBIDDEN, "view_only", m),
                VaultError::InvalidInput(m) => shown(StatusCode::BAD_REQUEST, "invalid_input", m),
                VaultError::Locked(m) => shown(StatusCode::FORBIDDEN, "forbidden", m),
                VaultError::RateLimited { message, .. } => {
                    shown(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                }
                // The message names the item and says the data was changed;
                // it never contains the data.
                VaultError::Integrity(m) => {
                    tracing::error!(error = %m, "integrity check failed");
                    shown(StatusCode::INTERNAL_SERVER_ERROR, "integrity", m)
                }
                VaultError::Unavailable(m) => {
                    tracing::error!(error = %m, "storage unavailable");
                    shown(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        UNAVAILABLE_MESSAGE,
                    )
                }
                VaultError::Internal(m) => {
                    tracing::error!(error = %m, "internal vault error");
                    shown(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        INTERNAL_MESSAGE,
                    )
                }
            },
            AppError::Unauthorized(m) => shown(StatusCode::UNAUTHORIZED, "unauthorized", m),
            AppError::SecondFactorRequired(m) => {
                shown(StatusCode::UNAUTHORIZED, "second_factor_required", m)
            }
            AppError::InvalidInput(m) => shown(StatusCode::BAD_REQUEST, "invalid_input", m),
            AppError::TooLarge(m) => shown(StatusCode::PAYLOAD_TOO_LARGE, "invalid_input", m),
            AppError::Forbidden(m) => shown(StatusCode::FORBIDDEN, "forbidden", m),
            AppError::NotFound(m) => shown(StatusCode::NOT_FOUND, "not_found", m),
            AppError::Internal(m) => {
                tracing::error!(error = %m, "internal server error");
                shown(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    INTERNAL_MESSAGE,
                )
            }
        }
    }

    /// The error for a body over `limit` bytes.
    pub(crate) fn too_large(limit: u64) -> AppError {
        AppError::TooLarge(format!(
            "the upload is larger than this server accepts ({}): nothing was stored; \
             ask the operator to raise the limit if the file is right",
            human_size(limit)
        ))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = json_error(self.shown());
        add_retry_after(&self, &mut response);
        response
    }
}

/// `Retry-After` (in seconds) on a rate-limited answer.
pub(crate) fn add_retry_after(error: &AppError, response: &mut Response) {
    if let AppError::Vault(VaultError::RateLimited { retry_after, .. }) = error {
        let seconds = retry_after.whole_seconds().max(1);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
}

pub(crate) fn json_error(shown: Shown) -> Response {
    let status = shown.status;
    let body = ErrorBody {
        error: shown.kind.to_owned(),
        message: shown.message,
    };
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge("the request body is too large".into())
        } else {
            AppError::InvalidInput(rejection.body_text())
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::InvalidInput(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::InvalidInput(rejection.body_text())
    }
}

impl From<FormRejection> for AppError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge("the form is too large".into())
        } else {
            AppError::InvalidInput(rejection.body_text())
        }
    }
}

/// Whether a path belongs to the JSON API (whose errors are JSON).
pub(crate) fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Unknown paths: JSON under `/api`, a page elsewhere.
pub(crate) async fn fallback(uri: Uri) -> Response {
    if is_api(uri.path()) {
        AppError::NotFound(
            "there is no such API route: see /api/v1/documents and /api/v1/record-sets".into(),
        )
        .into_response()
    } else {
        crate::web::page_error(&AppError::NotFound("there is no such page".into()))
    }
}

/// Gives API error responses made outside the handlers (a method not
/// allowed, a body over the limit) the same JSON shape as every other.
pub(crate) async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let (kind, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("invalid_input", "the request body is too large"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "invalid_input",
            "this route does not take that method: see the Allow header",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "invalid_input",
            "send the body as Content-Type: application/json",
        ),
        StatusCode::NOT_FOUND => ("not_found", "there is no such API route"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "sign in first"),
        StatusCode::FORBIDDEN => ("forbidden", "this request is not allowed"),
        s if s.is_server_error() => ("internal", INTERNAL_MESSAGE),
        _ => ("invalid_input", "the request is not valid"),
    };
    let (mut parts, _) = response.into_parts();
    let body = ErrorBody {
        error: kind.to_owned(),
        message: message.to_owned(),
    };
    let Ok(json) = serde_json::to_vec(&body) else {
        return Response::from_parts(parts, Body::empty());
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}

/// `1536` -> `1.5 KiB`.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // A rounded size for people: precision loss above 2^53 bytes is fine.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    if value < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(16 * 1024 * 1024 * 1024), "16 GiB");
        assert_eq!(human_size(200 * 1024 * 1024), "200 MiB");
    }
}
