//! The exposure of one person over a large ledger: 1,000,000 entries by
//! ten assistants over 100,000 customers (views of 10 rows, reveals of
//! one, exports of 100, downloads). Measures, in one process, the pure
//! computation over parsed entries and the path `Vault::exposure` takes
//! over stored leaves (the person filter on raw bytes, parsing only their
//! entries, then the computation); reading the leaves from the database is
//! not included. Prints one JSON line. Run with
//! `cargo bench -p confidant-vault --bench exposure -- [ENTRIES] [CUSTOMERS]`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use confidant_core::{DataCategory, ItemId, PersonId, RecordSetId, RowId, WorkspaceId};
use confidant_ledger::{Action, Decision, Entry, KnownAction, Name, Target, TargetId, Timestamp};
use confidant_vault::incidents::{PersonFilter, SetShape, compute_exposure};
use rand_core::{OsRng, RngCore};

fn max_rss_mib() -> f64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    usage.max_rss() as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let total: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let customers: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);

    let ws = WorkspaceId::random(&mut OsRng);
    let set = RecordSetId::random(&mut OsRng);
    let people: Vec<PersonId> = (0..10).map(|_| PersonId::random(&mut OsRng)).collect();
    let rows: Vec<RowId> = (0..customers).map(|_| RowId::random(&mut OsRng)).collect();
    let docs: Vec<ItemId> = (0..1000).map(|_| ItemId::random(&mut OsRng)).collect();
    let mut shapes = HashMap::new();
    shapes.insert(
        set,
        SetShape {
            customers: true,
            columns: [
                ("name", DataCategory::Name),
                ("email", DataCategory::Email),
                ("card", DataCategory::CardNumber),
            ]
            .into_iter()
            .map(|(n, c)| (n.to_owned(), c))
            .collect(),
        },
    );
    let start_ms: i64 = 1_790_000_000_000;
    let mut rng = OsRng;
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let mut leaves: Vec<Vec<u8>> = Vec::with_capacity(total);
    let generated = Instant::now();
    for i in 0..total {
        let actor = people[i % people.len()];
        let time = Timestamp::from_unix_millis(start_ms + i as i64 * 1000).unwrap();
        let kind = pick(100);
        let (action, id, n, columns, reason): (_, _, usize, &[&str], &str) = match kind {
            0..70 => (
                KnownAction::View,
                TargetId::RecordSet(set),
                10,
                &["name"],
                "grant (masked: email, card)",
            ),
            70..90 => (
                KnownAction::Reveal,
                TargetId::RecordSet(set),
                1,
                &["card"],
                "grant (column card)",
            ),
            90..95 => (
                KnownAction::Export,
                TargetId::RecordSet(set),
                100,
                &["name", "email"],
                "grant (masked: card)",
            ),
            _ => (
                KnownAction::Download,
                TargetId::Document(docs[pick(docs.len())]),
                0,
                &[],
                "grant",
            ),
        };
        let first = pick(customers.saturating_sub(n).max(1));
        let target_rows: Vec<RowId> = rows[first..(first + n).min(customers)].to_vec();
        let categories: BTreeSet<Name> = columns
            .iter()
            .filter_map(|c| shapes[&set].columns.get(*c))
            .map(|c| Name::from(*c))
            .collect();
        let entry = Entry {
            time,
            workspace: ws,
            actor: Some(actor),
            device: None,
            client: None,
            action: Action::from(action),
            target: Target {
                id,
                rows: target_rows,
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            },
            decision: Decision::Allow,
            reason: reason.to_owned(),
            categories,
            delivery: None,
            keyed: BTreeMap::new(),
        };
        leaves.push(entry.to_leaf());
    }
    let generated = generated.elapsed();
    let leaf_bytes: usize = leaves.iter().map(Vec::len).sum();
    let rss_leaves = max_rss_mib();
    let person = people[3];
    let since = time::OffsetDateTime::from_unix_timestamp(start_ms / 1000).unwrap();
    let until = since + time::Duration::days(3650);

    // The vault's path over stored leaves.
    let t = Instant::now();
    let filter = PersonFilter::new(person);
    let mut theirs = Vec::new();
    for (i, leaf) in leaves.iter().enumerate() {
        filter.keep(i as u64, leaf, &mut theirs).unwrap();
    }
    let filtered = t.elapsed();
    let t = Instant::now();
    let exposure = compute_exposure(&theirs, person, since, until, &shapes);
    let computed = t.elapsed();
    let rss_after_path = max_rss_mib();

    // The pure function over every entry, parsed beforehand.
    let t = Instant::now();
    let all: Vec<Entry> = leaves
        .iter()
        .map(|l| Entry::from_leaf(l).unwrap())
        .collect();
    let parse_all = t.elapsed();
    drop(leaves);
    let t = Instant::now();
    let again = compute_exposure(&all, person, since, until, &shapes);
    let pure_all = t.elapsed();
    assert_eq!(exposure, again, "the filter changes nothing");

    println!(
        "{}",
        serde_json::json!({
            "bench": "exposure",
            "entries": total,
            "customers": customers,
            "person_entries": theirs.len(),
            "customers_exposed": exposure.customers.len(),
            "documents_exposed": exposure.documents.len(),
            "leaf_mib": leaf_bytes as f64 / 1048576.0,
            "generate_s": generated.as_secs_f64(),
            "vault_path_filter_and_parse_s": filtered.as_secs_f64(),
            "vault_path_compute_s": computed.as_secs_f64(),
            "vault_path_total_s": (filtered + computed).as_secs_f64(),
            "parse_all_entries_s": parse_all.as_secs_f64(),
            "pure_over_all_parsed_entries_s": pure_all.as_secs_f64(),
            "max_rss_mib_after_generating_leaves": rss_leaves,
            "max_rss_mib_after_vault_path": rss_after_path,
            "max_rss_mib_end": max_rss_mib(),
        })
    );
}
