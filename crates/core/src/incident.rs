//! Incidents: what a leak exposed, and the notices that tell each affected
//! customer. Plain data and pure functions: the exposure is computed by the
//! vault from ledger entries into these types; notices are rendered here
//! from the owner's template.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::{DataCategory, ItemId, RecordSetId, RowId};

/// How data reached the person, from least to most exposing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Shown with every value masked: unintelligible to them.
    MaskedView,
    /// Shown with some values in the clear.
    ClearView,
    /// A value revealed on purpose, one at a time.
    Revealed,
    /// A copy left the vault (a download or an export).
    Copy,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::MaskedView,
        Channel::ClearView,
        Channel::Revealed,
        Channel::Copy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::MaskedView => "masked_view",
            Channel::ClearView => "clear_view",
            Channel::Revealed => "revealed",
            Channel::Copy => "copy",
        }
    }

    /// In words, for notices and reports.
    pub fn words(self) -> &'static str {
        match self {
            Channel::MaskedView => "viewed with the values hidden",
            Channel::ClearView => "viewed on screen",
            Channel::Revealed => "individually revealed",
            Channel::Copy => "copied out of our system",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one customer (a row of a record set whose rows are customers) had
/// exposed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerExposure {
    pub set: RecordSetId,
    pub row: RowId,
    /// Categories that reached the person in the clear.
    pub clear: BTreeSet<DataCategory>,
    /// Categories shown to them only masked (never in the clear).
    pub masked_only: BTreeSet<DataCategory>,
    /// How many accesses by channel.
    pub channels: BTreeMap<Channel, u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub first: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last: OffsetDateTime,
}

impl CustomerExposure {
    /// Nothing reached them in the clear: the data was unintelligible.
    pub fn unintelligible(&self) -> bool {
        self.clear.is_empty()
    }

    /// The most exposing channel.
    pub fn worst(&self) -> Option<Channel> {
        self.channels.keys().max().copied()
    }
}

/// What one document had exposed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocumentExposure {
    pub id: ItemId,
    pub channels: BTreeMap<Channel, u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub first: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last: OffsetDateTime,
}

/// The exposure of an incident: every customer and document a person
/// reached in the window, sorted by record set and row (documents by id),
/// so that equal ledgers give equal exposures on every backend.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub customers: Vec<CustomerExposure>,
    pub documents: Vec<DocumentExposure>,
    /// Ledger entries that counted.
    pub entries: u64,
    /// Counted entries per day (UTC), for the chart over time.
    pub by_day: BTreeMap<Date, u32>,
}

impl Exposure {
    /// Customers who had something in the clear (the ones to notify).
    pub fn intelligible(&self) -> impl Iterator<Item = &CustomerExposure> {
        self.customers.iter().filter(|c| !c.unintelligible())
    }

    /// Customers per category that reached the person in the clear.
    pub fn category_counts(&self) -> BTreeMap<DataCategory, u64> {
        let mut out = BTreeMap::new();
        for c in &self.customers {
            for cat in &c.clear {
                *out.entry(*cat).or_default() += 1;
            }
        }
        out
    }

    /// Customers by their most exposing channel.
    pub fn channel_counts(&self) -> BTreeMap<Channel, u64> {
        let mut out = BTreeMap::new();
        for c in &self.customers {
            if let Some(w) = c.worst() {
                *out.entry(w).or_default() += 1;
            }
        }
        out
    }
}

/// A data category in the words of a notice to a customer.
pub fn category_words(category: DataCategory) -> &'static str {
    match category {
        DataCategory::CardNumber => "payment card number",
        DataCategory::BankAccount => "bank account number",
        DataCategory::NationalId => {
            "national identification number (such as a Social Security number)"
        }
        DataCategory::Phone => "phone number",
        DataCategory::Email => "e-mail address",
        DataCategory::PostalAddress => "postal address",
        DataCategory::DateOfBirth => "date of birth",
        DataCategory::Name => "name",
        DataCategory::FreeText => "notes we keep about you",
        DataCategory::Other => "other details we keep about you",
    }
}

/// The placeholders a notice template may use.
pub const NOTICE_PLACEHOLDERS: &[&str] = &[
    "business",
    "name",
    "when",
    "categories",
    "how",
    "what_happened",
    "contact",
    "reference",
];

/// The longest template accepted.
pub const MAX_TEMPLATE_CHARS: usize = 20_000;

/// The notice sent when the owner has not written their own. Its headings
/// follow California Civil Code 1798.82(d)(1) and it carries what GDPR
/// Art. 34(2) asks a notice to a data subject to say (the nature of the
/// breach, a contact point, the likely consequences, the measures taken).
pub const DEFAULT_NOTICE_TEMPLATE: &str = "Subject: Notice of Data Breach

Dear {{name}},

We are writing to tell you about an incident at {{business}} that involved some of your personal information.

What Happened
{{what_happened}} {{when}}, a person who worked for us had access to your information and may have kept or shared it. Their access has been ended.

What Information Was Involved
Your {{categories}}. It was {{how}}.

What We Are Doing
We ended the person's access as soon as we learned of this, we reviewed our access records to find exactly whose information was involved, and we are telling every affected customer. We are reviewing who may see customer information and how.

What You Can Do
Watch your accounts and statements for activity you do not recognise and report it to your bank or card issuer at once. If a payment card number was involved, you may ask your card issuer for a new card. Be careful with messages that claim to come from us and ask for personal information: we will never ask for your card number or passwords by e-mail.

Likely Consequences
Information like this can be used for fraud or for messages that try to trick you into giving more information.

For More Information
Contact us at {{contact}}. Please quote reference {{reference}}.

{{business}}
";

/// A template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the notice template is empty")]
    Empty,
    #[error("the notice template is longer than {MAX_TEMPLATE_CHARS} characters")]
    TooLong,
    #[error(
        "the notice template uses {{{{{0}}}}}, which is not a placeholder (use business, name, when, categories, how, what_happened, contact, reference)"
    )]
    UnknownPlaceholder(String),
    #[error("the notice template has a {{{{ without its }}}}")]
    Unclosed,
    #[error("the notice template's first line must be \"Subject: ...\"")]
    NoSubject,
    #[error("the notice template must name the information involved: use {{{{categories}}}}")]
    NoCategories,
}

/// Checks a template: a subject line, known placeholders only, and the
/// categories named.
pub fn validate_template(text: &str) -> Result<(), TemplateError> {
    if text.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    if text.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(TemplateError::TooLong);
    }
    let first = text.lines().next().unwrap_or_default();
    if !first.starts_with("Subject:") || first["Subject:".len()..].trim().is_empty() {
        return Err(TemplateError::NoSubject);
    }
    let mut seen_categories = false;
    for name in placeholders(text)? {
        if !NOTICE_PLACEHOLDERS.contains(&name) {
            return Err(TemplateError::UnknownPlaceholder(name.to_owned()));
        }
        seen_categories |= name == "categories";
    }
    if !seen_categories {
        return Err(TemplateError::NoCategories);
    }
    Ok(())
}

fn placeholders(text: &str) -> Result<Vec<&str>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        out.push(after[..end].trim());
        rest = &after[end + 2..];
    }
    Ok(out)
}

/// The values for one customer's notice.
#[derive(Clone, Debug, Default)]
pub struct NoticeValues {
    pub business: String,
    pub name: String,
    pub when: String,
    pub categories: String,
    pub how: String,
    pub what_happened: String,
    pub contact: String,
    pub reference: String,
}

/// A rendered notice: its subject and body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RenderedNotice {
    pub subject: String,
    pub body: String,
}

/// Fills a (validated) template in one pass: a value that itself looks
/// like a placeholder is not expanded again.
pub fn render_notice(
    template: &str,
    values: &NoticeValues,
) -> Result<RenderedNotice, TemplateError> {
    validate_template(template)?;
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
        let value = match after[..end].trim() {
            "business" => &values.business,
            "name" => &values.name,
            "when" => &values.when,
            "categories" => &values.categories,
            "how" => &values.how,
            "what_happened" => &values.what_happened,
            "contact" => &values.contact,
            "reference" => &values.reference,
            other => return Err(TemplateError::UnknownPlaceholder(other.to_owned())),
        };
        // Header injection: nothing of a value may start a new line in the
        // subject; values never hold line breaks anywhere.
        out.push_str(&value.replace(['\r', '\n'], " "));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    let (first, body) = out.split_once('\n').unwrap_or((out.as_str(), ""));
    let subject = first
        .trim_start_matches("Subject:")
        .trim()
        .chars()
        .take(200)
        .collect();
    Ok(RenderedNotice {
        subject,
        body: body.trim_start_matches(['\r', '\n']).to_owned(),
    })
}

/// Joins category words as a sentence list: "name, e-mail address and
/// payment card number".
pub fn category_list(categories: &BTreeSet<DataCategory>) -> String {
    let words: Vec<&str> = categories.iter().map(|c| category_words(*c)).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The facts of a draft notification to the supervisory authority.
#[derive(Clone, Debug)]
pub struct RegulatorFacts {
    pub business: String,
    pub contact: String,
    pub reference: String,
    pub what_happened: String,
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    pub aware_at: OffsetDateTime,
    pub now: OffsetDateTime,
    pub offboarded: bool,
    pub exposure_customers: u64,
    pub clear_customers: u64,
    pub masked_customers: u64,
    pub records: u64,
    pub documents: u64,
    pub categories: BTreeMap<DataCategory, u64>,
    pub channels: BTreeMap<Channel, u64>,
    pub notices_queued: u64,
    pub notices_sent: u64,
}

fn stamp(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.to_string())
}

/// The 72-hour clock of GDPR Art. 33(1): the deadline and the time left at
/// `now` (negative once late).
pub fn regulator_clock(
    aware_at: OffsetDateTime,
    now: OffsetDateTime,
) -> (OffsetDateTime, time::Duration) {
    let due = aware_at + time::Duration::hours(72);
    (due, due - now)
}

/// A draft notification to the supervisory authority with the contents of
/// GDPR Art. 33(3), (a) to (d), for the owner to check and complete.
pub fn regulator_draft(f: &RegulatorFacts) -> String {
    let (due, left) = regulator_clock(f.aware_at, f.now);
    let clock = if left.is_negative() {
        format!(
            "LATE by {} hours: Art. 33(1) asks for the reasons for the delay (add them below).",
            (-left).whole_hours()
        )
    } else {
        format!("{} hours left.", left.whole_hours())
    };
    let categories = if f.categories.is_empty() {
        "none in the clear".to_owned()
    } else {
        f.categories
            .iter()
            .map(|(c, n)| format!("{} ({n} people)", category_words(*c)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let channels = f
        .channels
        .iter()
        .map(|(c, n)| format!("{} {n}", c.words()))
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "DRAFT: Notification of a personal data breach (GDPR Art. 33)\n\
         Controller: {business}. Reference: {reference}.\n\
         Became aware: {aware}. Notification due by: {due} ({clock})\n\
         \n\
         (a) Nature of the breach\n\
         {what} A person working for the controller accessed personal data between {since} and {until}; \
         the access record (a tamper-evident ledger) shows exactly what reached them.\n\
         Categories of data subjects: customers.\n\
         Approximate number of data subjects concerned: {clear} whose data reached the person in the clear \
         ({total} in all, {masked} of them saw only masked, unintelligible values).\n\
         Categories of personal data: {categories}.\n\
         Approximate number of records concerned: {records} customer records and {documents} documents.\n\
         How the data was reached (customers by most exposing way): {channels}.\n\
         \n\
         (b) Contact point for more information\n\
         {contact}\n\
         \n\
         (c) Likely consequences\n\
         Fraud or misuse of the data named above (for payment card numbers: card fraud), and messages \
         that try to trick the people concerned into giving more information.\n\
         \n\
         (d) Measures taken or proposed\n\
         {offboard}The exposure was computed from the access record. {queued} affected customers are being \
         notified individually (Art. 34); {sent} notices have been delivered to their mail servers so far. \
         [Add: measures to mitigate possible adverse effects; changes to access.]\n",
        business = f.business,
        reference = f.reference,
        aware = stamp(f.aware_at),
        due = stamp(due),
        what = f.what_happened,
        since = stamp(f.since),
        until = stamp(f.until),
        clear = f.clear_customers,
        total = f.exposure_customers,
        masked = f.masked_customers,
        records = f.records,
        documents = f.documents,
        contact = f.contact,
        queued = f.notices_queued,
        sent = f.notices_sent,
        offboard = if f.offboarded {
            "The person's access (sessions, grants, passcodes) was ended at once. "
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_is_valid_and_renders() {
        validate_template(DEFAULT_NOTICE_TEMPLATE).unwrap();
        let values = NoticeValues {
            business: "Dana's Plumbing".into(),
            name: "Ann {{contact}}".into(),
            categories: "name and payment card number".into(),
            ..NoticeValues::default()
        };
        let n = render_notice(DEFAULT_NOTICE_TEMPLATE, &values).unwrap();
        assert_eq!(n.subject, "Notice of Data Breach");
        assert!(n.body.starts_with("Dear Ann {{contact}},"));
        assert!(n.body.contains("Your name and payment card number."));
        for heading in [
            "What Happened",
            "What Information Was Involved",
            "What We Are Doing",
            "What You Can Do",
            "For More Information",
        ] {
            assert!(n.body.contains(heading), "{heading}");
        }
    }

    #[test]
    fn bad_templates_are_refused() {
        for (text, want) in [
            ("", TemplateError::Empty),
            ("Hello {{categories}}", TemplateError::NoSubject),
            (
                "Subject: x\n{{categories}} {{nope}}",
                TemplateError::UnknownPlaceholder("nope".into()),
            ),
            ("Subject: x\n{{categories}} {{name", TemplateError::Unclosed),
            ("Subject: x\nno categories", TemplateError::NoCategories),
        ] {
            assert_eq!(validate_template(text), Err(want), "{text}");
        }
    }

    #[test]
    fn category_lists_read_as_sentences() {
        let mut set = BTreeSet::new();
        set.insert(DataCategory::Name);
        assert_eq!(category_list(&set), "name");
        set.insert(DataCategory::CardNumber);
        set.insert(DataCategory::Email);
        assert_eq!(
            category_list(&set),
            "payment card number, e-mail address and name"
        );
    }
}
