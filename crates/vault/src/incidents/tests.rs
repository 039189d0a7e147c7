//! The exposure computation, table-driven over hand-made ledger entries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use confidant_core::incident::Channel;
use confidant_core::{DataCategory, ItemId, PersonId, RecordSetId, RowId, WorkspaceId};
use confidant_ledger::{Action, Decision, Entry, KnownAction, Name, Target, TargetId, Timestamp};
use rand_core::OsRng;
use time::macros::datetime;

use super::{SetShape, compute_exposure, masked_columns, retry_backoff};

struct World {
    ws: WorkspaceId,
    alex: PersonId,
    other: PersonId,
    set: RecordSetId,
    staff: RecordSetId,
    rows: Vec<RowId>,
    doc: ItemId,
    shapes: HashMap<RecordSetId, SetShape>,
}

fn world() -> World {
    let set = RecordSetId::random(&mut OsRng);
    let staff = RecordSetId::random(&mut OsRng);
    let columns: HashMap<String, DataCategory> = [
        ("name", DataCategory::Name),
        ("email", DataCategory::Email),
        ("card", DataCategory::CardNumber),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_owned(), c))
    .collect();
    let mut shapes = HashMap::new();
    shapes.insert(
        set,
        SetShape {
            customers: true,
            columns: columns.clone(),
        },
    );
    shapes.insert(
        staff,
        SetShape {
            customers: false,
            columns,
        },
    );
    World {
        ws: WorkspaceId::random(&mut OsRng),
        alex: PersonId::random(&mut OsRng),
        other: PersonId::random(&mut OsRng),
        set,
        staff,
        rows: (0..4).map(|_| RowId::random(&mut OsRng)).collect(),
        doc: ItemId::random(&mut OsRng),
        shapes,
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    w: &World,
    who: PersonId,
    at: time::OffsetDateTime,
    action: KnownAction,
    id: TargetId,
    rows: &[RowId],
    columns: &[&str],
    reason: &str,
    allowed: bool,
) -> Entry {
    let categories: BTreeSet<Name> = columns
        .iter()
        .filter_map(|c| w.shapes[&w.set].columns.get(*c))
        .map(|c| Name::from(*c))
        .collect();
    Entry {
        time: Timestamp::from_datetime(at).unwrap(),
        workspace: w.ws,
        actor: Some(who),
        device: None,
        client: None,
        action: Action::from(action),
        target: Target {
            id,
            rows: rows.to_vec(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        },
        decision: if allowed {
            Decision::Allow
        } else {
            Decision::Deny
        },
        reason: reason.to_owned(),
        categories,
        delivery: None,
        keyed: BTreeMap::new(),
    }
}

#[test]
fn masked_columns_are_read_from_the_reason() {
    let got: Vec<&str> =
        masked_columns("need to know (masked: email, card); stamped copy, delivery x").collect();
    assert_eq!(got, ["email", "card"]);
    assert_eq!(masked_columns("the workspace owner").count(), 0);
}

#[test]
fn exposure_counts_only_what_reached_the_person_in_the_window() {
    let w = world();
    let set = TargetId::RecordSet(w.set);
    let [r0, r1, r2, r3] = [w.rows[0], w.rows[1], w.rows[2], w.rows[3]];
    let d1 = datetime!(2026-11-02 10:00 UTC);
    let d2 = datetime!(2026-11-03 11:00 UTC);
    let entries = vec![
        // Rows 0-2 viewed: name in the clear, email and card masked.
        entry(
            &w,
            w.alex,
            d1,
            KnownAction::View,
            set,
            &[r0, r1, r2],
            &["name"],
            "grant (masked: email, card)",
            true,
        ),
        // Row 3 viewed with everything masked.
        entry(
            &w,
            w.alex,
            d1,
            KnownAction::View,
            set,
            &[r3],
            &[],
            "grant (masked: name, email, card)",
            true,
        ),
        // Row 0's card revealed; row 1 exported.
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::Reveal,
            set,
            &[r0],
            &["card"],
            "grant (column card)",
            true,
        ),
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::Export,
            set,
            &[r1],
            &["name", "email"],
            "grant (masked: card)",
            true,
        ),
        // A document downloaded.
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::Download,
            TargetId::Document(w.doc),
            &[],
            &[],
            "grant",
            true,
        ),
        // Not counted: denied, someone else, outside the window, not
        // customers, a listing without rows, an edit.
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::Reveal,
            set,
            &[r2],
            &["card"],
            "denied",
            false,
        ),
        entry(
            &w,
            w.other,
            d2,
            KnownAction::Reveal,
            set,
            &[r2],
            &["card"],
            "grant",
            true,
        ),
        entry(
            &w,
            w.alex,
            datetime!(2026-10-30 10:00 UTC),
            KnownAction::Reveal,
            set,
            &[r2],
            &["card"],
            "grant",
            true,
        ),
        entry(
            &w,
            w.alex,
            datetime!(2026-11-10 00:00 UTC),
            KnownAction::Reveal,
            set,
            &[r2],
            &["card"],
            "grant",
            true,
        ),
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::View,
            TargetId::RecordSet(w.staff),
            &[r2],
            &["card"],
            "grant",
            true,
        ),
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::View,
            set,
            &[],
            &[],
            "grant",
            true,
        ),
        entry(
            &w,
            w.alex,
            d2,
            KnownAction::Edit,
            set,
            &[r2],
            &["card"],
            "grant",
            true,
        ),
    ];
    let since = datetime!(2026-11-01 00:00 UTC);
    let until = datetime!(2026-11-10 00:00 UTC);
    // Order does not matter.
    let mut reversed = entries.clone();
    reversed.reverse();
    let exposure = compute_exposure(&entries, w.alex, since, until, &w.shapes);
    assert_eq!(
        exposure,
        compute_exposure(&reversed, w.alex, since, until, &w.shapes)
    );

    assert_eq!(exposure.entries, 5);
    assert_eq!(exposure.by_day.values().sum::<u32>(), 5);
    assert_eq!(exposure.documents.len(), 1);
    assert_eq!(exposure.documents[0].channels[&Channel::Copy], 1);
    let by_row: HashMap<RowId, _> = exposure.customers.iter().map(|c| (c.row, c)).collect();
    assert_eq!(by_row.len(), 4);
    use DataCategory::*;
    let cats = |list: &[DataCategory]| list.iter().copied().collect::<BTreeSet<_>>();
    assert_eq!(by_row[&r0].clear, cats(&[Name, CardNumber]));
    assert_eq!(by_row[&r0].masked_only, cats(&[Email]));
    assert_eq!(by_row[&r0].worst(), Some(Channel::Revealed));
    assert_eq!(by_row[&r0].first, d1);
    assert_eq!(by_row[&r0].last, d2);
    assert_eq!(by_row[&r1].clear, cats(&[Name, Email]));
    assert_eq!(by_row[&r1].masked_only, cats(&[CardNumber]));
    assert_eq!(by_row[&r1].worst(), Some(Channel::Copy));
    assert_eq!(by_row[&r2].clear, cats(&[Name]));
    assert_eq!(
        by_row[&r2].channels.keys().copied().collect::<Vec<_>>(),
        [Channel::ClearView]
    );
    assert!(by_row[&r3].unintelligible());
    assert_eq!(by_row[&r3].masked_only, cats(&[Name, Email, CardNumber]));
    assert_eq!(by_row[&r3].worst(), Some(Channel::MaskedView));
    assert_eq!(exposure.intelligible().count(), 3);
    assert_eq!(exposure.category_counts()[&Name], 3);
}

#[test]
fn backoff_doubles_up_to_six_hours() {
    assert_eq!(retry_backoff(1), time::Duration::minutes(1));
    assert_eq!(retry_backoff(2), time::Duration::minutes(2));
    assert_eq!(retry_backoff(4), time::Duration::minutes(8));
    assert_eq!(retry_backoff(30), time::Duration::hours(6));
}
