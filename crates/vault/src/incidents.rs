//! Incidents: after a leak, which customers and data categories a person
//! reached (computed from the ledger), a timeline of what the owner did,
//! and breach notices to every affected customer through a durable outbox.
//!
//! The exposure is [`compute_exposure`], a pure function over ledger
//! entries. Only what left in the clear counts as seen: the ledger names
//! the columns that were shown and lists masked ones in the reason as
//! "(masked: a, b)", so a customer shown only masked is reported as
//! unintelligible to the person and gets no notice.
//!
//! Nothing about a customer is stored with the incident: a notice row holds
//! the record set and row ids; its address and text are derived from the
//! customer's encrypted row when it is previewed or sent, and both are on
//! the ledger before they leave. See `docs/incidents.md`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use confidant_core::incident::{
    Channel, CustomerExposure, DEFAULT_NOTICE_TEMPLATE, DocumentExposure, Exposure, NoticeValues,
    RenderedNotice, category_list, render_notice, validate_template,
};
use confidant_core::{DataCategory, IncidentId, ItemId, NoticeId, PersonId, RecordSetId, RowId};
use confidant_ledger::{Action, Decision, Entry, KnownAction, Target, TargetId};
use confidant_store::RecordSetRecord;
use rand_core::{OsRng, RngCore};
use time::{Duration, OffsetDateTime};

use crate::audit::Attempt;
use crate::{Actor, Vault, VaultError};

mod bounce;
mod letters;
mod origin;
mod smtp;

pub use bounce::{BounceOutcome, DeliveryReport, RecipientReport, parse_delivery_report};
/// The stored forms the use cases return.
pub use confidant_store::{IncidentItem, IncidentRecord, IncidentStep, NoticeRecord, NoticeStatus};
pub use letters::{LetterExport, LetterScope};
pub use lettre::Address as MailAddress;
pub use origin::{DeliveryIncident, HoneyEvidence};
pub use smtp::{Mail, SmtpSecurity, SmtpSettings, send_mail};

/// What the exposure computation needs to know about a record set.
#[derive(Clone, Debug, Default)]
pub struct SetShape {
    /// Its rows are customers (data subjects).
    pub customers: bool,
    /// The category of each column, by name.
    pub columns: HashMap<String, DataCategory>,
}

fn category_bit(c: DataCategory) -> u16 {
    let index = DataCategory::ALL.iter().position(|k| *k == c).unwrap_or(0);
    1 << index
}

fn categories_of(bits: u16) -> BTreeSet<DataCategory> {
    DataCategory::ALL
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, c)| *c)
        .collect()
}

fn channel_index(c: Channel) -> usize {
    match c {
        Channel::MaskedView => 0,
        Channel::ClearView => 1,
        Channel::Revealed => 2,
        Channel::Copy => 3,
    }
}

#[derive(Default)]
struct Acc {
    clear: u16,
    masked: u16,
    channels: [u32; 4],
    first: i64,
    last: i64,
}

impl Acc {
    fn add(&mut self, channel: Channel, clear: u16, masked: u16, at: i64) {
        if self.channels.iter().all(|n| *n == 0) {
            self.first = at;
            self.last = at;
        }
        self.clear |= clear;
        self.masked |= masked;
        self.channels[channel_index(channel)] += 1;
        self.first = self.first.min(at);
        self.last = self.last.max(at);
    }

    fn channels(&self) -> BTreeMap<Channel, u32> {
        Channel::ALL
            .iter()
            .filter(|c| self.channels[channel_index(**c)] > 0)
            .map(|c| (*c, self.channels[channel_index(*c)]))
            .collect()
    }
}

fn datetime(millis: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The masked column names in a reason ("... (masked: a, b) ...").
fn masked_columns(reason: &str) -> impl Iterator<Item = &str> {
    reason
        .split_once("(masked: ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list)
        .into_iter()
        .flat_map(|list| list.split(", "))
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// The exposure of `person`'s allowed views, reveals, downloads and exports
/// from `since` (inclusive) to `until` (exclusive), over ledger entries in
/// any order. Pure: the same entries and shapes give the same exposure on
/// every backend.
///
/// A record set not in `sets` (deleted since) counts as customers, with
/// the categories the entry names.
pub fn compute_exposure<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    person: PersonId,
    since: OffsetDateTime,
    until: OffsetDateTime,
    sets: &HashMap<RecordSetId, SetShape>,
) -> Exposure {
    exposure_where(entries, |e| e.actor == Some(person), since, until, sets)
}

/// The exposure through one enrolled device: `person`'s allowed accesses
/// made from it in the window (a lost or compromised laptop).
pub fn compute_device_exposure<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    person: PersonId,
    device: confidant_core::DeviceId,
    since: OffsetDateTime,
    until: OffsetDateTime,
    sets: &HashMap<RecordSetId, SetShape>,
) -> Exposure {
    let device = device.to_string();
    exposure_where(
        entries,
        |e| e.actor == Some(person) && e.device.as_ref().is_some_and(|d| d.as_str() == device),
        since,
        until,
        sets,
    )
}

/// The exposure through one item (a document or a record set): every
/// person's allowed accesses to it in the window, but those of the people
/// in `excluded` (the owner and admins: the business's own). Otherwise as
/// [`compute_exposure`].
pub fn compute_item_exposure<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    item: TargetId,
    excluded: &HashSet<PersonId>,
    since: OffsetDateTime,
    until: OffsetDateTime,
    sets: &HashMap<RecordSetId, SetShape>,
) -> Exposure {
    exposure_where(
        entries,
        |e| e.target.id == item && e.actor.is_some_and(|a| !excluded.contains(&a)),
        since,
        until,
        sets,
    )
}

fn exposure_where<'a>(
    entries: impl IntoIterator<Item = &'a Entry>,
    counts: impl Fn(&Entry) -> bool,
    since: OffsetDateTime,
    until: OffsetDateTime,
    sets: &HashMap<RecordSetId, SetShape>,
) -> Exposure {
    let since = crate::incidents::millis(since);
    let until = crate::incidents::millis(until);
    let mut customers: HashMap<(RecordSetId, RowId), Acc> = HashMap::new();
    let mut documents: HashMap<ItemId, Acc> = HashMap::new();
    let mut by_day: BTreeMap<time::Date, u32> = BTreeMap::new();
    let mut counted = 0u64;
    for entry in entries {
        if entry.decision != Decision::Allow || !counts(entry) {
            continue;
        }
        let at = entry.time.unix_millis();
        if at < since || at >= until {
            continue;
        }
        let Action::Known(action) = entry.action else {
            continue;
        };
        match (action, entry.target.id) {
            (
                KnownAction::View | KnownAction::Reveal | KnownAction::Export,
                TargetId::RecordSet(set),
            ) if !entry.target.rows.is_empty() => {
                let shape = sets.get(&set);
                if shape.is_some_and(|s| !s.customers) {
                    continue;
                }
                let category_of = |column: &str| shape.and_then(|s| s.columns.get(column)).copied();
                let mut clear = 0u16;
                for column in &entry.target.columns {
                    if let Some(c) = category_of(column) {
                        clear |= category_bit(c);
                    }
                }
                for name in &entry.categories {
                    if let Ok(c) = name.as_str().parse::<DataCategory>() {
                        clear |= category_bit(c);
                    }
                }
                let mut masked = 0u16;
                for column in masked_columns(&entry.reason) {
                    if let Some(c) = category_of(column) {
                        masked |= category_bit(c);
                    }
                }
                let channel = match action {
                    KnownAction::Reveal => Channel::Revealed,
                    KnownAction::Export => Channel::Copy,
                    _ if clear == 0 => Channel::MaskedView,
                    _ => Channel::ClearView,
                };
                for row in &entry.target.rows {
                    customers
                        .entry((set, *row))
                        .or_default()
                        .add(channel, clear, masked, at);
                }
            }
            (KnownAction::Download, TargetId::Document(doc)) => {
                documents
                    .entry(doc)
                    .or_default()
                    .add(Channel::Copy, 0, 0, at);
            }
            _ => continue,
        }
        counted += 1;
        *by_day.entry(datetime(at).date()).or_default() += 1;
    }
    let mut customers: Vec<CustomerExposure> = customers
        .into_iter()
        .map(|((set, row), acc)| CustomerExposure {
            set,
            row,
            clear: categories_of(acc.clear),
            masked_only: categories_of(acc.masked & !acc.clear),
            channels: acc.channels(),
            first: datetime(acc.first),
            last: datetime(acc.last),
        })
        .collect();
    customers.sort_by_key(|c| (c.set, c.row));
    let mut documents: Vec<DocumentExposure> = documents
        .into_iter()
        .map(|(id, acc)| DocumentExposure {
            id,
            channels: acc.channels(),
            first: datetime(acc.first),
            last: datetime(acc.last),
        })
        .collect();
    documents.sort_by_key(|d| d.id);
    Exposure {
        customers,
        documents,
        entries: counted,
        by_day,
    }
}

/// Picks one person's entries out of ledger leaves without parsing the
/// others: a leaf is parsed only when its canonical bytes carry the
/// person's id as actor (the parsed entry is checked again by
/// [`compute_exposure`]).
#[derive(Debug, Clone)]
pub struct PersonFilter {
    needle: String,
}

impl PersonFilter {
    pub fn new(person: PersonId) -> Self {
        PersonFilter {
            needle: format!("\"actor\":\"{person}\""),
        }
    }

    /// Appends the entry of `leaf` (ledger index `index`) to `out` when it
    /// is the person's; a damaged entry of theirs is an integrity error.
    pub fn keep(&self, index: u64, leaf: &[u8], out: &mut Vec<Entry>) -> Result<(), VaultError> {
        let Ok(text) = std::str::from_utf8(leaf) else {
            return Err(VaultError::Integrity(format!(
                "ledger entry {index} is damaged: not UTF-8"
            )));
        };
        if !text.contains(&self.needle) {
            return Ok(());
        }
        out.push(
            Entry::from_leaf(leaf).map_err(|e| {
                VaultError::Integrity(format!("ledger entry {index} is damaged: {e}"))
            })?,
        );
        Ok(())
    }
}

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// What the owner asks for when opening an incident.
#[derive(Clone, Debug)]
pub struct IncidentRequest {
    /// The person whose accesses leaked (e-mail or id).
    pub person: String,
    pub since: OffsetDateTime,
    /// Default: now.
    pub until: Option<OffsetDateTime>,
    /// What happened, in words fit for the customers' notices ("What
    /// Happened"); kept sealed, never in the ledger.
    pub reason: String,
    /// When the owner became aware (default: now): the 72-hour clock for
    /// the regulator starts here.
    pub aware_at: Option<OffsetDateTime>,
    /// Offboard the person in the same step.
    pub offboard: bool,
}

/// A customer in an incident's report.
#[derive(Clone, Debug)]
pub struct ExposedCustomer {
    pub exposure: CustomerExposure,
    pub set_name: Option<String>,
}

/// A document in an incident's report.
#[derive(Clone, Debug)]
pub struct ExposedDocument {
    pub exposure: DocumentExposure,
    pub name: Option<String>,
}

/// An incident with its exposure (recomputed from the ledger), timeline
/// and notices.
#[derive(Clone, Debug)]
pub struct IncidentView {
    pub id: IncidentId,
    /// Whose accesses it is about (for an item incident: who opened it).
    pub person: PersonId,
    pub person_email: String,
    /// For an incident about everyone's accesses to one item: the item in
    /// words ("record set customers").
    pub item: Option<String>,
    /// What its ledger entries name: the person or the item.
    pub subject: TargetId,
    pub since: OffsetDateTime,
    pub until: OffsetDateTime,
    pub aware_at: OffsetDateTime,
    /// 72 hours after `aware_at`: when the regulator must have been told
    /// (GDPR Art. 33(1)).
    pub regulator_due: OffsetDateTime,
    pub opened_at: OffsetDateTime,
    pub offboarded: bool,
    pub reason: String,
    pub exposure: Exposure,
    pub customers: Vec<ExposedCustomer>,
    pub documents: Vec<ExposedDocument>,
    pub timeline: Vec<IncidentStep>,
    pub notices: Vec<NoticeRecord>,
}

/// One customer's notice, rendered.
#[derive(Clone, Debug)]
pub struct NoticeDraft {
    pub set: RecordSetId,
    pub row: RowId,
    /// The customer's e-mail address; `None` when the row has none.
    pub to: Option<String>,
    /// The customer's name as the notice greets them.
    pub name: String,
    /// The customer's postal address (the record set's address column),
    /// read only for letters.
    pub address: Option<String>,
    pub categories: BTreeSet<DataCategory>,
    pub notice: RenderedNotice,
}

/// Why notices are drafted: the ledger action and words for the rows'
/// read, and whether the postal address is read too (letters only).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Purpose<'a> {
    pub action: KnownAction,
    pub why: &'a str,
    pub address: bool,
}

/// What `send_notices` did.
#[derive(Clone, Debug, Default)]
pub struct SendReport {
    pub sent: u64,
    /// (notice, reason) of attempts that failed this time.
    pub failed: Vec<(NoticeId, String)>,
    /// Notices sent before, or claimed by another sender, or not due.
    pub skipped: u64,
    /// Claims of stopped senders put back in the queue.
    pub requeued: u64,
    /// Notices a stopped sender had handed over, held for the owner (all
    /// of the incident's, after this run).
    pub uncertain: u64,
}

/// Where a test stops the sender, to stand for a crash (the state in the
/// store is left exactly as a killed process would leave it).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopPoint {
    /// After claiming the first notice, before anything else.
    AfterClaim,
    /// After the SMTP server accepted the first notice, before recording it.
    AfterAccept,
}

/// How to send.
#[derive(Clone, Debug)]
pub struct SendOptions {
    /// A claim older than this belongs to a sender that stopped.
    pub lease: Duration,
    /// Retry failed notices now instead of waiting for their backoff.
    pub retry_now: bool,
    /// The owner's decision to send again the notices a stopped sender had
    /// handed over (they may have been delivered).
    pub resend_uncertain: bool,
    #[doc(hidden)]
    pub stop: Option<StopPoint>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            lease: Duration::minutes(5),
            retry_now: false,
            resend_uncertain: false,
            stop: None,
        }
    }
}

/// The wait before the next try after `attempts` tries: one minute,
/// doubling, at most six hours.
pub fn retry_backoff(attempts: u32) -> Duration {
    let minutes = 1i64 << attempts.saturating_sub(1).min(9);
    Duration::minutes(minutes.min(360))
}

/// The reason, the window's end and the awareness time of a request, or
/// what is wrong with it.
fn checked_request(
    request: &IncidentRequest,
    now: OffsetDateTime,
) -> Result<(&str, OffsetDateTime, OffsetDateTime), VaultError> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(VaultError::InvalidInput(
            "say what happened (--reason, at most 2000 characters): it is the \"What \
             Happened\" of the customers' notices"
                .into(),
        ));
    }
    let until = request.until.unwrap_or(now).min(now);
    if request.since >= until {
        return Err(VaultError::InvalidInput(format!(
            "the window is empty: --since {} is not before {} (nothing was changed)",
            day(request.since),
            day(until)
        )));
    }
    let aware_at = request.aware_at.unwrap_or(now);
    if aware_at > now {
        return Err(VaultError::InvalidInput(
            "--aware cannot be in the future (nothing was changed)".into(),
        ));
    }
    Ok((reason, until, aware_at))
}

/// What an incident's ledger entries name: its person, or its item.
pub(crate) fn subject(record: &IncidentRecord) -> TargetId {
    match record.item {
        None => TargetId::Person(record.person),
        Some(IncidentItem::Document(id)) => TargetId::Document(id),
        Some(IncidentItem::RecordSet(id)) => TargetId::RecordSet(id),
        // The device's person: their entries carry the device's id.
        Some(IncidentItem::Device(_)) => TargetId::Person(record.person),
    }
}

fn reason_context(id: IncidentId) -> [Vec<u8>; 2] {
    [b"incident-reason".to_vec(), id.as_bytes().to_vec()]
}

fn minute(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| t.to_string())
}

fn day(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    t.format(&f).unwrap_or_else(|_| t.to_string())
}

impl Vault {
    fn seal_incident(&self, id: IncidentId, value: &[u8]) -> Result<Vec<u8>, VaultError> {
        let [a, b] = reason_context(id);
        self.seal_small(&[self.workspace().as_bytes(), &a, &b], value)
    }

    fn open_incident_reason(&self, id: IncidentId, sealed: &[u8]) -> Result<String, VaultError> {
        let [a, b] = reason_context(id);
        let plain = self.open_small(
            "an incident's reason",
            &[self.workspace().as_bytes(), &a, &b],
            sealed,
        )?;
        String::from_utf8(plain)
            .map_err(|_| VaultError::Integrity("an incident's reason is not text".into()))
    }

    /// The shape of every record set, for [`compute_exposure`].
    async fn set_shapes(
        &self,
    ) -> Result<
        (
            HashMap<RecordSetId, SetShape>,
            HashMap<RecordSetId, RecordSetRecord>,
        ),
        VaultError,
    > {
        let mut shapes = HashMap::new();
        let mut records = HashMap::new();
        for set in self.store().record_sets(self.workspace()).await? {
            shapes.insert(
                set.id,
                SetShape {
                    customers: set.rows_are_customers,
                    columns: set
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), c.category))
                        .collect(),
                },
            );
            records.insert(set.id, set);
        }
        Ok((shapes, records))
    }

    /// The exposure of a person in a window, from the whole ledger, read a
    /// page at a time (only the person's entries are kept).
    pub async fn exposure(
        &self,
        actor: &Actor,
        person: PersonId,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Exposure, VaultError> {
        self.require_owner(actor, "compute an exposure")?;
        let entries = self.entries_naming(&PersonFilter::new(person)).await?;
        let (shapes, _) = self.set_shapes().await?;
        Ok(compute_exposure(&entries, person, since, until, &shapes))
    }

    /// The ledger's entries whose leaves pass `filter`, read a page at a
    /// time.
    async fn entries_naming(&self, filter: &PersonFilter) -> Result<Vec<Entry>, VaultError> {
        let mut entries = Vec::new();
        let mut read = 0u64;
        loop {
            let page = self
                .store()
                .ledger_leaves(self.workspace(), read, 10_000)
                .await?;
            if page.is_empty() {
                break;
            }
            for leaf in &page {
                filter.keep(read, &leaf.leaf, &mut entries)?;
                read += 1;
            }
        }
        Ok(entries)
    }

    /// The exposure an incident is about: its person's, or everyone's
    /// through its item (but the owner's and admins').
    pub(crate) async fn record_exposure(
        &self,
        actor: &Actor,
        record: &IncidentRecord,
    ) -> Result<Exposure, VaultError> {
        let item = match record.item {
            None => {
                return self
                    .exposure(actor, record.person, record.since, record.until)
                    .await;
            }
            Some(IncidentItem::Device(device)) => {
                self.require_owner(actor, "compute an exposure")?;
                let entries = self
                    .entries_naming(&PersonFilter::new(record.person))
                    .await?;
                let (shapes, _) = self.set_shapes().await?;
                return Ok(compute_device_exposure(
                    &entries,
                    record.person,
                    device,
                    record.since,
                    record.until,
                    &shapes,
                ));
            }
            Some(item) => item,
        };
        self.require_owner(actor, "compute an exposure")?;
        let target = subject(record);
        // A leaf that names the item carries its id (the filter's needle
        // need not be an actor); the parsed entry is checked again by
        // compute_item_exposure.
        let needle = match item {
            IncidentItem::Document(id) => id.to_string(),
            IncidentItem::RecordSet(id) => id.to_string(),
            IncidentItem::Device(id) => id.to_string(),
        };
        let entries = self.entries_naming(&PersonFilter { needle }).await?;
        let excluded: HashSet<PersonId> = self
            .store()
            .people(self.workspace())
            .await?
            .into_iter()
            .filter(|p| {
                matches!(
                    p.role,
                    confidant_core::Role::Owner | confidant_core::Role::Admin
                )
            })
            .map(|p| p.id)
            .collect();
        let (shapes, _) = self.set_shapes().await?;
        Ok(compute_item_exposure(
            &entries,
            target,
            &excluded,
            record.since,
            record.until,
            &shapes,
        ))
    }

    /// Appends an incident step to the ledger (first) and to the timeline.
    pub(crate) async fn incident_step(
        &self,
        actor: &Actor,
        incident: IncidentId,
        subject: TargetId,
        kind: &str,
        detail: String,
    ) -> Result<(), VaultError> {
        let mut attempt = Attempt::allowed(actor, KnownAction::Incident, Target::whole(subject));
        attempt.reason = format!("incident {incident}: {kind}: {detail}");
        self.record(&[attempt]).await?;
        self.store()
            .add_incident_step(
                self.workspace(),
                incident,
                &IncidentStep {
                    at: self.inner.clock.now(),
                    kind: kind.to_owned(),
                    detail,
                },
            )
            .await?;
        Ok(())
    }

    /// Opens an incident: checks the request, computes the exposure, puts
    /// the opening on the ledger, stores the incident and, when asked,
    /// offboards the person in the same store transaction.
    pub async fn open_incident(
        &self,
        actor: &Actor,
        request: &IncidentRequest,
    ) -> Result<IncidentView, VaultError> {
        self.require_owner(actor, "open an incident")?;
        let now = self.inner.clock.now();
        let (reason, until, aware_at) = checked_request(request, now)?;
        let person = self.find_person(&request.person).await?;
        if person.id == actor.person {
            return Err(VaultError::InvalidInput(
                "an incident is about someone else's accesses, not your own".into(),
            ));
        }
        if request.offboard && person.offboarded_at.is_some() {
            return Err(VaultError::Conflict(format!(
                "{} was offboarded already: open the incident without --offboard (nothing was changed)",
                person.email
            )));
        }
        let exposure = self
            .exposure(actor, person.id, request.since, until)
            .await?;
        let id = IncidentId::random(&mut OsRng);
        let record = IncidentRecord {
            id,
            workspace: self.workspace(),
            person: person.id,
            since: request.since,
            until,
            aware_at,
            opened_at: now,
            opened_by: actor.person,
            reason_ct: self.seal_incident(id, reason.as_bytes())?,
            offboarded: request.offboard,
            item: None,
        };
        let clear = exposure.intelligible().count();
        let detail = format!(
            "window {} to {}; {} customers reached, {} of them in the clear; {} documents copied; {} ledger entries",
            request.since,
            until,
            exposure.customers.len(),
            clear,
            exposure.documents.len(),
            exposure.entries
        );
        if request.offboard {
            // Checked before anything is recorded.
            self.may_offboard(actor, &person).await?;
        }
        // INVARIANT: the opening (and the offboarding) is on the ledger
        // before the incident exists.
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::Incident,
            Target::whole(TargetId::Person(person.id)),
        );
        attempt.reason = format!("incident {id}: opened: {detail}");
        let opened = IncidentStep {
            at: now,
            kind: "opened".into(),
            detail,
        };
        if request.offboard {
            let why = format!("incident {id}");
            self.record_offboarding(actor, &person, &why).await?;
            self.record(&[attempt]).await?;
            // One transaction: the person is offboarded and the incident
            // exists, or neither.
            let done = self
                .store()
                .insert_incident_offboarding(&record, &opened, &why)
                .await
                .map_err(|e| match e {
                    confidant_store::StoreError::Conflict(_) => VaultError::Conflict(format!(
                        "{} was offboarded already: open the incident without --offboard \
                         (nothing was changed)",
                        person.email
                    )),
                    other => other.into(),
                })?
                .ok_or_else(|| VaultError::NotFound("the person disappeared".into()))?;
            self.incident_step(
                actor,
                id,
                TargetId::Person(person.id),
                "offboarded",
                format!(
                    "{} sessions ended, {} grants ended, {} invitations cancelled, {} passcodes \
                     revoked (in the same transaction as the opening)",
                    done.sessions_ended,
                    done.grants_ended,
                    done.invites_cancelled,
                    done.passcodes_revoked
                ),
            )
            .await?;
        } else {
            self.record(&[attempt]).await?;
            self.store().insert_incident(&record).await?;
            self.store()
                .add_incident_step(self.workspace(), id, &opened)
                .await?;
        }
        self.incident_view(actor, &record, Some(exposure)).await
    }

    /// Opens an incident about one item (a document or a record set, by
    /// name or id; `request.person` is the item): everyone's accesses to
    /// it in the window but the owner's and admins'. Nobody is offboarded
    /// (open one per person for that).
    pub async fn open_item_incident(
        &self,
        actor: &Actor,
        request: &IncidentRequest,
    ) -> Result<IncidentView, VaultError> {
        self.require_owner(actor, "open an incident")?;
        if request.offboard {
            return Err(VaultError::InvalidInput(
                "an incident about an item offboards nobody: open one for the person with \
                 --person and --offboard (nothing was changed)"
                    .into(),
            ));
        }
        // The request is checked before anything is looked up.
        checked_request(request, self.inner.clock.now())?;
        let name = request.person.trim();
        let set = self.find_record_set(name).await.ok();
        let doc = self
            .find_document(&crate::DocRef::Name(name.to_owned()))
            .await
            .ok()
            .or(match name.parse() {
                Ok(id) => self.find_document(&crate::DocRef::Id(id)).await.ok(),
                Err(_) => None,
            });
        let item = match (set, doc) {
            (Some(set), None) => IncidentItem::RecordSet(set.id),
            (None, Some(doc)) => IncidentItem::Document(doc.id),
            (Some(_), Some(_)) => {
                return Err(VaultError::Conflict(format!(
                    "both a record set and a document are named {name:?}: give the item's id \
                     (nothing was changed)"
                )));
            }
            (None, None) => {
                return Err(VaultError::NotFound(format!(
                    "no document or record set {name:?} in this workspace (nothing was changed)"
                )));
            }
        };
        // The item incident's person is whoever opened it.
        let (record, exposure) = self
            .store_opened_incident(
                actor,
                actor.person,
                item,
                request,
                "everyone's accesses to the item",
            )
            .await?;
        self.incident_view(actor, &record, Some(exposure)).await
    }

    /// Stores an incident about `person` through `item` (no offboarding):
    /// checks the request, computes the exposure, puts the opening on the
    /// ledger first, then stores the incident and its first step. `scope`
    /// starts the step's words ("everyone's accesses to the item").
    async fn store_opened_incident(
        &self,
        actor: &Actor,
        person: PersonId,
        item: IncidentItem,
        request: &IncidentRequest,
        scope: &str,
    ) -> Result<(IncidentRecord, Exposure), VaultError> {
        let now = self.inner.clock.now();
        let (reason, until, aware_at) = checked_request(request, now)?;
        let id = IncidentId::random(&mut OsRng);
        let record = IncidentRecord {
            id,
            workspace: self.workspace(),
            person,
            since: request.since,
            until,
            aware_at,
            opened_at: now,
            opened_by: actor.person,
            reason_ct: self.seal_incident(id, reason.as_bytes())?,
            offboarded: false,
            item: Some(item),
        };
        let exposure = self.record_exposure(actor, &record).await?;
        let detail = format!(
            "{scope}, window {} to {}; {} customers reached, {} of them in the clear; {} \
             documents copied; {} ledger entries",
            request.since,
            until,
            exposure.customers.len(),
            exposure.intelligible().count(),
            exposure.documents.len(),
            exposure.entries
        );
        // INVARIANT: the opening is on the ledger before the incident exists.
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::Incident,
            Target::whole(subject(&record)),
        );
        attempt.reason = format!("incident {id}: opened: {detail}");
        self.record(&[attempt]).await?;
        self.store().insert_incident(&record).await?;
        self.store()
            .add_incident_step(
                self.workspace(),
                id,
                &IncidentStep {
                    at: now,
                    kind: "opened".into(),
                    detail,
                },
            )
            .await?;
        Ok((record, exposure))
    }

    /// Opens an incident about one enrolled device (a lost or compromised
    /// laptop): its person's accesses made from it in the window. With
    /// `revoke`, the device is revoked in the same step (its sessions no
    /// longer count, its reports are refused). Offboarding its person is
    /// an incident about the person.
    pub async fn open_device_incident(
        &self,
        actor: &Actor,
        device: &str,
        request: &IncidentRequest,
        revoke: bool,
    ) -> Result<IncidentView, VaultError> {
        self.require_owner(actor, "open an incident")?;
        if request.offboard {
            return Err(VaultError::InvalidInput(
                "an incident about a device revokes the device (--revoke-device); to offboard \
                 its person, open one with --person and --offboard (nothing was changed)"
                    .into(),
            ));
        }
        // The request is checked before anything is looked up.
        checked_request(request, self.inner.clock.now())?;
        let unknown = || {
            VaultError::NotFound(format!(
                "no device {:?} in this workspace: `confidant devices list` shows them (nothing \
                 was changed)",
                device.trim()
            ))
        };
        let device_id: confidant_core::DeviceId = device.trim().parse().map_err(|_| unknown())?;
        let record_device = self
            .store()
            .device(device_id)
            .await?
            .filter(|d| d.workspace == self.workspace())
            .ok_or_else(unknown)?;
        let (record, exposure) = self
            .store_opened_incident(
                actor,
                record_device.person,
                IncidentItem::Device(device_id),
                request,
                &format!("accesses from device {device_id}"),
            )
            .await?;
        let id = record.id;
        if revoke && record_device.revoked_at.is_none() {
            self.revoke_device(actor, &device_id.to_string(), &format!("incident {id}"))
                .await?;
            self.incident_step(
                actor,
                id,
                subject(&record),
                "device revoked",
                format!("device {device_id} revoked"),
            )
            .await?;
        }
        self.incident_view(actor, &record, Some(exposure)).await
    }

    async fn incident_view(
        &self,
        actor: &Actor,
        record: &IncidentRecord,
        exposure: Option<Exposure>,
    ) -> Result<IncidentView, VaultError> {
        let exposure = match exposure {
            Some(e) => e,
            None => self.record_exposure(actor, record).await?,
        };
        let ws = self.workspace();
        let person_email = self
            .store()
            .person(ws, record.person)
            .await?
            .map(|p| p.email)
            .unwrap_or_else(|| record.person.to_string());
        let (_, sets) = self.set_shapes().await?;
        let customers = exposure
            .customers
            .iter()
            .map(|c| ExposedCustomer {
                exposure: c.clone(),
                set_name: sets.get(&c.set).map(|s| s.name.clone()),
            })
            .collect();
        let mut documents = Vec::new();
        for d in &exposure.documents {
            documents.push(ExposedDocument {
                exposure: d.clone(),
                name: self.document_name(d.id).await.ok(),
            });
        }
        let item = match record.item {
            None => None,
            Some(IncidentItem::Document(id)) => Some(match self.document_name(id).await {
                Ok(name) => format!("document {name}"),
                Err(_) => format!("document {id} (deleted)"),
            }),
            Some(IncidentItem::RecordSet(id)) => Some(match sets.get(&id) {
                Some(set) => format!("record set {}", set.name),
                None => format!("record set {id} (deleted)"),
            }),
            Some(IncidentItem::Device(id)) => Some(match self.store().device(id).await? {
                Some(d) => format!("device {} ({id})", d.name),
                None => format!("device {id}"),
            }),
        };
        Ok(IncidentView {
            id: record.id,
            person: record.person,
            person_email,
            item,
            subject: subject(record),
            since: record.since,
            until: record.until,
            aware_at: record.aware_at,
            regulator_due: record.aware_at + Duration::hours(72),
            opened_at: record.opened_at,
            offboarded: record.offboarded,
            reason: self.open_incident_reason(record.id, &record.reason_ct)?,
            customers,
            documents,
            exposure,
            timeline: self.store().incident_steps(ws, record.id).await?,
            notices: self.store().notices(ws, record.id).await?,
        })
    }

    pub(crate) async fn find_incident(&self, id: &str) -> Result<IncidentRecord, VaultError> {
        let not_found = || {
            VaultError::NotFound(format!(
                "no incident {id:?} in this workspace: `confidant incident list` shows them"
            ))
        };
        let id: IncidentId = id.parse().map_err(|_| not_found())?;
        self.store()
            .incident(self.workspace(), id)
            .await?
            .ok_or_else(not_found)
    }

    /// An incident with its exposure recomputed from the ledger.
    pub async fn incident(&self, actor: &Actor, id: &str) -> Result<IncidentView, VaultError> {
        self.require_owner(actor, "see incidents")?;
        let record = self.find_incident(id).await?;
        self.incident_view(actor, &record, None).await
    }

    /// Every incident, newest first (without exposures: `incident` has them).
    pub async fn incidents(&self, actor: &Actor) -> Result<Vec<IncidentRecord>, VaultError> {
        self.require_owner(actor, "see incidents")?;
        Ok(self.store().incidents(self.workspace()).await?)
    }

    /// The notice template: the owner's, or the default.
    pub async fn notice_template(&self, actor: &Actor) -> Result<(String, bool), VaultError> {
        self.require_owner(actor, "read the notice template")?;
        Ok(
            match self.store().notice_template(self.workspace()).await? {
                Some(t) => (t, false),
                None => (DEFAULT_NOTICE_TEMPLATE.to_owned(), true),
            },
        )
    }

    /// Replaces the notice template after checking it.
    pub async fn set_notice_template(&self, actor: &Actor, text: &str) -> Result<(), VaultError> {
        self.require_owner(actor, "change the notice template")?;
        validate_template(text)
            .map_err(|e| VaultError::InvalidInput(format!("{e} (the template was not changed)")))?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::Incident,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "notice template changed ({} characters)",
            text.chars().count()
        );
        self.record(&[attempt]).await?;
        self.store()
            .set_notice_template(self.workspace(), text, self.inner.clock.now())
            .await?;
        Ok(())
    }

    /// Decrypts the rows of the customers to notify and renders their
    /// notices; the rows leave only after their ledger entry (`action`,
    /// naming only the columns used).
    pub(crate) async fn drafts(
        &self,
        actor: &Actor,
        record: &IncidentRecord,
        only: Option<(RecordSetId, RowId)>,
        exposure: Option<&Exposure>,
        purpose: Purpose<'_>,
    ) -> Result<Vec<NoticeDraft>, VaultError> {
        let Purpose {
            action,
            why,
            address: with_address,
        } = purpose;
        let computed;
        let exposure = match exposure {
            Some(e) => e,
            None => {
                computed = self.record_exposure(actor, record).await?;
                &computed
            }
        };
        let (template, _) = self.notice_template(actor).await?;
        let what_happened = self.open_incident_reason(record.id, &record.reason_ct)?;
        let (_, sets) = self.set_shapes().await?;
        let contact = self.owner().await?.email;
        let reference = record.id.to_string()[..8].to_uppercase();
        let mut by_set: BTreeMap<RecordSetId, Vec<&CustomerExposure>> = BTreeMap::new();
        let chosen: Vec<&CustomerExposure> = match only {
            // INVARIANT: compute_exposure sorts customers by (set, row).
            Some(key) => exposure
                .customers
                .binary_search_by_key(&key, |c| (c.set, c.row))
                .ok()
                .and_then(|i| exposure.customers.get(i))
                .filter(|c| !c.unintelligible())
                .into_iter()
                .collect(),
            None => exposure.intelligible().collect(),
        };
        for c in chosen {
            by_set.entry(c.set).or_default().push(c);
        }
        let mut out = Vec::new();
        for (set_id, customers) in by_set {
            let Some(set) = sets.get(&set_id) else {
                continue;
            };
            let contact_col = set
                .contact_column
                .as_ref()
                .and_then(|n| set.columns.iter().position(|c| &c.name == n));
            let name_col = set
                .columns
                .iter()
                .position(|c| c.category == DataCategory::Name);
            let address_col = set
                .columns
                .iter()
                .position(|c| c.category == DataCategory::PostalAddress)
                .filter(|_| with_address);
            let cells = self.cell_keys(set).await?;
            let mut rows = Vec::new();
            for c in &customers {
                if let Some(stored) = self.store().row(self.workspace(), set_id, c.row).await? {
                    rows.push(stored);
                }
            }
            let rows = Self::decrypt_rows(set, &cells, &rows)?;
            let used: Vec<usize> = contact_col
                .into_iter()
                .chain(name_col)
                .chain(address_col)
                .collect();
            let mut attempt = Attempt::allowed(
                actor,
                action,
                Target {
                    id: TargetId::RecordSet(set_id),
                    rows: rows.iter().map(|r| r.id).collect(),
                    columns: used.iter().map(|i| set.columns[*i].name.clone()).collect(),
                },
            )
            .categories(used.iter().map(|i| set.columns[*i].category));
            attempt.reason = format!("incident {}: {why} ({} customers)", record.id, rows.len());
            // INVARIANT: on the ledger before any address or name leaves.
            self.record(&[attempt]).await?;
            for c in customers {
                let Some(row) = rows.iter().find(|r| r.id == c.row) else {
                    continue;
                };
                let to = contact_col
                    .and_then(|i| row.values.get(i))
                    .map(|v| v.trim().to_owned())
                    .filter(|v| v.contains('@') && !v.contains(['\r', '\n', ' ', ',']));
                let name = name_col
                    .and_then(|i| row.values.get(i))
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "customer".to_owned());
                let address = address_col
                    .and_then(|i| row.values.get(i))
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                let how: Vec<&str> = c.channels.keys().map(|ch| ch.words()).collect();
                let values = NoticeValues {
                    business: self.workspace_name().to_owned(),
                    name: name.clone(),
                    when: if day(c.first) == day(c.last) {
                        format!("On {}", day(c.first))
                    } else {
                        format!("Between {} and {}", day(c.first), day(c.last))
                    },
                    categories: category_list(&c.clear),
                    how: how.join(" and "),
                    what_happened: what_happened.clone(),
                    contact: contact.clone(),
                    reference: reference.clone(),
                };
                let notice = render_notice(&template, &values)
                    .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
                out.push(NoticeDraft {
                    set: c.set,
                    row: c.row,
                    to,
                    name,
                    address,
                    categories: c.clear.clone(),
                    notice,
                });
            }
        }
        Ok(out)
    }

    /// Every affected customer's notice, rendered, without sending.
    pub async fn preview_notices(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<NoticeDraft>, VaultError> {
        self.require_owner(actor, "preview notices")?;
        let record = self.find_incident(id).await?;
        self.drafts(
            actor,
            &record,
            None,
            None,
            Purpose {
                action: KnownAction::View,
                why: "notices previewed",
                address: false,
            },
        )
        .await
    }

    /// Queues one notice per affected customer with an e-mail address
    /// (once: queueing again adds only customers not queued before).
    /// Returns (added, customers without an address).
    pub async fn queue_notices(&self, actor: &Actor, id: &str) -> Result<(u64, u64), VaultError> {
        self.require_owner(actor, "send notices")?;
        let record = self.find_incident(id).await?;
        let drafts = self
            .drafts(
                actor,
                &record,
                None,
                None,
                Purpose {
                    action: KnownAction::View,
                    why: "notices queued",
                    address: false,
                },
            )
            .await?;
        let now = self.inner.clock.now();
        let mut notices = Vec::new();
        let mut without = 0;
        for d in &drafts {
            if d.to.is_none() {
                without += 1;
                continue;
            }
            notices.push(NoticeRecord {
                id: NoticeId::random(&mut OsRng),
                workspace: self.workspace(),
                incident: record.id,
                set: d.set,
                row: d.row,
                status: NoticeStatus::Queued,
                attempts: 0,
                next_attempt_at: now,
                claim_token: None,
                claimed_at: None,
                handed_at: None,
                sent_at: None,
                last_error: None,
                created_at: now,
            });
        }
        let added = self.store().insert_notices(&notices).await?;
        self.incident_step(
            actor,
            record.id,
            subject(&record),
            "notices queued",
            format!("{added} added, {without} customers without an e-mail address"),
        )
        .await?;
        Ok((added, without))
    }

    /// Sends the incident's due notices through SMTP, one claim at a time;
    /// see the module documentation of `confidant_store::incidents` for the
    /// states. A notice is marked sent only after the SMTP server accepted
    /// it; its Message-ID is derived from its id, so a copy sent twice
    /// (only ever on the owner's `resend_uncertain`) is recognisable as the
    /// same message.
    pub async fn send_notices(
        &self,
        actor: &Actor,
        id: &str,
        smtp: &SmtpSettings,
        options: &SendOptions,
    ) -> Result<SendReport, VaultError> {
        self.require_owner(actor, "send notices")?;
        let record = self.find_incident(id).await?;
        let ws = self.workspace();
        let mut report = SendReport::default();
        let now = self.inner.clock.now();
        let (requeued, uncertain) = self
            .store()
            .recover_notices(ws, record.id, now - options.lease)
            .await?;
        report.requeued = requeued;
        report.uncertain = uncertain;
        if options.resend_uncertain {
            self.store().requeue_uncertain(ws, record.id, now).await?;
        }
        let transport = smtp.transport()?;
        // Computed once for the run: every notice renders from it.
        let exposure = self.record_exposure(actor, &record).await?;
        for notice in self.store().notices(ws, record.id).await? {
            if !matches!(notice.status, NoticeStatus::Queued | NoticeStatus::Failed) {
                report.skipped += 1;
                continue;
            }
            let mut token = [0u8; 16];
            OsRng.fill_bytes(&mut token);
            let token = hex::encode(token);
            let now = self.inner.clock.now();
            let due_by = if options.retry_now {
                now + Duration::days(3650)
            } else {
                now
            };
            if !self
                .store()
                .claim_notice(ws, notice.id, &token, now, due_by)
                .await?
            {
                report.skipped += 1;
                continue;
            }
            if options.stop == Some(StopPoint::AfterClaim) {
                return Ok(report);
            }
            let drafts = self
                .drafts(
                    actor,
                    &record,
                    Some((notice.set, notice.row)),
                    Some(&exposure),
                    Purpose {
                        action: KnownAction::Notify,
                        why: &format!("notice {} handed to the mail server", notice.id),
                        address: false,
                    },
                )
                .await?;
            let Some((draft, to)) = drafts
                .into_iter()
                .next()
                .and_then(|d| d.to.clone().map(|to| (d, to)))
            else {
                let why = "the customer's row or e-mail address is gone".to_owned();
                self.store()
                    .notice_failed(ws, notice.id, &token, &why, now + Duration::days(365))
                    .await?;
                report.failed.push((notice.id, why));
                continue;
            };
            self.store()
                .notice_handed(ws, notice.id, &token, self.inner.clock.now())
                .await?;
            match smtp::send(&transport, smtp, notice.id, &to, &draft.notice).await {
                Ok(()) => {
                    if options.stop == Some(StopPoint::AfterAccept) {
                        return Ok(report);
                    }
                    self.store()
                        .notice_sent(ws, notice.id, &token, self.inner.clock.now())
                        .await?;
                    report.sent += 1;
                }
                Err(failure) => {
                    let wait = if failure.permanent {
                        Duration::days(365)
                    } else {
                        retry_backoff(notice.attempts + 1)
                    };
                    self.store()
                        .notice_failed(
                            ws,
                            notice.id,
                            &token,
                            &failure.message,
                            self.inner.clock.now() + wait,
                        )
                        .await?;
                    report.failed.push((notice.id, failure.message));
                }
            }
        }
        report.uncertain = self
            .store()
            .notices(ws, record.id)
            .await?
            .iter()
            .filter(|n| n.status == NoticeStatus::Uncertain)
            .count() as u64;
        self.incident_step(
            actor,
            record.id,
            subject(&record),
            "notices sent",
            format!(
                "{} sent, {} failed, {} skipped, {} requeued, {} uncertain",
                report.sent,
                report.failed.len(),
                report.skipped,
                report.requeued,
                report.uncertain
            ),
        )
        .await?;
        Ok(report)
    }

    /// A draft notification to the supervisory authority (GDPR Art.
    /// 33(3)) with the 72-hour clock, from the incident as it stands.
    pub async fn regulator_draft(&self, actor: &Actor, id: &str) -> Result<String, VaultError> {
        let view = self.incident(actor, id).await?;
        let e = &view.exposure;
        let clear = e.intelligible().count() as u64;
        let facts = confidant_core::incident::RegulatorFacts {
            business: self.workspace_name().to_owned(),
            contact: self.owner().await?.email,
            reference: view.id.to_string()[..8].to_uppercase(),
            what_happened: view.reason.clone(),
            since: view.since,
            until: view.until,
            aware_at: view.aware_at,
            now: self.inner.clock.now(),
            offboarded: view.offboarded,
            exposure_customers: e.customers.len() as u64,
            clear_customers: clear,
            masked_customers: e.customers.len() as u64 - clear,
            records: e.customers.len() as u64,
            documents: e.documents.len() as u64,
            categories: e.category_counts(),
            channels: e.channel_counts(),
            notices_queued: view.notices.len() as u64,
            notices_sent: view
                .notices
                .iter()
                .filter(|n| n.status == NoticeStatus::Sent)
                .count() as u64,
        };
        Ok(confidant_core::incident::regulator_draft(&facts))
    }

    /// An incident's notices and their states.
    pub async fn notices(&self, actor: &Actor, id: &str) -> Result<Vec<NoticeRecord>, VaultError> {
        self.require_owner(actor, "see notices")?;
        let record = self.find_incident(id).await?;
        Ok(self.store().notices(self.workspace(), record.id).await?)
    }
}

#[cfg(test)]
mod tests;
