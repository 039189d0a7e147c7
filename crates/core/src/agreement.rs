//! Agreements: the NDA and the confidentiality handbook a person signs
//! before any grant gives them access, and the rules that say whether a
//! signature still counts.
//!
//! An agreement is versioned per kind and audience (the role it is for:
//! assistants, vendors and associates each have their own). A signature is
//! for one version; when the owner publishes a new version, the old
//! signature keeps counting for the version's grace period (0 days:
//! re-sign before the next access) and then no longer does. A signature can
//! also expire on its own (`valid_days`), and an NDA covers items up to a
//! label (`covers`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{AgreementId, DataCategory, Label, PersonId, Role, SignatureId, WorkspaceId};

/// The two kinds of agreement a person signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    /// The non-disclosure / confidentiality agreement.
    Nda,
    /// The handbook: the company's directives on handling confidential
    /// information, acknowledged rather than signed.
    Handbook,
}

impl AgreementKind {
    pub const ALL: [AgreementKind; 2] = [AgreementKind::Nda, AgreementKind::Handbook];

    pub fn as_str(self) -> &'static str {
        match self {
            AgreementKind::Nda => "nda",
            AgreementKind::Handbook => "handbook",
        }
    }

    /// How a person is asked: "sign the NDA", "acknowledge the handbook".
    pub fn verb(self) -> &'static str {
        match self {
            AgreementKind::Nda => "sign",
            AgreementKind::Handbook => "acknowledge",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            AgreementKind::Nda => "the confidentiality agreement (NDA)",
            AgreementKind::Handbook => "the confidentiality handbook",
        }
    }
}

impl fmt::Display for AgreementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown agreement kind {0:?}: use nda or handbook")]
pub struct UnknownKindError(pub String);

impl FromStr for AgreementKind {
    type Err = UnknownKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nda" => Ok(AgreementKind::Nda),
            "handbook" => Ok(AgreementKind::Handbook),
            _ => Err(UnknownKindError(s.to_owned())),
        }
    }
}

/// Whether people of this role sign agreements before access: everyone who
/// gets access through grants (the owner and admins run the workspace;
/// auditors never see customer data).
pub fn signs_agreements(role: Role) -> bool {
    matches!(role, Role::Assistant | Role::Vendor | Role::Associate)
}

/// One published version of an agreement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub id: AgreementId,
    pub workspace: WorkspaceId,
    pub kind: AgreementKind,
    /// The role it is for (assistant, vendor or associate).
    pub audience: Role,
    /// 1, 2, ... per kind and audience.
    pub version: u32,
    pub title: String,
    pub text: String,
    /// The highest label a signature of it covers (an NDA for Internal
    /// items does not open Restricted ones).
    pub covers: Label,
    /// A signature counts for this many days (None: until a new version).
    pub valid_days: Option<u32>,
    /// Days an older version's signature keeps counting after this version
    /// is published (0: the person re-signs before their next access).
    pub grace_days: u32,
    pub published_at: OffsetDateTime,
    /// Who published it (None: the default confidant wrote).
    pub published_by: Option<PersonId>,
}

/// The longest text an agreement may have (about 40 printed pages).
pub const MAX_AGREEMENT_TEXT: usize = 128 * 1024;
/// The longest grace period and validity the owner may set.
pub const MAX_AGREEMENT_DAYS: u32 = 3660;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    #[error(
        "the agreement's title is empty: give it a title such as \"Confidentiality agreement\""
    )]
    EmptyTitle,
    #[error("the agreement's text is empty: write the text people will sign")]
    EmptyText,
    #[error(
        "the agreement's text is {0} bytes long; the limit is {MAX_AGREEMENT_TEXT}: shorten it or \
         move directives into the handbook"
    )]
    TextTooLong(usize),
    #[error("{0} cannot sign agreements: agreements are for assistants, vendors and associates")]
    NotForRole(Role),
    #[error("{what} of {days} days is too long: at most {MAX_AGREEMENT_DAYS} days")]
    TooManyDays { what: &'static str, days: u32 },
    #[error("a validity of 0 days would expire every signature at once: give at least 1 day")]
    ZeroValidity,
    #[error("type your full name to sign (it is part of the signature record)")]
    NoTypedName,
    #[error("the typed name is too long (at most 200 characters)")]
    TypedNameTooLong,
    #[error("the typed name contains control characters: type your name as plain text")]
    TypedNameControl,
    #[error("tick the box that you have read and agree to the text before signing")]
    NoConsent,
    #[error(
        "this is version {signed} of {kind}, but version {current} is current: reload the page and \
         read the current text before signing"
    )]
    NotCurrent {
        kind: AgreementKind,
        signed: u32,
        current: u32,
    },
}

/// Checks what the owner wrote before a version is published.
pub fn validate_agreement(
    audience: Role,
    title: &str,
    text: &str,
    valid_days: Option<u32>,
    grace_days: u32,
) -> Result<(), AgreementError> {
    if !signs_agreements(audience) {
        return Err(AgreementError::NotForRole(audience));
    }
    if title.trim().is_empty() {
        return Err(AgreementError::EmptyTitle);
    }
    if text.trim().is_empty() {
        return Err(AgreementError::EmptyText);
    }
    if text.len() > MAX_AGREEMENT_TEXT {
        return Err(AgreementError::TextTooLong(text.len()));
    }
    if grace_days > MAX_AGREEMENT_DAYS {
        return Err(AgreementError::TooManyDays {
            what: "a grace period",
            days: grace_days,
        });
    }
    match valid_days {
        Some(0) => Err(AgreementError::ZeroValidity),
        Some(days) if days > MAX_AGREEMENT_DAYS => Err(AgreementError::TooManyDays {
            what: "a validity",
            days,
        }),
        _ => Ok(()),
    }
}

/// Checks the typed name and the consent box of a signature.
pub fn validate_signing(typed_name: &str, consent: bool) -> Result<String, AgreementError> {
    let name = typed_name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.chars().count() < 2 {
        return Err(AgreementError::NoTypedName);
    }
    if name.chars().count() > 200 {
        return Err(AgreementError::TypedNameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(AgreementError::TypedNameControl);
    }
    if !consent {
        return Err(AgreementError::NoConsent);
    }
    Ok(name)
}

/// One person's signature of one agreement version, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub id: SignatureId,
    pub workspace: WorkspaceId,
    pub person: PersonId,
    pub agreement: AgreementId,
    pub kind: AgreementKind,
    pub audience: Role,
    pub version: u32,
    /// SHA-256 of the exact text signed (UTF-8).
    pub text_sha256: [u8; 32],
    pub covers: Label,
    /// The name the person typed.
    pub typed_name: String,
    pub signed_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    /// The client's address and user agent, as the server saw them.
    pub client: Option<String>,
    pub user_agent: String,
    /// The workspace key's Ed25519 signature over [`Signature::signed_bytes`].
    pub seal: Vec<u8>,
}

impl Signature {
    /// The canonical bytes the workspace key signs: every field but the
    /// seal, one `name: value` line each, in a fixed order.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = String::from("confidant signature v1\n");
        let mut line = |name: &str, value: &str| {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
            out.push('\n');
        };
        line("id", &self.id.to_string());
        line("workspace", &self.workspace.to_string());
        line("person", &self.person.to_string());
        line("agreement", &self.agreement.to_string());
        line("kind", self.kind.as_str());
        line("audience", self.audience.as_str());
        line("version", &self.version.to_string());
        line("text-sha256", &hex_lower(&self.text_sha256));
        line("covers", self.covers.as_str());
        // Names and agents are escaped so that a newline cannot forge a line.
        line("typed-name", &self.typed_name.escape_default().to_string());
        line("signed-at", &self.signed_at.unix_timestamp().to_string());
        line(
            "expires-at",
            &self
                .expires_at
                .map_or_else(|| "never".to_owned(), |t| t.unix_timestamp().to_string()),
        );
        line("client", self.client.as_deref().unwrap_or("unknown"));
        line("user-agent", &self.user_agent.escape_default().to_string());
        out.into_bytes()
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a person stands with one agreement for one label, now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// A signature counts, until the given time (None: no end known).
    Signed {
        version: u32,
        until: Option<OffsetDateTime>,
    },
    /// Nothing signed yet.
    NeverSigned,
    /// An older version was signed and its grace period is over.
    Outdated { signed: u32, current: u32 },
    /// The signature of the current version expired.
    Expired { at: OffsetDateTime },
    /// The signed version does not cover items of this label.
    DoesNotCover { covers: Label, label: Label },
}

impl Standing {
    pub fn is_signed(&self) -> bool {
        matches!(self, Standing::Signed { .. })
    }

    /// The reason a person is blocked, in plain words with what to do.
    pub fn blocker(&self, kind: AgreementKind) -> Option<String> {
        let what = kind.title();
        let verb = kind.verb();
        match self {
            Standing::Signed { .. } => None,
            Standing::NeverSigned => Some(format!("{verb} {what} (not yet done)")),
            Standing::Outdated { signed, current } => Some(format!(
                "{verb} version {current} of {what} (you signed version {signed})"
            )),
            Standing::Expired { at } => Some(format!(
                "{verb} {what} again (your signature expired on {})",
                at.date()
            )),
            Standing::DoesNotCover { covers, label } => Some(format!(
                "{what} you signed covers {covers} items, not {label} ones: ask the owner"
            )),
        }
    }
}

/// Where a person stands with `current` (the latest version of an
/// agreement for their role) for an item labelled `label`, given their
/// signatures of any version of it.
pub fn standing(
    current: &Agreement,
    signatures: &[Signature],
    label: Label,
    now: OffsetDateTime,
) -> Standing {
    let mut ours: Vec<&Signature> = signatures
        .iter()
        .filter(|s| s.kind == current.kind && s.audience == current.audience)
        .collect();
    // Newest version first, newest signature first within a version.
    ours.sort_by(|a, b| {
        b.version
            .cmp(&a.version)
            .then(b.signed_at.cmp(&a.signed_at))
    });
    let live = |s: &Signature| s.expires_at.is_none_or(|e| now < e);
    let grace_end = current.published_at + Duration::days(i64::from(current.grace_days));
    let counts = |s: &Signature| {
        live(s)
            && s.covers >= label
            && (s.version >= current.version
                || (s.signed_at <= current.published_at && now < grace_end))
    };
    if let Some(s) = ours.iter().find(|s| counts(s)) {
        let until = if s.version >= current.version {
            s.expires_at
        } else {
            Some(s.expires_at.map_or(grace_end, |e| e.min(grace_end)))
        };
        return Standing::Signed {
            version: s.version,
            until,
        };
    }
    let Some(newest) = ours.first() else {
        return Standing::NeverSigned;
    };
    if newest.version < current.version {
        Standing::Outdated {
            signed: newest.version,
            current: current.version,
        }
    } else if let Some(at) = newest.expires_at.filter(|e| now >= *e) {
        Standing::Expired { at }
    } else {
        Standing::DoesNotCover {
            covers: newest.covers,
            label,
        }
    }
}

fn audience_words(audience: Role) -> (&'static str, &'static str) {
    match audience {
        Role::Vendor => ("vendor", "the services you provide to"),
        Role::Associate => ("business associate", "the work you do with"),
        _ => ("assistant", "the work you do for"),
    }
}

fn category_words(category: DataCategory) -> &'static str {
    match category {
        DataCategory::CardNumber => "payment card numbers",
        DataCategory::BankAccount => "bank account and routing numbers",
        DataCategory::NationalId => {
            "national identification numbers (such as Social Security numbers)"
        }
        DataCategory::Phone => "telephone numbers",
        DataCategory::Email => "e-mail addresses",
        DataCategory::PostalAddress => "postal and street addresses",
        DataCategory::DateOfBirth => "dates of birth",
        DataCategory::Name => "customers' names",
        DataCategory::FreeText => "notes and free-text remarks about customers",
        DataCategory::Other => "other customer details kept in the business's records",
    }
}

/// The default NDA for `audience`, written from the workspace itself: the
/// categories of data actually present in its record sets and labelled
/// documents, the handling rules confidant enforces, and the consequences.
pub fn default_nda(business: &str, audience: Role, present: &[DataCategory]) -> (String, String) {
    let (who, work) = audience_words(audience);
    let mut categories: Vec<DataCategory> = present.to_vec();
    categories.sort();
    categories.dedup();
    let mut list = String::new();
    if categories.is_empty() {
        list.push_str(
            "   - any information about the Business's customers, such as their names, contact \
             details, payment and account details;\n",
        );
    } else {
        for c in categories {
            list.push_str("   - ");
            list.push_str(category_words(c));
            list.push_str(";\n");
        }
    }
    let title = format!("{business}: confidentiality agreement ({who}s)");
    let text = format!(
        "CONFIDENTIALITY AGREEMENT\n\
\n\
This agreement is between {business} (the \"Business\") and you, the {who} who signs it \
below, and applies to {work} the Business.\n\
\n\
1. What is confidential\n\
\n\
Confidential Information is all information the Business shares with you through confidant or \
otherwise, in any form, and everything derived from it. It includes in particular the \
information the Business keeps about its customers, which today contains:\n\
{list}\
   - documents and files marked Internal, Confidential or Restricted;\n\
   - the Business's own plans, prices, suppliers and methods.\n\
\n\
Information that is public through no fault of yours, or that you knew before the Business \
shared it, is not Confidential Information.\n\
\n\
2. How you handle it\n\
\n\
   a) Need to know. You use Confidential Information only for the purpose of the grant that \
gave it to you, and look only at what that purpose needs. You do not try to reach items, \
columns or records you were not granted.\n\
   b) No copies outside confidant. You keep Confidential Information inside confidant. You do \
not download, copy, photograph, forward, print or paste it elsewhere unless a grant allows \
that action, and then only for the grant's purpose; you delete such copies when the purpose \
is fulfilled.\n\
   c) Passcodes. Day passcodes are personal. You do not share them, write them next to the \
data they open, or use another person's passcode.\n\
   d) Your device. You work only on a computer with its firewall on, its disk encrypted, a \
screen lock and current updates, and you never leave it unlocked and unattended while \
Confidential Information is open.\n\
   e) Your account. You keep your password and second factor to yourself and sign out on \
shared computers.\n\
   f) Report at once. If you suspect that Confidential Information was lost, seen by someone \
who should not see it, or sent to the wrong place, you tell the Business immediately, \
whatever the hour, and you do not try to fix it quietly.\n\
\n\
3. Records and marking\n\
\n\
Every access you make is recorded. Copies you receive are marked with your name and carry \
invisible marks that identify you as their recipient.\n\
\n\
4. When the work ends\n\
\n\
When your work for the Business ends, or when the Business asks, you return or delete all \
Confidential Information and every copy of it. Your duty of confidentiality continues after \
the work ends.\n\
\n\
5. Carelessness has consequences\n\
\n\
If you break this agreement, or handle Confidential Information carelessly, the Business \
will revoke your access at once and may end the working relationship. The Business may also \
have to notify the customers whose information was involved, and may seek compensation for \
the harm caused.\n\
\n\
By typing your full name and signing, you confirm that you have read this agreement, \
understood it, and agree to it.\n"
    );
    (title, text)
}

/// The default handbook for `audience`: the company's directives on
/// handling confidential information, acknowledged before any access.
pub fn default_handbook(business: &str, audience: Role) -> (String, String) {
    let (who, _) = audience_words(audience);
    let title = format!("{business}: confidentiality handbook ({who}s)");
    let text = format!(
        "CONFIDENTIALITY HANDBOOK\n\
\n\
These are {business}'s directives for handling confidential information. They apply every \
time you open something in confidant.\n\
\n\
1. Labels. Every item has a label: Public, Internal, Confidential or Restricted. Treat an item \
by its label. When in doubt, treat it as Confidential.\n\
\n\
2. Ask for what you need, not more. If your work needs a document or a column you cannot \
see, request a grant and say why. Never ask a colleague to open it for you.\n\
\n\
3. Reveal one value at a time. Card numbers and other sensitive values are masked. Reveal a \
value only when the task in front of you needs it, and do not write it down.\n\
\n\
4. Passcodes change every day. Enter the day passcode the owner gives you; never send it \
through the same channel as the link to the data, never reuse it, never share it.\n\
\n\
5. Work on a safe computer. Keep the firewall on, the disk encrypted, the screen lock set \
and the system updated. Do not open Confidential items on public or shared computers or \
networks without the owner's permission.\n\
\n\
6. Copies are marked. Downloads and exports carry your name and invisible marks. Keep them \
only as long as the task needs them and delete them afterwards.\n\
\n\
7. Report at once. A lost laptop, a message sent to the wrong person, a suspicious request: \
tell the owner immediately. Early reports let the Business protect its customers; hidden \
mistakes cannot be fixed.\n\
\n\
8. Leaving. When your work ends, delete every copy and sign out of every device. Your access \
is revoked on your last day.\n\
\n\
By acknowledging, you confirm that you have read these directives and will follow them.\n"
    );
    (title, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    use crate::ids::test_rng::Counter;

    fn agreement(version: u32, published: OffsetDateTime, grace: u32) -> Agreement {
        Agreement {
            id: AgreementId::random(&mut Counter(7)),
            workspace: WorkspaceId::random(&mut Counter(7)),
            kind: AgreementKind::Nda,
            audience: Role::Assistant,
            version,
            title: "NDA".into(),
            text: "text".into(),
            covers: Label::Restricted,
            valid_days: None,
            grace_days: grace,
            published_at: published,
            published_by: None,
        }
    }

    fn signed(a: &Agreement, at: OffsetDateTime, expires: Option<OffsetDateTime>) -> Signature {
        Signature {
            id: SignatureId::random(&mut Counter(7)),
            workspace: a.workspace,
            person: PersonId::random(&mut Counter(7)),
            agreement: a.id,
            kind: a.kind,
            audience: a.audience,
            version: a.version,
            text_sha256: [7; 32],
            covers: a.covers,
            typed_name: "Alex Doe".into(),
            signed_at: at,
            expires_at: expires,
            client: None,
            user_agent: "test".into(),
            seal: Vec::new(),
        }
    }

    #[test]
    fn nothing_signed_is_never_signed() {
        let v1 = agreement(1, datetime!(2026-11-01 0:00 UTC), 0);
        assert_eq!(
            standing(
                &v1,
                &[],
                Label::Confidential,
                datetime!(2026-11-02 0:00 UTC)
            ),
            Standing::NeverSigned
        );
    }

    #[test]
    fn a_new_version_without_grace_blocks_at_once() {
        let v1 = agreement(1, datetime!(2026-11-01 0:00 UTC), 0);
        let s = signed(&v1, datetime!(2026-11-02 0:00 UTC), None);
        let now = datetime!(2026-11-10 0:00 UTC);
        assert!(standing(&v1, std::slice::from_ref(&s), Label::Restricted, now).is_signed());
        let v2 = agreement(2, datetime!(2026-11-09 0:00 UTC), 0);
        assert_eq!(
            standing(&v2, &[s], Label::Restricted, now),
            Standing::Outdated {
                signed: 1,
                current: 2
            }
        );
    }

    #[test]
    fn a_grace_period_lets_the_old_signature_count_until_it_ends() {
        let v1 = agreement(1, datetime!(2026-11-01 0:00 UTC), 0);
        let s = signed(&v1, datetime!(2026-11-02 0:00 UTC), None);
        let v2 = agreement(2, datetime!(2026-11-09 0:00 UTC), 7);
        let inside = datetime!(2026-11-15 23:59 UTC);
        assert_eq!(
            standing(&v2, std::slice::from_ref(&s), Label::Public, inside),
            Standing::Signed {
                version: 1,
                until: Some(datetime!(2026-11-16 0:00 UTC))
            }
        );
        let after = datetime!(2026-11-16 0:00 UTC);
        assert!(!standing(&v2, &[s], Label::Public, after).is_signed());
    }

    #[test]
    fn signatures_expire_and_labels_are_covered_only_up_to_the_agreement() {
        let mut v1 = agreement(1, datetime!(2026-11-01 0:00 UTC), 0);
        v1.covers = Label::Internal;
        let s = signed(
            &v1,
            datetime!(2026-11-02 0:00 UTC),
            Some(datetime!(2026-12-02 0:00 UTC)),
        );
        let now = datetime!(2026-11-20 0:00 UTC);
        assert!(standing(&v1, std::slice::from_ref(&s), Label::Internal, now).is_signed());
        assert_eq!(
            standing(&v1, std::slice::from_ref(&s), Label::Confidential, now),
            Standing::DoesNotCover {
                covers: Label::Internal,
                label: Label::Confidential
            }
        );
        assert_eq!(
            standing(&v1, &[s], Label::Internal, datetime!(2026-12-02 0:00 UTC)),
            Standing::Expired {
                at: datetime!(2026-12-02 0:00 UTC)
            }
        );
    }

    #[test]
    fn another_kind_or_audience_does_not_count() {
        let v1 = agreement(1, datetime!(2026-11-01 0:00 UTC), 0);
        let mut s = signed(&v1, datetime!(2026-11-02 0:00 UTC), None);
        s.kind = AgreementKind::Handbook;
        let now = datetime!(2026-11-03 0:00 UTC);
        assert_eq!(
            standing(&v1, std::slice::from_ref(&s), Label::Public, now),
            Standing::NeverSigned
        );
        s.kind = AgreementKind::Nda;
        s.audience = Role::Vendor;
        assert_eq!(
            standing(&v1, &[s], Label::Public, now),
            Standing::NeverSigned
        );
    }

    #[test]
    fn the_default_nda_names_the_categories_present_and_the_rules() {
        let (title, text) = default_nda(
            "Acme Dental",
            Role::Assistant,
            &[DataCategory::CardNumber, DataCategory::Phone],
        );
        assert!(title.contains("Acme Dental"));
        assert!(text.contains("payment card numbers"));
        assert!(text.contains("telephone numbers"));
        assert!(!text.contains("dates of birth"));
        for rule in [
            "Need to know",
            "No copies outside confidant",
            "Passcodes",
            "firewall",
        ] {
            assert!(text.contains(rule), "missing {rule}");
        }
        assert!(text.contains("revoke your access"));
        assert!(text.contains("Report at once"));
    }

    #[test]
    fn signing_needs_a_name_and_consent() {
        assert_eq!(
            validate_signing("  Alex   Doe ", true),
            Ok("Alex Doe".into())
        );
        assert_eq!(
            validate_signing(" ", true),
            Err(AgreementError::NoTypedName)
        );
        assert_eq!(
            validate_signing("Alex Doe", false),
            Err(AgreementError::NoConsent)
        );
        assert!(validate_agreement(Role::Owner, "t", "x", None, 0).is_err());
        assert!(validate_agreement(Role::Vendor, "t", "x", Some(0), 0).is_err());
        assert!(validate_agreement(Role::Vendor, "t", "x", Some(365), 14).is_ok());
    }

    #[test]
    fn the_signed_bytes_cannot_be_forged_with_a_newline() {
        let v1 = agreement(1, datetime!(2026-11-01 0:00 UTC), 0);
        let mut s = signed(&v1, datetime!(2026-11-02 0:00 UTC), None);
        s.typed_name = "Alex\nversion: 9".into();
        let text = String::from_utf8(s.signed_bytes()).unwrap();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("version:")).count(),
            1
        );
    }
}
