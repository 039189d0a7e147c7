//! The owner's daily digest: what each person opened on one business day,
//! with counts per data category, and what they were refused. Built from
//! the ledger entries of that day alone (found by time with a binary
//! search over the ledger, so a day costs its own entries, not the whole
//! ledger).

use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;

use confidant_core::PersonId;
use confidant_ledger::{Action, Decision, Entry, KnownAction, TargetId};

use crate::{Actor, Vault, VaultError};

/// Actions that hand protected data to the person.
pub(crate) fn opens_data(action: &Action) -> bool {
    matches!(
        action,
        Action::Known(
            KnownAction::View | KnownAction::Reveal | KnownAction::Download | KnownAction::Export
        )
    )
}

/// How many rows an entry touched: its row ids, or one for a document or
/// a whole item.
pub(crate) fn rows_of(entry: &Entry) -> u64 {
    (entry.target.rows.len() as u64).max(1)
}

/// One person's business day in the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PersonDay {
    /// The person (`None`: refused attempts without a known actor, such
    /// as sign-ins to unknown accounts).
    pub person: Option<PersonId>,
    /// Their e-mail address, filled in by [`Vault::access_digest`].
    pub email: String,
    /// Allowed views, reveals, downloads and exports.
    pub opened: u64,
    /// Rows those returned (a document counts as one).
    pub rows: u64,
    /// Distinct documents and record sets opened.
    pub items: u64,
    /// Per data category: rows opened that carry it.
    pub categories: BTreeMap<String, u64>,
    /// Every attempt by action name, allowed or not.
    pub actions: BTreeMap<String, u64>,
    /// Refused attempts.
    pub denied: u64,
    /// Refused attempts by action name.
    pub denied_actions: BTreeMap<String, u64>,
}

/// The digest of one business day.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessDigest {
    /// The business day's name (its local date, `YYYY-MM-DD`).
    pub day: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub time_zone: String,
    /// The day before and after, for navigation.
    pub previous: String,
    pub next: String,
    /// Whether the day has ended.
    pub complete: bool,
    /// Everyone who appears in the day's entries (the owner too), busiest
    /// first.
    pub people: Vec<PersonDay>,
}

impl AccessDigest {
    /// The digest as plain text (the e-mail to the owner).
    pub fn to_text(&self, workspace: &str) -> String {
        let mut text = format!(
            "Access digest of {workspace} for the business day {} ({} to {}, {}).\n\n",
            self.day,
            self.start.date(),
            self.end.date(),
            self.time_zone
        );
        if self.people.is_empty() {
            text.push_str("Nobody used the workspace that day.\n");
        }
        for p in &self.people {
            text.push_str(&format!(
                "{}\n  opened {} times: {} rows in {} items\n",
                p.email, p.opened, p.rows, p.items
            ));
            if !p.categories.is_empty() {
                text.push_str(&format!("  rows by category: {}\n", join(&p.categories)));
            }
            if p.denied > 0 {
                text.push_str(&format!(
                    "  refused {} times: {}\n",
                    p.denied,
                    join(&p.denied_actions)
                ));
            }
            text.push('\n');
        }
        text.push_str(
            "Every attempt is in the access record: sign in and open Access record > Digest, \
             or run `confidant audit digest --day DAY`.\n",
        );
        text
    }
}

fn join(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{} {v}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tallies entries per person, busiest first.
pub fn tally<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Vec<PersonDay> {
    let mut people: BTreeMap<Option<PersonId>, (PersonDay, HashSet<TargetId>)> = BTreeMap::new();
    for e in entries {
        // Entries without an actor are confidant's own work (agreements
        // it published) unless they were refused (sign-ins to unknown
        // accounts). The owner's own accesses stay in: a stolen owner
        // account shows up here too.
        if e.actor.is_none() && e.decision == Decision::Allow {
            continue;
        }
        let (day, items) = people.entry(e.actor).or_insert_with(|| {
            (
                PersonDay {
                    person: e.actor,
                    ..PersonDay::default()
                },
                HashSet::new(),
            )
        });
        *day.actions.entry(e.action.to_string()).or_default() += 1;
        match e.decision {
            Decision::Deny => {
                day.denied += 1;
                *day.denied_actions.entry(e.action.to_string()).or_default() += 1;
            }
            Decision::Allow if opens_data(&e.action) => {
                day.opened += 1;
                let rows = rows_of(e);
                day.rows += rows;
                items.insert(e.target.id);
                for c in &e.categories {
                    *day.categories.entry(c.as_str().to_owned()).or_default() += rows;
                }
            }
            Decision::Allow => {}
        }
    }
    let mut out: Vec<PersonDay> = people
        .into_values()
        .map(|(mut day, items)| {
            day.items = items.len() as u64;
            day
        })
        .collect();
    out.sort_by(|a, b| b.rows.cmp(&a.rows).then(b.denied.cmp(&a.denied)));
    out
}

impl Vault {
    /// The e-mail address of every person of the workspace, by id.
    pub(crate) async fn emails_by_person(
        &self,
    ) -> Result<std::collections::HashMap<PersonId, String>, VaultError> {
        Ok(self
            .store()
            .people(self.workspace())
            .await?
            .into_iter()
            .map(|p| (p.id, p.email))
            .collect())
    }

    /// Ledger entries with `start <= time < end`, with their indexes.
    /// Entries are appended in time order (to the millisecond, give or take
    /// the few milliseconds two concurrent requests may cross in), so the
    /// first one is found by a binary search a minute early, and the rest
    /// read in pages until one is past `end` by a minute.
    pub(crate) async fn ledger_between(
        &self,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<Vec<(u64, Entry)>, VaultError> {
        const SLACK: time::Duration = time::Duration::minutes(1);
        const PAGE: u64 = 2_000;
        let ws = self.workspace();
        let size = self.store().ledger_head(ws).await?.size;
        let time_at = |index: u64| async move {
            let leaf = self
                .store()
                .ledger_leaves(ws, index, 1)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| VaultError::Integrity(format!("ledger entry {index} is missing")))?;
            entry_of(index, &leaf.leaf).map(|e| e.time.to_datetime())
        };
        // The first index whose time is at or after start - SLACK.
        let (mut lo, mut hi) = (0u64, size);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if time_at(mid).await? < start - SLACK {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let mut out = Vec::new();
        let mut index = lo;
        'pages: while index < size {
            let page = self.store().ledger_leaves(ws, index, PAGE).await?;
            if page.is_empty() {
                break;
            }
            for leaf in page {
                let entry = entry_of(index, &leaf.leaf)?;
                let at = entry.time.to_datetime();
                if at >= end + SLACK {
                    break 'pages;
                }
                if at >= start && at < end {
                    out.push((index, entry));
                }
                index += 1;
            }
        }
        Ok(out)
    }

    /// The digest of the business day named `day` (`YYYY-MM-DD`), or of
    /// the current business day (owner, admins and auditors).
    pub async fn access_digest(
        &self,
        actor: &Actor,
        day: Option<&str>,
    ) -> Result<AccessDigest, VaultError> {
        self.require_reader(actor, "read the access digest")?;
        let business = self.business_day().await?;
        let now = self.inner.clock.now();
        let internal = |e: confidant_core::WorkdayError| VaultError::Internal(e.to_string());
        let name = match day.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => d.to_owned(),
            None => business.day_name(now).map_err(internal)?,
        };
        let (start, end) = business.named_day(&name).map_err(|e| match e {
            confidant_core::WorkdayError::BadDate(_)
            | confidant_core::WorkdayError::OutOfRange(_) => {
                VaultError::InvalidInput(e.to_string())
            }
            other => internal(other),
        })?;
        let previous = business
            .day_name(start - time::Duration::minutes(1))
            .map_err(internal)?;
        let next = business.day_name(end).map_err(internal)?;
        let entries = self.ledger_between(start, end).await?;
        let mut people = tally(entries.iter().map(|(_, e)| e));
        let emails = self.emails_by_person().await?;
        for p in &mut people {
            p.email = match p.person {
                Some(id) => emails.get(&id).cloned().unwrap_or_else(|| id.to_string()),
                None => "(unknown account)".to_owned(),
            };
        }
        Ok(AccessDigest {
            day: name,
            start,
            end,
            time_zone: business.time_zone().to_owned(),
            previous,
            next,
            complete: now >= end,
            people,
        })
    }
}

fn entry_of(index: u64, leaf: &[u8]) -> Result<Entry, VaultError> {
    Entry::from_leaf(leaf)
        .map_err(|e| VaultError::Integrity(format!("ledger entry {index} is damaged: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use confidant_core::{RowId, WorkspaceId};
    use confidant_ledger::{Name, Target, Timestamp};
    use rand_core::OsRng;

    fn entry(actor: PersonId, action: KnownAction, allow: bool, rows: usize) -> Entry {
        let ws = WorkspaceId::random(&mut OsRng);
        let mut target = Target::whole(TargetId::RecordSet(confidant_core::RecordSetId::random(
            &mut OsRng,
        )));
        target.rows = (0..rows).map(|_| RowId::random(&mut OsRng)).collect();
        Entry {
            time: Timestamp::from_unix_millis(1_000).unwrap(),
            workspace: ws,
            actor: Some(actor),
            device: None,
            client: None,
            action: action.into(),
            target,
            decision: if allow {
                Decision::Allow
            } else {
                Decision::Deny
            },
            reason: "test".into(),
            categories: [Name::new("email").unwrap(), Name::new("phone").unwrap()]
                .into_iter()
                .collect(),
            delivery: None,
            keyed: BTreeMap::new(),
        }
    }

    #[test]
    fn the_digest_counts_rows_per_category_and_refusals_per_person() {
        let owner = PersonId::random(&mut OsRng);
        let alex = PersonId::random(&mut OsRng);
        let sam = PersonId::random(&mut OsRng);
        let entries = [
            entry(alex, KnownAction::View, true, 20),
            entry(alex, KnownAction::Export, true, 5),
            entry(alex, KnownAction::View, false, 0),
            entry(alex, KnownAction::SignIn, true, 0),
            entry(sam, KnownAction::PasscodeUse, false, 0),
            entry(owner, KnownAction::Export, true, 500),
        ];
        let days = tally(&entries);
        assert_eq!(days.len(), 3);
        assert_eq!(
            days[0].person,
            Some(owner),
            "the busiest first, the owner too"
        );
        assert_eq!(days[0].rows, 500);
        let a = &days[1];
        assert_eq!(a.person, Some(alex));
        assert_eq!((a.opened, a.rows, a.items, a.denied), (2, 25, 2, 1));
        assert_eq!(a.categories["email"], 25);
        assert_eq!(a.categories["phone"], 25);
        assert_eq!(a.actions["view"], 2);
        assert_eq!(a.actions["sign_in"], 1);
        assert_eq!(a.denied_actions["view"], 1);
        let s = &days[2];
        assert_eq!((s.opened, s.rows, s.denied), (0, 0, 1));
        assert!(s.categories.is_empty(), "refused attempts open nothing");
    }
}
