use proptest::prelude::*;

use super::*;

fn uuid(n: u64) -> String {
    format!("0b5f1c3e-8d2a-4f6b-9c1d-{n:012x}")
}

/// A full entry; `n` varies the ids and the time.
pub(crate) fn sample(n: u64) -> Entry {
    let mut keyed = BTreeMap::new();
    keyed.insert(
        Name::new("email").unwrap(),
        KeyedHash::new(vec![7; 32]).unwrap(),
    );
    Entry {
        time: Timestamp::from_unix_millis(1_795_000_000_000 + n as i64).unwrap(),
        workspace: uuid(1).parse().unwrap(),
        actor: Some(uuid(2 + n % 5).parse().unwrap()),
        device: Some(OpaqueId::new("dev-01").unwrap()),
        client: Some("2001:db8::1".parse().unwrap()),
        action: KnownAction::Reveal.into(),
        target: Target {
            id: TargetId::RecordSet(uuid(3).parse().unwrap()),
            rows: vec![uuid(10 + n).parse().unwrap()],
            columns: vec!["Email".into(), "Card \"number\"".into()],
        },
        decision: Decision::Allow,
        reason: "grant g1 allows reveal of Email for support; ünïcödé\n".into(),
        categories: [DataCategory::Email, DataCategory::CardNumber]
            .into_iter()
            .map(Name::from)
            .collect(),
        delivery: None,
        keyed,
    }
}

/// The smallest entry: an anonymous denied sign-in.
pub(crate) fn minimal(n: u64) -> Entry {
    Entry {
        time: Timestamp::from_unix_millis(n as i64).unwrap(),
        workspace: uuid(1).parse().unwrap(),
        actor: None,
        device: None,
        client: None,
        action: KnownAction::SignIn.into(),
        target: Target::whole(TargetId::Workspace(uuid(1).parse().unwrap())),
        decision: Decision::Deny,
        reason: "unknown account".into(),
        categories: BTreeSet::new(),
        delivery: None,
        keyed: BTreeMap::new(),
    }
}

#[test]
fn the_canonical_form_is_exactly_as_specified() {
    let leaf = minimal(1_234).to_leaf();
    let expected = concat!(
        r#"{"v":1,"time":"1970-01-01T00:00:01.234Z","#,
        r#""workspace":"0b5f1c3e-8d2a-4f6b-9c1d-000000000001","actor":null,"device":null,"#,
        r#""client":null,"action":"sign_in","#,
        r#""target":{"kind":"workspace","id":"0b5f1c3e-8d2a-4f6b-9c1d-000000000001","rows":[],"columns":[]},"#,
        r#""decision":"deny","reason":"unknown account","categories":[],"delivery":null,"keyed":{}}"#
    );
    assert_eq!(String::from_utf8(leaf).unwrap(), expected);
}

#[test]
fn entries_round_trip_and_match_serde_json_escaping() {
    for e in [sample(0), sample(9), minimal(0)] {
        let leaf = e.to_leaf();
        let back = Entry::from_leaf(&leaf).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.to_leaf(), leaf);
        // Our writer and serde_json agree on every string.
        let v: serde_json::Value = serde_json::from_slice(&leaf).unwrap();
        assert_eq!(v["reason"].as_str(), Some(e.reason.as_str()));
    }
    let mut odd = minimal(0);
    odd.reason = (0u8..0x80).map(char::from).collect::<String>() + "é€𝄞";
    let mut ours = Vec::new();
    push_str(&mut ours, &odd.reason);
    assert_eq!(ours, serde_json::to_vec(&odd.reason).unwrap());
    assert_eq!(Entry::from_leaf(&odd.to_leaf()).unwrap(), odd);
}

#[test]
fn non_canonical_spellings_are_rejected() {
    let leaf = String::from_utf8(sample(0).to_leaf()).unwrap();
    let variants = [
        leaf.replacen(",\"time\"", ", \"time\"", 1),
        leaf.replacen("{\"v\":1", "{ \"v\":1", 1),
        leaf.clone() + "\n",
        leaf.replacen("\"v\":1", "\"v\":1.0", 1),
        leaf.replacen("\"action\":\"reveal\"", "\"action\":\"rev\\u0065al\"", 1),
        leaf.replacen(
            "0b5f1c3e-8d2a-4f6b-9c1d-000000000001",
            "0B5F1C3E-8D2A-4F6B-9C1D-000000000001",
            1,
        ),
        leaf.replacen("\"card_number\",\"email\"", "\"email\",\"card_number\"", 1),
        leaf.replacen("2001:db8::1", "2001:0db8::1", 1),
        leaf.replacen(".000Z", ".000+00:00", 1),
        // Field order.
        leaf.replacen("\"decision\":\"allow\",\"reason\"", "\"reason\"", 1)
            .replacen("\"categories\"", "\"decision\":\"allow\",\"categories\"", 1),
    ];
    for v in variants {
        assert_ne!(v, leaf);
        assert!(Entry::from_leaf(v.as_bytes()).is_err(), "accepted {v}");
    }
}

#[test]
fn malformed_entries_say_what_is_wrong() {
    let leaf = String::from_utf8(minimal(0).to_leaf()).unwrap();
    let cases = [
        (leaf.replacen("\"v\":1", "\"v\":2", 1), "version 2"),
        (
            leaf.replacen(",\"keyed\":{}", "", 1),
            "missing field `keyed`",
        ),
        (
            leaf.replacen("\"keyed\":{}", "\"keyed\":{},\"x\":1", 1),
            "unknown field",
        ),
        (leaf.replacen("\"deny\"", "\"maybe\"", 1), "decision"),
        (leaf.replacen("\"sign_in\"", "\"Sign In\"", 1), "action"),
        (leaf.replacen("00:00:00.000Z", "00:00:00Z", 1), "RFC 3339"),
        (
            leaf.replacen("\"kind\":\"workspace\"", "\"kind\":\"planet\"", 1),
            "target.kind",
        ),
        (
            leaf.replacen("\"actor\":null", "\"actor\":\"nope\"", 1),
            "actor",
        ),
        (
            leaf.replacen("\"client\":null", "\"client\":\"localhost\"", 1),
            "client",
        ),
        ("not json".to_owned(), "not a ledger entry"),
    ];
    for (input, needle) in cases {
        let err = Entry::from_leaf(input.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(needle), "{err:?} does not mention {needle:?}");
    }
}

#[test]
fn unknown_actions_decode_for_older_verifiers() {
    let leaf =
        String::from_utf8(minimal(0).to_leaf())
            .unwrap()
            .replacen("sign_in", "print_page", 1);
    let e = Entry::from_leaf(leaf.as_bytes()).unwrap();
    assert_eq!(e.action.as_str(), "print_page");
    assert!(matches!(e.action, Action::Other(_)));
    assert_eq!(e.to_leaf(), leaf.as_bytes());
    assert_eq!(
        Action::from_name("view").unwrap(),
        Action::Known(KnownAction::View)
    );
    for known in KnownAction::ALL {
        assert_eq!(
            Action::from_name(known.as_str()).unwrap(),
            Action::Known(*known)
        );
    }
}

#[test]
fn timestamps_are_utc_milliseconds() {
    let t: Timestamp = "2026-11-29T08:15:00.123Z".parse().unwrap();
    assert_eq!(t.to_string(), "2026-11-29T08:15:00.123Z");
    assert_eq!(
        Timestamp::from_unix_millis(0).unwrap().to_string(),
        "1970-01-01T00:00:00.000Z"
    );
    assert_eq!(
        Timestamp::from_unix_millis(MAX_UNIX_MILLIS)
            .unwrap()
            .to_string(),
        "9999-12-31T23:59:59.999Z"
    );
    assert!(Timestamp::from_unix_millis(-1).is_err());
    assert!(Timestamp::from_unix_millis(MAX_UNIX_MILLIS + 1).is_err());
    for bad in [
        "2026-02-30T00:00:00.000Z",
        "2026-11-29T24:00:00.000Z",
        "2026-11-29 08:15:00.123Z",
        "2026-11-29T08:15:00.12Z",
        "+026-11-29T08:15:00.123Z",
        "1969-12-31T23:59:59.999Z",
    ] {
        assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
    }
    let offset = time::macros::datetime!(2026-11-29 09:15:00.123_999 +01:00);
    assert_eq!(
        Timestamp::from_datetime(offset).unwrap().to_string(),
        "2026-11-29T08:15:00.123Z"
    );
}

proptest! {
    #[test]
    fn any_timestamp_round_trips(ms in 0i64..=MAX_UNIX_MILLIS) {
        let t = Timestamp::from_unix_millis(ms).unwrap();
        prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn any_reason_and_columns_round_trip(reason in any::<String>(), column in ".+") {
        let mut e = sample(1);
        e.reason = reason;
        e.target.columns.push(column);
        let leaf = e.to_leaf();
        prop_assert_eq!(Entry::from_leaf(&leaf).unwrap(), e);
    }

    #[test]
    fn from_leaf_never_accepts_what_to_leaf_would_not_write(
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut leaf = sample(2).to_leaf();
        let i = pos.index(leaf.len());
        leaf[i] = byte;
        if let Ok(e) = Entry::from_leaf(&leaf) {
            prop_assert_eq!(e.to_leaf(), leaf);
        }
    }
}

fn any_entry() -> impl Strategy<Value = Entry> {
    let ids = prop::collection::vec(any::<u64>(), 4);
    let optionals = (
        any::<bool>(),
        prop::option::of("[A-Za-z0-9._:-]{1,20}"),
        prop::option::of(any::<std::net::IpAddr>()),
        prop::option::of("[a-z0-9-]{1,36}"),
    );
    let texts = (
        any::<String>(),
        prop::collection::vec(any::<String>(), 0..3),
        prop::collection::vec(any::<u64>(), 0..3),
        prop::collection::btree_set("[a-z][a-z0-9_]{0,10}", 0..4),
        prop::collection::btree_map(
            "[a-z][a-z0-9_]{0,10}",
            prop::collection::vec(any::<u8>(), 16..=64),
            0..3,
        ),
    );
    (
        0i64..=MAX_UNIX_MILLIS,
        ids,
        optionals,
        texts,
        "[a-z][a-z_]{0,15}",
        0usize..5,
        any::<bool>(),
    )
        .prop_map(
            |(
                ms,
                ids,
                (anon, device, client, delivery),
                (reason, columns, rows, cats, keyed),
                action,
                kind,
                allow,
            )| {
                let id = |n: u64| uuid(n & 0xffff_ffff_ffff);
                let target_id = match kind {
                    0 => TargetId::Document(id(ids[2]).parse().unwrap()),
                    1 => TargetId::RecordSet(id(ids[2]).parse().unwrap()),
                    2 => TargetId::Row(id(ids[2]).parse().unwrap()),
                    3 => TargetId::Person(id(ids[2]).parse().unwrap()),
                    _ => TargetId::Workspace(id(ids[2]).parse().unwrap()),
                };
                Entry {
                    time: Timestamp::from_unix_millis(ms).unwrap(),
                    workspace: id(ids[0]).parse().unwrap(),
                    actor: (!anon).then(|| id(ids[1]).parse().unwrap()),
                    device: device.map(|d| OpaqueId::new(&d).unwrap()),
                    client,
                    action: Action::from_name(&action).unwrap(),
                    target: Target {
                        id: target_id,
                        rows: rows.into_iter().map(|r| id(r).parse().unwrap()).collect(),
                        columns,
                    },
                    decision: if allow {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    },
                    reason,
                    categories: cats.iter().map(|c| Name::new(c).unwrap()).collect(),
                    delivery: delivery.map(|d| OpaqueId::new(&d).unwrap()),
                    keyed: keyed
                        .into_iter()
                        .map(|(k, v)| (Name::new(&k).unwrap(), KeyedHash::new(v).unwrap()))
                        .collect(),
                }
            },
        )
}

proptest! {
    /// Whatever a caller can build, `to_leaf` writes bytes that decode to
    /// the same entry: the vault can never append a leaf the verifier
    /// rejects.
    #[test]
    fn every_buildable_entry_round_trips(e in any_entry()) {
        let leaf = e.to_leaf();
        let back = Entry::from_leaf(&leaf);
        prop_assert!(back.is_ok(), "{:?} for {}", back, String::from_utf8_lossy(&leaf));
        prop_assert_eq!(back.unwrap(), e);
    }
}
