//! The ledger entry and its canonical bytes, which are the Merkle leaf.
//!
//! An entry has no sequence number: its index is its position in the tree.
//! The bytes are JSON with a fixed field order, every field always present,
//! no insignificant whitespace and one escaping rule, written by the small
//! writer below rather than by a general serializer, so that the format
//! cannot drift with a dependency upgrade. [`Entry::from_leaf`] parses and
//! then re-encodes: bytes that are not exactly what [`Entry::to_leaf`] would
//! write are rejected, so every entry has one leaf and every leaf one entry.
//! The format is specified in `docs/ledger.md`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write as _;
use std::net::IpAddr;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use confidant_core::{DataCategory, ItemId, PersonId, RecordSetId, RowId, WorkspaceId};
use serde::Deserialize;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The format version written in every entry's `v` field.
pub const FORMAT_VERSION: u64 = 1;

/// An instant in UTC with millisecond precision, between 1970 and 9999
/// (the range a four-digit RFC 3339 year can express after the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The largest instant: 9999-12-31T23:59:59.999Z.
const MAX_UNIX_MILLIS: i64 = 253_402_300_799_999;

/// A time that cannot be a ledger timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Before 1970 or after 9999.
    #[error("time is outside 1970-01-01 to 9999-12-31")]
    OutOfRange,
    /// Not of the form `2026-11-29T08:15:00.123Z`.
    #[error("time {0:?} is not RFC 3339 UTC with milliseconds, such as 2026-11-29T08:15:00.123Z")]
    Malformed(String),
}

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Result<Self, TimestampError> {
        if (0..=MAX_UNIX_MILLIS).contains(&millis) {
            Ok(Self(millis))
        } else {
            Err(TimestampError::OutOfRange)
        }
    }

    /// From a caller's clock reading, in any offset; sub-millisecond digits
    /// are dropped (truncated, so an entry is never dated in the future).
    pub fn from_datetime(at: OffsetDateTime) -> Result<Self, TimestampError> {
        let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
        i64::try_from(millis)
            .map_err(|_| TimestampError::OutOfRange)
            .and_then(Self::from_unix_millis)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(self) -> i64 {
        self.0
    }

    /// The same instant as a [`time`] value.
    pub fn to_datetime(self) -> OffsetDateTime {
        // INVARIANT: the range check in `from_unix_millis` keeps this within
        // what `time` represents, so the fallback is never taken.
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn write(self, out: &mut Vec<u8>) {
        let t = self.to_datetime();
        let fields = [
            (t.year() as u32, 4),
            (u32::from(u8::from(t.month())), 2),
            (u32::from(t.day()), 2),
            (u32::from(t.hour()), 2),
            (u32::from(t.minute()), 2),
            (u32::from(t.second()), 2),
            (u32::from(t.millisecond()), 3),
        ];
        for (i, (value, width)) in fields.into_iter().enumerate() {
            if i > 0 {
                out.push(b"--T::."[i - 1]);
            }
            push_decimal(out, value, width);
        }
        out.push(b'Z');
    }
}

fn push_decimal(out: &mut Vec<u8>, value: u32, width: u32) {
    for power in (0..width).rev() {
        let digit = (value / 10u32.pow(power)) % 10;
        out.push(b'0' + digit as u8);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::with_capacity(24);
        self.write(&mut out);
        f.write_str(&String::from_utf8_lossy(&out))
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || TimestampError::Malformed(s.to_owned());
        let b = s.as_bytes();
        // YYYY-MM-DDTHH:MM:SS.mmmZ, every position fixed.
        if b.len() != 24 || b[23] != b'Z' {
            return Err(malformed());
        }
        for (pos, sep) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
        ] {
            if b[pos] != sep {
                return Err(malformed());
            }
        }
        let num = |from: usize, to: usize| -> Result<u32, TimestampError> {
            b[from..to].iter().try_fold(0u32, |acc, c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u32::from(c - b'0'))
                } else {
                    Err(malformed())
                }
            })
        };
        let month = u8::try_from(num(5, 7)?)
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or_else(malformed)?;
        let year = i32::try_from(num(0, 4)?).map_err(|_| malformed())?;
        let small = |v: u32| u8::try_from(v).map_err(|_| malformed());
        let date =
            Date::from_calendar_date(year, month, small(num(8, 10)?)?).map_err(|_| malformed())?;
        let millis = u16::try_from(num(20, 23)?).map_err(|_| malformed())?;
        let clock = Time::from_hms_milli(
            small(num(11, 13)?)?,
            small(num(14, 16)?)?,
            small(num(17, 19)?)?,
            millis,
        )
        .map_err(|_| malformed())?;
        Self::from_datetime(PrimitiveDateTime::new(date, clock).assume_utc())
    }
}

/// A snake_case name: a data category, a keyed-hash name or an action this
/// version does not know. 1 to 64 of `a-z`, `0-9` and `_`, starting with a
/// letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

/// Text that is not a valid [`Name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid name: use 1 to 64 lowercase letters, digits and underscores, starting with a letter"
)]
pub struct NameError(String);

impl Name {
    /// Checks and wraps a name.
    pub fn new(name: &str) -> Result<Self, NameError> {
        let b = name.as_bytes();
        let valid = (1..=64).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_');
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(NameError(name.to_owned()))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<DataCategory> for Name {
    fn from(category: DataCategory) -> Self {
        // Category names are snake_case constants, valid names by design.
        Self(category.as_str().to_owned())
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An identifier the domain has no newtype for yet (a device, a delivery):
/// 1 to 128 of `A-Z a-z 0-9 . _ : -`, so it never needs escaping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpaqueId(String);

/// Text that is not a valid [`OpaqueId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a valid identifier: use 1 to 128 letters, digits, dots, underscores, colons and hyphens"
)]
pub struct OpaqueIdError(String);

impl OpaqueId {
    /// Checks and wraps an identifier.
    pub fn new(id: &str) -> Result<Self, OpaqueIdError> {
        let valid = (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'));
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(OpaqueIdError(id.to_owned()))
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpaqueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A keyed hash (blind index) of a value that must be searchable later,
/// such as an e-mail address someone looked up. The ledger never holds the
/// value itself; it holds these 16 to 64 bytes, computed by the caller with
/// a workspace key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyedHash(Vec<u8>);

/// Bytes that cannot be a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a keyed hash must be 16 to 64 bytes, not {0}")]
pub struct KeyedHashError(usize);

impl KeyedHash {
    /// Wraps a keyed hash.
    pub fn new(bytes: Vec<u8>) -> Result<Self, KeyedHashError> {
        if (16..=64).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(KeyedHashError(bytes.len()))
        }
    }

    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The snake_case name used in the ledger format.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// An action this version of the format knows.
    KnownAction {
        SignIn => "sign_in",
        SignOut => "sign_out",
        View => "view",
        Reveal => "reveal",
        Download => "download",
        Export => "export",
        Edit => "edit",
        Add => "add",
        Replace => "replace",
        Delete => "delete",
        Import => "import",
        Share => "share",
        GrantChange => "grant_change",
        PolicyChange => "policy_change",
        PasscodeIssue => "passcode_issue",
        PasscodeUse => "passcode_use",
        KeyRotate => "key_rotate",
        Backup => "backup",
        Restore => "restore",
        Invite => "invite",
        AcceptInvite => "accept_invite",
        EnrollSecondFactor => "enroll_second_factor",
        Offboard => "offboard",
        PublishAgreement => "publish_agreement",
        SignAgreement => "sign_agreement",
        Incident => "incident",
        Notify => "notify",
        DeviceEnroll => "device_enroll",
        DeviceReport => "device_report",
        DeviceLink => "device_link",
        DeviceRevoke => "device_revoke",
        BackupVerify => "backup_verify",
        BreakGlass => "break_glass",
    }
);

/// What was attempted. New actions can be added to the format without
/// breaking older verifiers: a name this version does not know decodes as
/// [`Action::Other`] instead of failing, so an old `audit verify` still
/// checks a newer ledger.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// One of the actions listed in [`KnownAction`].
    Known(KnownAction),
    /// A well-formed action name that this version does not know.
    Other(UnknownAction),
}

/// An action name not in [`KnownAction`]; made only by [`Action::from_name`],
/// so a known action always has exactly one representation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnknownAction(Name);

impl Action {
    /// The action with this snake_case name.
    pub fn from_name(name: &str) -> Result<Self, NameError> {
        match KnownAction::from_name(name) {
            Some(known) => Ok(Self::Known(known)),
            None => Name::new(name).map(|n| Self::Other(UnknownAction(n))),
        }
    }

    /// The snake_case name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Known(known) => known.as_str(),
            Self::Other(UnknownAction(name)) => name.as_str(),
        }
    }
}

impl From<KnownAction> for Action {
    fn from(known: KnownAction) -> Self {
        Self::Known(known)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

named_enum!(
    /// The policy's answer, recorded for every attempt.
    Decision {
        /// The attempt was allowed and its data returned.
        Allow => "allow",
        /// The attempt was refused.
        Deny => "deny",
    }
);

named_enum!(
    /// What kind of thing an entry is about.
    TargetKind {
        Document => "document",
        RecordSet => "record_set",
        Row => "row",
        Person => "person",
        Workspace => "workspace",
    }
);

/// The thing an entry is about, with its typed id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetId {
    Document(ItemId),
    RecordSet(RecordSetId),
    Row(RowId),
    Person(PersonId),
    Workspace(WorkspaceId),
}

impl TargetId {
    /// The kind, as written in the `target.kind` field.
    pub fn kind(&self) -> TargetKind {
        match self {
            Self::Document(_) => TargetKind::Document,
            Self::RecordSet(_) => TargetKind::RecordSet,
            Self::Row(_) => TargetKind::Row,
            Self::Person(_) => TargetKind::Person,
            Self::Workspace(_) => TargetKind::Workspace,
        }
    }

    /// The id's 16 bytes, whatever its kind.
    pub fn uuid_bytes(&self) -> &[u8; 16] {
        match self {
            Self::Document(id) => id.as_bytes(),
            Self::RecordSet(id) => id.as_bytes(),
            Self::Row(id) => id.as_bytes(),
            Self::Person(id) => id.as_bytes(),
            Self::Workspace(id) => id.as_bytes(),
        }
    }

    fn parse(kind: TargetKind, id: &str) -> Result<Self, EntryError> {
        let bad = |_| EntryError::BadId { field: "target.id" };
        Ok(match kind {
            TargetKind::Document => Self::Document(id.parse().map_err(bad)?),
            TargetKind::RecordSet => Self::RecordSet(id.parse().map_err(bad)?),
            TargetKind::Row => Self::Row(id.parse().map_err(bad)?),
            TargetKind::Person => Self::Person(id.parse().map_err(bad)?),
            TargetKind::Workspace => Self::Workspace(id.parse().map_err(bad)?),
        })
    }
}

/// What an entry is about: a thing and, for record sets, which rows and
/// columns were touched (empty when the whole thing, or not applicable).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub id: TargetId,
    /// Rows touched, in the order the caller gave them.
    pub rows: Vec<RowId>,
    /// Column names touched, in the order the caller gave them.
    pub columns: Vec<String>,
}

impl Target {
    /// A target without rows or columns.
    pub fn whole(id: TargetId) -> Self {
        Self {
            id,
            rows: Vec::new(),
            columns: Vec::new(),
        }
    }
}

/// One attempt, allowed or denied. Secret values never appear here; values
/// that must be searchable later go in [`Entry::keyed`] as keyed hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// When the attempt was decided (passed in by the caller).
    pub time: Timestamp,
    pub workspace: WorkspaceId,
    /// Who tried; `None` for anonymous attempts (e.g. a failed sign-in for an
    /// unknown account).
    pub actor: Option<PersonId>,
    /// The enrolled device, if any.
    pub device: Option<OpaqueId>,
    /// The client's IP address, if known.
    pub client: Option<IpAddr>,
    pub action: Action,
    pub target: Target,
    pub decision: Decision,
    /// The policy's explanation of the decision.
    pub reason: String,
    /// Data categories touched (sorted and unique by construction).
    pub categories: BTreeSet<Name>,
    /// The delivery of a copy that left the vault (for stamped copies).
    pub delivery: Option<OpaqueId>,
    /// Keyed hashes of values searchable later, by name (e.g. `email`).
    pub keyed: BTreeMap<Name, KeyedHash>,
}

/// Bytes that are not a canonical ledger entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// Not JSON, or fields missing, unknown, repeated or of the wrong type.
    #[error("not a ledger entry: {0}")]
    Json(#[from] serde_json::Error),
    /// A format version this version cannot read.
    #[error("ledger entry format version {0} is not supported (this version reads 1)")]
    UnsupportedVersion(u64),
    #[error(transparent)]
    Time(#[from] TimestampError),
    #[error("field {field} is not a valid id")]
    BadId { field: &'static str },
    #[error("field {field}: {source}")]
    BadName {
        field: &'static str,
        source: NameError,
    },
    #[error("field {field}: {source}")]
    BadOpaqueId {
        field: &'static str,
        source: OpaqueIdError,
    },
    #[error("field client is not an IP address")]
    BadClient,
    #[error("field {field} has unknown value {value:?}")]
    UnknownValue { field: &'static str, value: String },
    #[error("keyed hash {name}: {reason}")]
    BadKeyedHash { name: String, reason: String },
    /// Valid content written differently from the canonical form (spacing,
    /// escapes, field order, set order, number or address spelling).
    #[error("ledger entry is not in canonical form")]
    NotCanonical,
}

/// The parsed shape of the JSON, before the typed checks. Strings borrow
/// from the input where they hold no escapes, so a verifier streaming
/// millions of entries does not allocate for every field of every entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    v: u64,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow)]
    workspace: Cow<'a, str>,
    #[serde(borrow)]
    actor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    device: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    target: WireTarget<'a>,
    #[serde(borrow)]
    decision: Cow<'a, str>,
    reason: String,
    #[serde(borrow)]
    categories: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    delivery: Option<Cow<'a, str>>,
    #[serde(borrow)]
    keyed: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireTarget<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    rows: Vec<Cow<'a, str>>,
    columns: Vec<String>,
}

impl Entry {
    /// The canonical bytes: the Merkle leaf.
    pub fn to_leaf(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        self.write_leaf(&mut out);
        out
    }

    /// Appends the canonical bytes to `out` (lets a caller reuse a buffer).
    pub fn write_leaf(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"v\":1,\"time\":\"");
        self.time.write(out);
        out.extend_from_slice(b"\",\"workspace\":");
        push_uuid(out, self.workspace.as_bytes());
        out.extend_from_slice(b",\"actor\":");
        match &self.actor {
            Some(p) => push_uuid(out, p.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"device\":");
        push_opt_str(out, self.device.as_ref().map(OpaqueId::as_str));
        out.extend_from_slice(b",\"client\":");
        match &self.client {
            Some(ip) => {
                // Addresses need no escaping; writing into a Vec cannot fail.
                out.push(b'"');
                let _ = write!(out, "{ip}");
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"action\":");
        push_str(out, self.action.as_str());
        out.extend_from_slice(b",\"target\":{\"kind\":");
        push_str(out, self.target.id.kind().as_str());
        out.extend_from_slice(b",\"id\":");
        push_uuid(out, self.target.id.uuid_bytes());
        out.extend_from_slice(b",\"rows\":[");
        for (i, row) in self.target.rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_uuid(out, row.as_bytes());
        }
        out.extend_from_slice(b"],\"columns\":[");
        for (i, column) in self.target.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, column);
        }
        out.extend_from_slice(b"]},\"decision\":");
        push_str(out, self.decision.as_str());
        out.extend_from_slice(b",\"reason\":");
        push_str(out, &self.reason);
        out.extend_from_slice(b",\"categories\":[");
        for (i, category) in self.categories.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, category.as_str());
        }
        out.extend_from_slice(b"],\"delivery\":");
        push_opt_str(out, self.delivery.as_ref().map(OpaqueId::as_str));
        out.extend_from_slice(b",\"keyed\":{");
        for (i, (name, hash)) in self.keyed.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, name.as_str());
            out.push(b':');
            // INVARIANT: a KeyedHash holds at most 64 bytes, which encode to
            // at most 88 base64 characters (none needing escapes), so the
            // stack buffer always suffices and saves an allocation per entry.
            let mut b64 = [0u8; 88];
            let len = BASE64
                .encode_slice(hash.as_bytes(), &mut b64)
                .unwrap_or_default();
            out.push(b'"');
            out.extend_from_slice(&b64[..len]);
            out.push(b'"');
        }
        out.extend_from_slice(b"}}");
    }

    /// Parses canonical bytes; anything [`Entry::to_leaf`] would not have
    /// written is rejected.
    pub fn from_leaf(leaf: &[u8]) -> Result<Self, EntryError> {
        let mut scratch = Vec::new();
        Self::from_leaf_with(leaf, &mut scratch)
    }

    /// [`Entry::from_leaf`] with a caller's scratch buffer for the
    /// canonical re-encoding, so a verifier streaming millions of entries
    /// does not allocate one per entry.
    pub fn from_leaf_with(leaf: &[u8], scratch: &mut Vec<u8>) -> Result<Self, EntryError> {
        let wire: Wire = serde_json::from_slice(leaf)?;
        let entry = Self::from_wire(wire)?;
        scratch.clear();
        entry.write_leaf(scratch);
        if scratch.as_slice() != leaf {
            return Err(EntryError::NotCanonical);
        }
        Ok(entry)
    }

    fn from_wire(w: Wire) -> Result<Self, EntryError> {
        if w.v != FORMAT_VERSION {
            return Err(EntryError::UnsupportedVersion(w.v));
        }
        let opaque = |field: &'static str, v: Option<Cow<'_, str>>| {
            v.map(|s| OpaqueId::new(&s))
                .transpose()
                .map_err(|source| EntryError::BadOpaqueId { field, source })
        };
        let kind = TargetKind::from_name(&w.target.kind).ok_or(EntryError::UnknownValue {
            field: "target.kind",
            value: w.target.kind.to_string(),
        })?;
        let rows = w
            .target
            .rows
            .iter()
            .map(|r| {
                r.parse().map_err(|_| EntryError::BadId {
                    field: "target.rows",
                })
            })
            .collect::<Result<Vec<RowId>, _>>()?;
        let categories = w
            .categories
            .iter()
            .map(|c| {
                Name::new(c).map_err(|source| EntryError::BadName {
                    field: "categories",
                    source,
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        let keyed = w
            .keyed
            .iter()
            .map(|(name, value)| {
                let n = Name::new(name).map_err(|source| EntryError::BadName {
                    field: "keyed",
                    source,
                })?;
                let bad = |reason: String| EntryError::BadKeyedHash {
                    name: name.to_string(),
                    reason,
                };
                let bytes = BASE64
                    .decode(value.as_bytes())
                    .map_err(|e| bad(e.to_string()))?;
                let hash = KeyedHash::new(bytes).map_err(|e| bad(e.to_string()))?;
                Ok((n, hash))
            })
            .collect::<Result<BTreeMap<_, _>, EntryError>>()?;
        Ok(Self {
            time: w.time.parse()?,
            workspace: w
                .workspace
                .parse()
                .map_err(|_| EntryError::BadId { field: "workspace" })?,
            actor: w
                .actor
                .map(|a| a.parse())
                .transpose()
                .map_err(|_| EntryError::BadId { field: "actor" })?,
            device: opaque("device", w.device)?,
            client: w
                .client
                .map(|c| c.parse::<IpAddr>())
                .transpose()
                .map_err(|_| EntryError::BadClient)?,
            action: Action::from_name(&w.action).map_err(|source| EntryError::BadName {
                field: "action",
                source,
            })?,
            target: Target {
                id: TargetId::parse(kind, &w.target.id)?,
                rows,
                columns: w.target.columns,
            },
            decision: Decision::from_name(&w.decision).ok_or(EntryError::UnknownValue {
                field: "decision",
                value: w.decision.to_string(),
            })?,
            reason: w.reason,
            categories,
            delivery: opaque("delivery", w.delivery)?,
            keyed,
        })
    }
}

/// Writes a UUID in its lowercase hyphenated form, quoted, without
/// allocating.
fn push_uuid(out: &mut Vec<u8>, bytes: &[u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
    out.push(b'"');
}

fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes a JSON string with the one escaping rule of the format: `"` and
/// `\` escaped with a backslash; backspace, form feed, newline, carriage
/// return and tab as `\b \f \n \r \t`; other characters below U+0020 as
/// `\u00XX` with lowercase hex; everything else as raw UTF-8. (This is also
/// what serde_json writes, which the tests check.)
fn push_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0f)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
pub(crate) mod tests;
