//! Paper: breach notices as letters (one PDF, a page set per customer)
//! for customers without an e-mail address, bounced notices, or everyone
//! on the owner's request; and the exposure report as a PDF with a chart
//! drawn as vector graphics and the 72-hour clock.

use std::collections::{BTreeMap, BTreeSet};

use confidant_core::incident::{category_words, regulator_clock};
use confidant_core::{NoticeId, RecordSetId, RowId};
use confidant_ledger::{KnownAction, Target, TargetId};
use rand_core::OsRng;

use super::{IncidentView, NoticeDraft, NoticeRecord, NoticeStatus, Purpose, day, minute};
use crate::audit::Attempt;
use crate::pdf::{Layout, Letter, letters_pdf};
use crate::{Actor, Vault, VaultError};

/// Whose letters to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LetterScope {
    /// Customers without an e-mail address, and those whose notice
    /// bounced.
    #[default]
    Needed,
    /// Every affected customer (a notice already e-mailed keeps its
    /// status; the letter is an extra copy).
    All,
}

/// What `notice_letters` wrote.
#[derive(Clone, Debug)]
pub struct LetterExport {
    pub pdf: Vec<u8>,
    pub letters: u64,
    /// Of them, customers without an e-mail address.
    pub without_address: u64,
    /// Of them, customers whose e-mailed notice bounced.
    pub bounced: u64,
    /// Of them, letters without a postal address (the owner must find it).
    pub without_postal_address: u64,
    /// Notices whose status became `letter`.
    pub marked: u64,
}

fn letter(business: &str, today: &str, reference: &str, d: &NoticeDraft) -> Letter {
    let mut head = vec![business.to_owned(), today.to_owned(), String::new()];
    head.push(d.name.clone());
    match &d.address {
        Some(address) => head.extend(
            address
                .split(['\n', ';'])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        ),
        None => head.push("(no postal address on file: add it by hand)".into()),
    }
    head.push(String::new());
    head.push(format!("Subject: {}", d.notice.subject));
    Letter {
        head,
        text: d.notice.body.clone(),
        footer: format!("{} - reference {reference}", d.notice.subject),
    }
}

impl Vault {
    /// The incident's notices as letters in one PDF, rendered from the
    /// notice template like the e-mails. The rows' names and addresses
    /// are on the ledger (an `export` naming the rows and columns) before
    /// the PDF is returned; the notices become `letter`.
    pub async fn notice_letters(
        &self,
        actor: &Actor,
        id: &str,
        scope: LetterScope,
    ) -> Result<LetterExport, VaultError> {
        self.require_owner(actor, "export notices as letters")?;
        let record = self.find_incident(id).await?;
        let ws = self.workspace();
        let notices = self.store().notices(ws, record.id).await?;
        let bounced: BTreeSet<(RecordSetId, RowId)> = notices
            .iter()
            .filter(|n| n.status == NoticeStatus::Bounced)
            .map(|n| (n.set, n.row))
            .collect();
        let drafts = self
            .drafts(
                actor,
                &record,
                None,
                None,
                Purpose {
                    action: KnownAction::View,
                    why: "letters prepared",
                    address: true,
                },
            )
            .await?;
        let chosen: Vec<&NoticeDraft> = drafts
            .iter()
            .filter(|d| {
                scope == LetterScope::All || d.to.is_none() || bounced.contains(&(d.set, d.row))
            })
            .collect();
        if chosen.is_empty() {
            return Err(VaultError::InvalidInput(
                "no letter is due: every customer to notify has an e-mail address and no \
                 notice bounced (ask for all letters to print them anyway; nothing was changed)"
                    .into(),
            ));
        }
        let reference = record.id.to_string()[..8].to_uppercase();
        let now = self.inner.clock.now();
        let today = day(now);
        let letters: Vec<Letter> = chosen
            .iter()
            .map(|d| letter(self.workspace_name(), &today, &reference, d))
            .collect();
        let pdf = letters_pdf(&format!("Notices - incident {reference}"), &letters)?;
        let mut by_set: BTreeMap<RecordSetId, Vec<RowId>> = BTreeMap::new();
        for d in &chosen {
            by_set.entry(d.set).or_default().push(d.row);
        }
        // INVARIANT: on the ledger before the letters leave.
        let attempts: Vec<Attempt> = by_set
            .into_iter()
            .map(|(set, rows)| {
                let mut attempt = Attempt::allowed(
                    actor,
                    KnownAction::Export,
                    Target {
                        id: TargetId::RecordSet(set),
                        rows: rows.clone(),
                        columns: Vec::new(),
                    },
                );
                attempt.reason = format!(
                    "incident {}: {} notices exported as letters (PDF)",
                    record.id,
                    rows.len()
                );
                attempt
            })
            .collect();
        self.record(&attempts).await?;
        let marks: Vec<NoticeRecord> = chosen
            .iter()
            .map(|d| NoticeRecord {
                id: NoticeId::random(&mut OsRng),
                workspace: ws,
                incident: record.id,
                set: d.set,
                row: d.row,
                status: NoticeStatus::Letter,
                attempts: 0,
                next_attempt_at: now,
                claim_token: None,
                claimed_at: None,
                handed_at: None,
                sent_at: Some(now),
                last_error: None,
                created_at: now,
            })
            .collect();
        let marked = self.store().mark_letters(&marks).await?;
        let export = LetterExport {
            pdf,
            letters: chosen.len() as u64,
            without_address: chosen.iter().filter(|d| d.to.is_none()).count() as u64,
            bounced: chosen
                .iter()
                .filter(|d| bounced.contains(&(d.set, d.row)))
                .count() as u64,
            without_postal_address: chosen.iter().filter(|d| d.address.is_none()).count() as u64,
            marked,
        };
        self.incident_step(
            actor,
            record.id,
            super::subject(&record),
            "letters exported",
            format!(
                "{} letters ({} without an e-mail address, {} bounced, {} without a postal \
                 address); {} notices marked as letters",
                export.letters,
                export.without_address,
                export.bounced,
                export.without_postal_address,
                export.marked
            ),
        )
        .await?;
        Ok(export)
    }

    /// The exposure report of an incident as a PDF: the facts, the
    /// 72-hour clock, counts per category and channel, accesses per day as
    /// a bar chart (vector graphics), the customers and documents reached
    /// (by record set and row id, never by name), the notices and the
    /// timeline. Its export is a step of the incident (ledger first).
    pub async fn incident_report_pdf(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<Vec<u8>, VaultError> {
        let view = self.incident(actor, id).await?;
        self.incident_step(
            actor,
            view.id,
            view.subject,
            "report exported",
            format!(
                "PDF with {} customers and {} documents",
                view.customers.len(),
                view.documents.len()
            ),
        )
        .await?;
        report_pdf(&view, self.inner.clock.now())
    }
}

fn report_pdf(v: &IncidentView, now: time::OffsetDateTime) -> Result<Vec<u8>, VaultError> {
    let e = &v.exposure;
    let reference = v.id.to_string()[..8].to_uppercase();
    let mut page = Layout::new();
    page.text("Exposure report", 18, true);
    page.text(
        &format!("Incident {} (reference {reference})", v.id),
        10,
        false,
    );
    page.gap(6);
    let about = match &v.item {
        Some(item) => (
            "Item",
            format!("{item} (everyone's accesses but the owner's and admins')"),
        ),
        None => ("Person", v.person_email.clone()),
    };
    for (label, value) in [
        about,
        (
            "Window",
            format!("{} to {}", minute(v.since), minute(v.until)),
        ),
        ("Opened", minute(v.opened_at)),
        (
            "Offboarded in the same step",
            if v.offboarded { "yes" } else { "no" }.to_owned(),
        ),
        ("What happened", v.reason.clone()),
    ] {
        page.text(&format!("{label}: {value}"), 10, false);
    }

    page.gap(8);
    page.text("The 72-hour clock (GDPR Art. 33(1))", 12, true);
    let (due, left) = regulator_clock(v.aware_at, now);
    let state = if left.is_negative() {
        format!("LATE by {} hours", (-left).whole_hours())
    } else {
        format!("{} hours left", left.whole_hours())
    };
    page.text(
        &format!(
            "Aware since {}; the supervisory authority must be told by {}: {state}.",
            minute(v.aware_at),
            minute(due)
        ),
        10,
        false,
    );
    // The clock as a bar: the share of the 72 hours used.
    let used = (now - v.aware_at).whole_minutes().clamp(0, 72 * 60);
    let y = page.block(14);
    page.rect(Layout::LEFT, y, Layout::WIDTH, 10, 0.9);
    page.rect(Layout::LEFT, y, Layout::WIDTH * used / (72 * 60), 10, 0.3);

    page.gap(8);
    page.text("Exposure", 12, true);
    let clear = e.intelligible().count();
    page.text(
        &format!(
            "{} customers reached: {clear} with something in the clear (to be notified), {} \
             only masked (unintelligible to the person); {} documents copied; from {} ledger \
             entries.",
            e.customers.len(),
            e.customers.len() - clear,
            e.documents.len(),
            e.entries
        ),
        10,
        false,
    );
    page.gap(4);
    page.text("Customers per category seen in the clear", 10, true);
    let categories = e.category_counts();
    if categories.is_empty() {
        page.text("none", 10, false);
    }
    for (c, n) in &categories {
        page.text(&format!("{}: {n}", category_words(*c)), 10, false);
    }
    page.gap(4);
    page.text("How (customers per channel)", 10, true);
    for (c, n) in e.channel_counts() {
        page.text(&format!("{}: {n}", c.words()), 10, false);
    }

    page.gap(8);
    page.text("Accesses per day", 12, true);
    chart(&mut page, &e.by_day);

    if !v.customers.is_empty() {
        page.gap(8);
        page.text("Customers", 12, true);
        for c in &v.customers {
            let x = &c.exposure;
            let words = |set: &BTreeSet<_>| {
                if set.is_empty() {
                    "-".to_owned()
                } else {
                    set.iter()
                        .map(|k| category_words(*k))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let how: Vec<String> = x
                .channels
                .iter()
                .map(|(ch, n)| format!("{} {n}", ch.words()))
                .collect();
            page.text(
                &format!(
                    "{} row {}: in the clear: {}; masked only: {}; {}; {} to {}",
                    c.set_name.clone().unwrap_or_else(|| x.set.to_string()),
                    x.row,
                    words(&x.clear),
                    words(&x.masked_only),
                    how.join(", "),
                    minute(x.first),
                    minute(x.last)
                ),
                8,
                false,
            );
        }
    }
    if !v.documents.is_empty() {
        page.gap(8);
        page.text("Documents copied", 12, true);
        for d in &v.documents {
            page.text(
                &format!(
                    "{}: {} times, {} to {}",
                    d.name.clone().unwrap_or_else(|| d.exposure.id.to_string()),
                    d.exposure.channels.values().sum::<u32>(),
                    minute(d.exposure.first),
                    minute(d.exposure.last)
                ),
                8,
                false,
            );
        }
    }
    page.gap(8);
    page.text("Notices", 12, true);
    let mut states: BTreeMap<&str, u64> = BTreeMap::new();
    for n in &v.notices {
        *states.entry(n.status.as_str()).or_default() += 1;
    }
    if states.is_empty() {
        page.text("none queued yet", 10, false);
    }
    for (state, n) in states {
        page.text(&format!("{state}: {n}"), 10, false);
    }
    page.gap(8);
    page.text("Timeline", 12, true);
    for s in &v.timeline {
        page.text(
            &format!("{}: {}: {}", minute(s.at), s.kind, s.detail),
            8,
            false,
        );
    }
    page.finish(&format!("Exposure report - incident {reference}"))
}

/// Bars of accesses per day, scaled to the busiest day, with the axis,
/// the busiest day's count and (when they fit) the days under the bars.
fn chart(page: &mut Layout, by_day: &BTreeMap<time::Date, u32>) {
    if by_day.is_empty() {
        page.text("no access in the window", 10, false);
        return;
    }
    const HEIGHT: i64 = 120;
    let max = i64::from(by_day.values().copied().max().unwrap_or(1).max(1));
    let days = i64::try_from(by_day.len()).unwrap_or(i64::MAX).max(1);
    let slot = (Layout::WIDTH / days).clamp(1, 60);
    let bottom = page.block(HEIGHT + 30) + 20;
    let left = Layout::LEFT;
    page.line((left, bottom), (left + Layout::WIDTH, bottom));
    page.line((left, bottom), (left, bottom + HEIGHT));
    page.text_at(left + 2, bottom + HEIGHT - 8, &format!("{max}"), 7, false);
    let label_every = usize::try_from((40 / slot).max(1)).unwrap_or(1);
    for (i, (date, n)) in by_day.iter().enumerate() {
        let x = left + 1 + i64::try_from(i).unwrap_or(0) * slot;
        let h = (i64::from(*n) * HEIGHT / max).max(1);
        page.rect(x + 1, bottom, (slot - 2).max(1), h, 0.35);
        if i % label_every == 0 {
            let label = format!("{:02}-{:02}", u8::from(date.month()), date.day());
            page.text_at(x + 1, bottom - 10, &label, 7, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::content::Content;

    /// The chart is drawn, not printed: one filled rectangle per day (the
    /// two of the clock bar aside), heights in proportion.
    #[test]
    fn the_chart_is_vector_bars_in_proportion() {
        let mut page = Layout::new();
        let d = |n| time::Date::from_calendar_date(2026, time::Month::November, n).unwrap();
        let by_day = BTreeMap::from([(d(1), 10), (d(2), 5), (d(4), 1)]);
        chart(&mut page, &by_day);
        let pdf = page.finish("t").unwrap();
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        let (_, page_id) = doc.get_pages().into_iter().next().unwrap();
        let content = Content::decode(&doc.get_page_content(page_id)).unwrap();
        let heights: Vec<f32> = content
            .operations
            .iter()
            .filter(|op| op.operator == "re")
            .map(|op| op.operands[3].as_float().unwrap())
            .collect();
        assert_eq!(heights, [120.0, 60.0, 12.0]);
    }
}
