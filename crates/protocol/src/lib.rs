//! confidant's wire types: the JSON bodies of the HTTP API and the CLI's
//! `--format json` output, shared by `server`, `cli` and `agent` so the
//! agent never links the server.
//!
//! These shapes are a contract with scripts outside the repository: add
//! fields freely, never rename or remove one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A document as listed (`docs list --format json`, `GET /api/v1/documents`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInfo {
    pub id: String,
    pub name: String,
    pub label: String,
    /// Plaintext size in bytes.
    pub size: u64,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// What scanning the current version found (`null` for versions stored
    /// before scanning existed).
    #[serde(default)]
    pub scan: Option<ScanInfo>,
}

/// What scanning a document found: counts per kind, never values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// Findings per kind (`card_number`, `email`, ... as `confidant scan`
    /// names them).
    pub kinds: std::collections::BTreeMap<String, u64>,
    /// The data categories found.
    pub categories: Vec<String>,
    /// The label the findings suggest.
    pub suggested_label: String,
    pub scanned_bytes: u64,
    /// The whole document was scanned.
    pub complete: bool,
    /// Not text nor a PDF, DOCX or XLSX file whose text could be read (an
    /// image, an archive, a damaged PDF): not scanned.
    pub binary: bool,
    /// `pdf`, `docx` or `xlsx` when the text scanned was extracted from the
    /// document (`scanned_bytes` then counts extracted text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted: Option<String>,
    /// Why a PDF, DOCX or XLSX file could not be read (its contents are
    /// unknown, so Confidential is suggested).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

/// `PUT /api/v1/documents/{doc}/label`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LabelRequest {
    pub label: String,
}

/// One column's suggested category, from a sample of its values
/// (`POST /api/v1/column-suggestions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSuggestionInfo {
    /// 1-based position in the header.
    pub position: usize,
    pub column: String,
    pub category: String,
    /// Sampled values in which the category was found.
    pub matched: usize,
    /// Non-empty values sampled.
    pub values: usize,
    /// "column 4 (card): card_number, 98% of 50 values valid".
    pub summary: String,
}

/// The suggestions for every column, and the `columns` argument of an
/// import (`col=category,...`) they make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSuggestions {
    pub columns: Vec<ColumnSuggestionInfo>,
    pub argument: String,
}

/// A column of a record set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    pub category: String,
    pub indexed: bool,
}

/// A record set as listed (`records list --format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSetInfo {
    pub id: String,
    pub name: String,
    pub label: String,
    pub columns: Vec<ColumnInfo>,
    pub rows_are_customers: bool,
    pub contact_column: Option<String>,
    pub row_count: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One row: its stable id and its values by column name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowInfo {
    pub id: String,
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// Rows of a set (`records show|find --format json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPageInfo {
    pub set: RecordSetInfo,
    pub offset: u64,
    pub rows: Vec<RowInfo>,
    /// Columns whose values are masked for this reader.
    #[serde(default)]
    pub masked: Vec<String>,
}

/// `POST /api/v1/tokens`: an API token for the CLI (`confidant login`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    /// The current code of the authenticator app, or a recovery code;
    /// required once a second factor is enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What the token is for ("cli on laptop"); shown in session lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The answer to a sign-in: a bearer token for `Authorization: Bearer`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignInResponse {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub person: PersonInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonInfo {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    /// invited, active or offboarded.
    #[serde(default)]
    pub status: String,
}

/// `POST /api/v1/people`: invite someone.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InviteRequest {
    pub email: String,
    pub name: String,
    /// owner is not allowed; admin, assistant, vendor, associate, auditor.
    pub role: String,
    /// How long the link works, in hours (default 72, at most 720).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_hours: Option<u32>,
}

/// The answer to an invitation: the single-use link, shown once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InviteResponse {
    pub person: PersonInfo,
    pub invite_url: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A session or API token of a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    /// web or api.
    pub kind: String,
    pub label: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_used_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `GET /api/v1/people/{who}` and `people show --format json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PersonDetailInfo {
    pub person: PersonInfo,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub second_factor: bool,
    pub recovery_codes_left: u64,
    pub sessions: Vec<SessionInfo>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub offboarded_at: Option<OffsetDateTime>,
    pub offboard_reason: Option<String>,
}

/// `POST /api/v1/people/{who}/offboard`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffboardRequest {
    pub reason: String,
}

/// One item a person was let at, from the ledger.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessedInfo {
    /// document, record_set or row.
    pub kind: String,
    pub id: String,
    pub name: Option<String>,
    /// Action name to how many times.
    pub actions: std::collections::BTreeMap<String, u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub last: OffsetDateTime,
}

/// A grant or request (`grants list --format json`, `GET /api/v1/grants`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInfo {
    pub id: String,
    /// The grantee's e-mail address.
    pub person: String,
    /// What it covers, in words ("record set customers: name, phone").
    pub item: String,
    pub actions: Vec<String>,
    pub purpose: String,
    /// requested, active or ended.
    pub status: String,
    /// Active and not expired.
    pub live: bool,
    pub request_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
}

/// `POST /api/v1/grants` (the owner grants) and `POST
/// /api/v1/grants/requests` (a person asks; `person` is then ignored and
/// `reason` required). Exactly one of `document`, `folder`, `records`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GrantRequestBody {
    #[serde(default)]
    pub person: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
    #[serde(default)]
    pub columns: Vec<String>,
    /// `column=value`: only rows where the column holds the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<String>,
    pub actions: Vec<String>,
    pub purpose: String,
    /// RFC 3339 time or a date (YYYY-MM-DD, end of that day UTC).
    pub until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ask for the day passcode even where the item's label does not need
    /// one (Confidential and Restricted items always do).
    #[serde(default)]
    pub require_passcode: bool,
}

/// `POST /api/v1/grants/{id}/end`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndGrantRequest {
    pub reason: String,
}

/// What offboarding did and what the person had reached.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OffboardResponse {
    pub person: PersonInfo,
    pub sessions_ended: u64,
    pub invites_cancelled: u64,
    #[serde(default)]
    pub grants_ended: u64,
    /// Enrolled devices revoked.
    #[serde(default)]
    pub devices_revoked: u64,
    /// The grants that were in force.
    #[serde(default)]
    pub grants: Vec<GrantInfo>,
    pub role_access: String,
    pub accessed: Vec<AccessedInfo>,
}

/// `POST /api/v1/record-sets/{set}/find`: the value travels in the body,
/// never in a URL.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FindRequest {
    pub column: String,
    pub value: String,
}

/// `POST /api/v1/record-sets/{set}/reveal`: one value, one decision, one
/// ledger entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevealRequest {
    pub row: String,
    pub column: String,
}

/// The revealed value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RevealResponse {
    pub value: String,
}

/// `GET|PUT /api/v1/policies`: the owner's own Cedar policies.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PoliciesBody {
    pub text: String,
}

/// `POST /api/v1/keys/rotate`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RotateResponse {
    pub rewrapped_keys: u64,
}

/// Every error body of the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One of not_found, forbidden, unauthorized, conflict, invalid_input,
    /// integrity, unavailable, internal.
    pub error: String,
    /// What was wrong and what to do, for a person.
    pub message: String,
}

/// The name of the firewall check in a [`PostureReport`].
pub const CHECK_FIREWALL: &str = "firewall";
/// The name of the disk encryption check.
pub const CHECK_DISK_ENCRYPTION: &str = "disk_encryption";
/// The name of the screen lock check.
pub const CHECK_SCREEN_LOCK: &str = "screen_lock";
/// The name of the OS updates check.
pub const CHECK_OS_UPDATES: &str = "os_updates";
/// Every check an agent runs, in report order.
pub const CHECK_NAMES: [&str; 4] = [
    CHECK_FIREWALL,
    CHECK_DISK_ENCRYPTION,
    CHECK_SCREEN_LOCK,
    CHECK_OS_UPDATES,
];

/// The outcome of one posture check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The machine does what the check asks.
    Pass,
    /// It does not; `fix` says what to do.
    Fail,
    /// The agent could not tell (missing permission, tool or desktop);
    /// `detail` says why, `fix` how to find out.
    Unknown,
}

impl CheckStatus {
    /// `pass`, `fail` or `unknown`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Unknown => "unknown",
        }
    }
}

/// One check of a [`PostureReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureCheck {
    /// One of [`CHECK_NAMES`] (readers should keep, not reject, names they
    /// do not know: later agents may add checks).
    pub name: String,
    pub status: CheckStatus,
    /// What the agent saw, in plain words.
    pub detail: String,
    /// What to do, for a person ("run: sudo ufw enable"); empty when the
    /// check passes.
    pub fix: String,
}

/// The local posture of a device (`confidant agent check --format json`),
/// and later the body of a signed report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostureReport {
    pub checks: Vec<PostureCheck>,
    /// The machine's host name, as it calls itself.
    pub host: String,
    /// `linux`, `macos`, `windows` or another Rust target OS name.
    pub os: String,
    /// The distribution or product and version ("Debian GNU/Linux 12
    /// (bookworm)", "macOS 14.4.1"), when the agent could read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// The CPU architecture (`x86_64`, `aarch64`).
    #[serde(default)]
    pub arch: String,
    /// The version of the agent that ran the checks.
    #[serde(default)]
    pub agent_version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
}

/// An agreement a person signs, with where they stand
/// (`GET /api/v1/agreements`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementInfo {
    pub id: String,
    /// `nda` or `handbook`.
    pub kind: String,
    pub version: u32,
    pub title: String,
    pub text: String,
    /// SHA-256 of the text (hex): what a signature names.
    pub text_sha256: String,
    pub signed: bool,
    /// What to do, when not signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub todo: Option<String>,
}

/// `POST /api/v1/agreements/{id}/sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignAgreementRequest {
    pub typed_name: String,
    /// The person read the full text and agrees (must be true).
    pub consent: bool,
}

/// A stored signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureInfo {
    pub id: String,
    pub kind: String,
    pub version: u32,
    pub text_sha256: String,
    pub typed_name: String,
    pub signed_at: String,
}

/// `POST /api/v1/passcodes`: issue today's passcode for a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuePasscodeRequest {
    pub grant: String,
    /// A window in hours instead of the rest of the business day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
}

/// A passcode just issued: shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedPasscodeInfo {
    pub passcode: String,
    pub grant: String,
    pub person: String,
    pub item: String,
    pub valid_from: String,
    pub valid_until: String,
}

/// `POST /api/v1/passcodes/enter`: the day passcode for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterPasscodeRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<String>,
    pub passcode: String,
}

/// The item is open without the passcode until then (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterPasscodeResponse {
    pub open_until: String,
}

pub mod device;
