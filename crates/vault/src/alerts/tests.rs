//! Each rule fires at its threshold and not one below it.

use super::*;
use confidant_core::{RecordSetId, RowId, WorkspaceId};
use confidant_ledger::{Target, TargetId, Timestamp};
use rand_core::OsRng;
use time::macros::datetime;

struct Ids {
    ws: WorkspaceId,
    owner: PersonId,
    alex: PersonId,
    set: RecordSetId,
}

fn ids() -> Ids {
    Ids {
        ws: WorkspaceId::random(&mut OsRng),
        owner: PersonId::random(&mut OsRng),
        alex: PersonId::random(&mut OsRng),
        set: RecordSetId::random(&mut OsRng),
    }
}

fn entry(
    ids: &Ids,
    who: Option<PersonId>,
    at: OffsetDateTime,
    action: KnownAction,
    allow: bool,
    rows: usize,
) -> Entry {
    let mut target = Target::whole(TargetId::RecordSet(ids.set));
    target.rows = (0..rows).map(|_| RowId::random(&mut OsRng)).collect();
    Entry {
        time: Timestamp::from_datetime(at).unwrap(),
        workspace: ids.ws,
        actor: who,
        device: None,
        client: Some("192.0.2.7".parse().unwrap()),
        action: action.into(),
        target,
        decision: if allow {
            Decision::Allow
        } else {
            Decision::Deny
        },
        reason: "test".into(),
        categories: Default::default(),
        delivery: None,
        keyed: Default::default(),
    }
}

fn only(rules: AlertRules) -> AlertRules {
    rules
}

fn off() -> AlertRules {
    AlertRules {
        bulk_rows: None,
        bulk_factor: None,
        bulk_min_rows: 0,
        baseline_hours: 168,
        working_hours: None,
        denials: None,
        wrong_passcodes: None,
    }
}

#[test]
fn bulk_access_fires_above_the_hourly_rows_and_not_at_them() {
    let ids = ids();
    let day = BusinessDay::utc();
    let rules = only(AlertRules {
        bulk_rows: Some(100),
        ..off()
    });
    let at = datetime!(2026-11-30 10:05 UTC);
    // 100 rows in the hour: at the threshold, no alert.
    let mut entries = vec![
        entry(&ids, Some(ids.alex), at, KnownAction::View, true, 60),
        entry(
            &ids,
            Some(ids.alex),
            at + Duration::minutes(50),
            KnownAction::Export,
            true,
            40,
        ),
        // The next hour does not add up with this one.
        entry(
            &ids,
            Some(ids.alex),
            datetime!(2026-11-30 11:00 UTC),
            KnownAction::View,
            true,
            1,
        ),
        // Refused reads return no rows; the owner is not watched.
        entry(&ids, Some(ids.alex), at, KnownAction::View, false, 500),
        entry(&ids, Some(ids.owner), at, KnownAction::Export, true, 5000),
    ];
    assert!(evaluate(&entries, &rules, &day, ids.owner, &HashMap::new()).is_empty());
    // One more row: 101 > 100.
    entries.push(entry(
        &ids,
        Some(ids.alex),
        at,
        KnownAction::Reveal,
        true,
        1,
    ));
    let alerts = evaluate(&entries, &rules, &day, ids.owner, &HashMap::new());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule, Rule::BulkAccess);
    assert_eq!(alerts[0].subject, Subject::Person(ids.alex));
    assert_eq!((alerts[0].count, alerts[0].threshold), (101, 100));
    assert_eq!(alerts[0].window, "2026-11-30T10:00Z");
    assert!(alerts[0].key().starts_with("bulk_access person "));
}

#[test]
fn bulk_access_compares_with_the_persons_usual_hour() {
    let ids = ids();
    let day = BusinessDay::utc();
    let rules = AlertRules {
        bulk_factor: Some(5.0),
        bulk_min_rows: 20,
        ..off()
    };
    assert_eq!(usual_hour(&[0, 8, 10, 12, 0]), Some(10));
    assert_eq!(usual_hour(&[10, 12]), None, "too few active hours");
    let usual: HashMap<_, _> = [(ids.alex, 10)].into_iter().collect();
    let at = datetime!(2026-11-30 10:05 UTC);
    let fifty = vec![entry(&ids, Some(ids.alex), at, KnownAction::View, true, 50)];
    assert!(evaluate(&fifty, &rules, &day, ids.owner, &usual).is_empty());
    let fifty_one = vec![entry(&ids, Some(ids.alex), at, KnownAction::View, true, 51)];
    let alerts = evaluate(&fifty_one, &rules, &day, ids.owner, &usual);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].threshold, 50);
    // Without a usual hour the factor rule says nothing.
    assert!(evaluate(&fifty_one, &rules, &day, ids.owner, &HashMap::new()).is_empty());
    // A quiet person's small median is floored by bulk_min_rows.
    let quiet: HashMap<_, _> = [(ids.alex, 1)].into_iter().collect();
    let six = vec![entry(&ids, Some(ids.alex), at, KnownAction::View, true, 20)];
    assert!(evaluate(&six, &rules, &day, ids.owner, &quiet).is_empty());
}

#[test]
fn working_hours_have_an_inclusive_start_and_an_exclusive_end_in_the_local_zone() {
    let ids = ids();
    // 08:00-18:00 Mon-Fri in New York (UTC-5 in November).
    let day = BusinessDay::new("America/New_York", 18 * 60).unwrap();
    let hours = WorkingHours {
        start: 8 * 60,
        end: 18 * 60,
        days: [true, true, true, true, true, false, false],
    };
    assert_eq!(hours.text(), "08:00-18:00 Mon,Tue,Wed,Thu,Fri");
    let rules = AlertRules {
        working_hours: Some(hours),
        ..off()
    };
    let at = |t| vec![entry(&ids, Some(ids.alex), t, KnownAction::View, true, 1)];
    let fires = |t| !evaluate(&at(t), &rules, &day, ids.owner, &HashMap::new()).is_empty();
    // Monday 30 November.
    assert!(fires(datetime!(2026-11-30 12:59:59 UTC)), "07:59:59");
    assert!(!fires(datetime!(2026-11-30 13:00 UTC)), "08:00");
    assert!(!fires(datetime!(2026-11-30 22:59:59 UTC)), "17:59:59");
    assert!(fires(datetime!(2026-11-30 23:00 UTC)), "18:00");
    // Saturday 5 December at noon.
    assert!(fires(datetime!(2026-12-05 17:00 UTC)), "Saturday");
    // The owner is not watched.
    let owner = vec![entry(
        &ids,
        Some(ids.owner),
        datetime!(2026-12-05 17:00 UTC),
        KnownAction::View,
        true,
        1,
    )];
    assert!(evaluate(&owner, &rules, &day, ids.owner, &HashMap::new()).is_empty());
    // Two night accesses the same local day are one alert, named by the date.
    let night = vec![
        entry(
            &ids,
            Some(ids.alex),
            datetime!(2026-12-01 03:00 UTC),
            KnownAction::View,
            true,
            1,
        ),
        entry(
            &ids,
            Some(ids.alex),
            datetime!(2026-12-01 04:00 UTC),
            KnownAction::View,
            true,
            1,
        ),
    ];
    let alerts = evaluate(&night, &rules, &day, ids.owner, &HashMap::new());
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].window, "2026-11-30",
        "22:00 and 23:00 local on the 30th"
    );
    assert_eq!(alerts[0].count, 2);
    // Hours spanning midnight.
    let nights = WorkingHours {
        start: 22 * 60,
        end: 6 * 60,
        days: [true; 7],
    };
    assert!(
        nights.contains(&day, datetime!(2026-12-01 04:00 UTC)),
        "23:00"
    );
    assert!(
        !nights.contains(&day, datetime!(2026-12-01 11:00 UTC)),
        "06:00"
    );
}

#[test]
fn repeated_refusals_fire_at_n_within_m_minutes_once_per_window() {
    let ids = ids();
    let day = BusinessDay::utc();
    let rules = AlertRules {
        denials: Some(Burst {
            count: 3,
            within: Duration::minutes(10),
        }),
        ..off()
    };
    let t0 = datetime!(2026-11-30 10:00 UTC);
    let denied = |t| entry(&ids, Some(ids.alex), t, KnownAction::View, false, 0);
    // Three refusals spanning exactly ten minutes: not within.
    let spread = [
        denied(t0),
        denied(t0 + Duration::minutes(5)),
        denied(t0 + Duration::minutes(10)),
    ];
    assert!(evaluate(&spread, &rules, &day, ids.owner, &HashMap::new()).is_empty());
    // Two within: below the count.
    let two = [denied(t0), denied(t0 + Duration::minutes(1))];
    assert!(evaluate(&two, &rules, &day, ids.owner, &HashMap::new()).is_empty());
    // Three within 9:59.
    let three = [
        denied(t0),
        denied(t0 + Duration::minutes(5)),
        denied(t0 + Duration::seconds(599)),
    ];
    let alerts = evaluate(&three, &rules, &day, ids.owner, &HashMap::new());
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].count, 3);
    assert_eq!(alerts[0].window, "2026-11-30T10:00Z+10m");
    // More of the same in the window: still one alert.
    let mut more = three.to_vec();
    more.push(denied(t0 + Duration::seconds(599)));
    assert_eq!(
        evaluate(&more, &rules, &day, ids.owner, &HashMap::new()).len(),
        1
    );
    // Wrong passcodes are their own rule, and anonymous attempts count by address.
    let passcodes = [
        entry(&ids, Some(ids.alex), t0, KnownAction::PasscodeUse, false, 0),
        entry(&ids, Some(ids.alex), t0, KnownAction::PasscodeUse, false, 0),
        entry(&ids, Some(ids.alex), t0, KnownAction::PasscodeUse, false, 0),
    ];
    assert!(evaluate(&passcodes, &rules, &day, ids.owner, &HashMap::new()).is_empty());
    let anonymous = [
        entry(&ids, None, t0, KnownAction::SignIn, false, 0),
        entry(&ids, None, t0, KnownAction::SignIn, false, 0),
        entry(&ids, None, t0, KnownAction::SignIn, false, 0),
    ];
    let alerts = evaluate(&anonymous, &rules, &day, ids.owner, &HashMap::new());
    assert_eq!(
        alerts[0].subject,
        Subject::Client("192.0.2.7".parse().unwrap())
    );
}

#[test]
fn wrong_passcodes_fire_at_their_own_count() {
    let ids = ids();
    let day = BusinessDay::utc();
    let rules = AlertRules {
        wrong_passcodes: Some(Burst {
            count: 2,
            within: Duration::minutes(15),
        }),
        ..off()
    };
    let t0 = datetime!(2026-11-30 10:00 UTC);
    let wrong = |t| entry(&ids, Some(ids.alex), t, KnownAction::PasscodeUse, false, 0);
    let right = entry(&ids, Some(ids.alex), t0, KnownAction::PasscodeUse, true, 0);
    assert!(
        evaluate(
            &[wrong(t0), right],
            &rules,
            &day,
            ids.owner,
            &HashMap::new()
        )
        .is_empty()
    );
    let alerts = evaluate(
        &[wrong(t0), wrong(t0 + Duration::minutes(14))],
        &rules,
        &day,
        ids.owner,
        &HashMap::new(),
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, Rule::WrongPasscodes);
}

#[test]
fn the_webhook_signature_is_hmac_sha256_of_the_body() {
    // RFC 4231 test case 2.
    let secret = SecretString::from("Jefe");
    assert_eq!(
        signature(&secret, b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}
