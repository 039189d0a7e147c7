#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;

fn nft(items: serde_json::Value) -> Ruleset {
    Ruleset::from_nft_json(&json!({ "nftables": items }).to_string()).unwrap()
}

fn base_chain(family: &str, name: &str, policy: &str) -> serde_json::Value {
    json!({"chain": {"family": family, "table": "filter", "name": name, "handle": 1,
        "type": "filter", "hook": "input", "prio": 0, "policy": policy}})
}

fn chain(family: &str, name: &str) -> serde_json::Value {
    json!({"chain": {"family": family, "table": "filter", "name": name, "handle": 2}})
}

fn rule(family: &str, chain: &str, expr: serde_json::Value) -> serde_json::Value {
    json!({"rule": {"family": family, "table": "filter", "chain": chain, "handle": 3, "expr": expr}})
}

fn ssh() -> serde_json::Value {
    json!({"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}})
}

/// Whether some input chain drops, and the reasons given.
fn verdict(ruleset: &Ruleset) -> (bool, Vec<String>) {
    let chains = ruleset.input_chains();
    (
        chains.iter().any(|c| c.drops),
        chains
            .iter()
            .map(|c| format!("{}: {}", c.chain, c.why))
            .collect(),
    )
}

#[test]
fn recorded_nft_rulesets() {
    let cases = [
        (include_str!("../../tests/data/nft-empty.json"), false),
        (include_str!("../../tests/data/nft-final-reject.json"), true),
        (include_str!("../../tests/data/nft-iptables-ufw.json"), true),
        (
            include_str!("../../tests/data/nft-xt-log-reject.json"),
            true,
        ),
    ];
    for (text, drops) in cases {
        let ruleset = Ruleset::from_nft_json(text).unwrap();
        assert_eq!(verdict(&ruleset).0, drops, "{text}");
    }
    let reject = Ruleset::from_nft_json(include_str!("../../tests/data/nft-final-reject.json"))
        .unwrap()
        .input_chains();
    assert_eq!(reject.len(), 1);
    assert_eq!(reject[0].chain, "table inet filter, chain input");
    assert_eq!(reject[0].why, "an unconditional reject in chain input");
}

#[test]
fn recorded_iptables_rulesets() {
    for text in [
        include_str!("../../tests/data/iptables-S-ufw.txt"),
        include_str!("../../tests/data/iptables-save-ufw.txt"),
    ] {
        let ruleset = Ruleset::from_iptables(text, "ip");
        let chains = ruleset.input_chains();
        assert_eq!(chains.len(), 1, "{ruleset:?}");
        assert!(chains[0].drops);
        assert_eq!(chains[0].why, "its policy is drop");
        let user = ruleset
            .chains
            .iter()
            .find(|c| c.name == "ufw-user-input")
            .unwrap();
        assert_eq!(user.rules.len(), 1);
        assert_eq!(user.rules[0].condition, Condition::Some);
    }
}

#[test]
fn nft_cases() {
    let f = "inet";
    let cases: Vec<(&str, serde_json::Value, bool)> = vec![
        ("no tables", json!([]), false),
        (
            "accept policy, no rules",
            json!([base_chain(f, "input", "accept")]),
            false,
        ),
        ("drop policy", json!([base_chain(f, "input", "drop")]), true),
        (
            "drop policy, ssh allowed",
            json!([
                base_chain(f, "input", "drop"),
                rule(f, "input", json!([ssh(), {"accept": null}]))
            ]),
            true,
        ),
        (
            "drop policy but an accept-all rule first",
            json!([
                base_chain(f, "input", "drop"),
                rule(f, "input", json!([{"counter": null}, {"accept": null}]))
            ]),
            false,
        ),
        (
            "final drop",
            json!([
                base_chain(f, "input", "accept"),
                rule(f, "input", json!([ssh(), {"accept": null}])),
                rule(f, "input", json!([{"drop": null}]))
            ]),
            true,
        ),
        (
            "a conditional drop is not a default",
            json!([
                base_chain(f, "input", "accept"),
                rule(f, "input", json!([ssh(), {"drop": null}]))
            ]),
            false,
        ),
        (
            "a rate-limited drop is not a default",
            json!([
                base_chain(f, "input", "accept"),
                rule(
                    f,
                    "input",
                    json!([{"limit": {"rate": 10, "per": "second"}}, {"drop": null}])
                )
            ]),
            false,
        ),
        (
            "reject then a later accept: the reject wins",
            json!([
                base_chain(f, "input", "accept"),
                rule(f, "input", json!([{"reject": null}])),
                rule(f, "input", json!([{"accept": null}]))
            ]),
            true,
        ),
        (
            "ufw-style: jump to a chain with a final drop",
            json!([
                base_chain(f, "input", "accept"),
                chain(f, "ufw-before-input"),
                chain(f, "ufw-user-input"),
                rule(
                    f,
                    "input",
                    json!([{"jump": {"target": "ufw-before-input"}}])
                ),
                rule(f, "ufw-before-input", json!([ssh(), {"accept": null}])),
                rule(
                    f,
                    "ufw-before-input",
                    json!([{"jump": {"target": "ufw-user-input"}}])
                ),
                rule(
                    f,
                    "ufw-before-input",
                    json!([{"counter": null}, {"drop": null}])
                ),
            ]),
            true,
        ),
        (
            "a jumped-to chain that accepts everything",
            json!([
                base_chain(f, "input", "drop"),
                chain(f, "open"),
                rule(f, "input", json!([{"jump": {"target": "open"}}])),
                rule(f, "open", json!([{"accept": null}])),
            ]),
            false,
        ),
        (
            "a return comes back to the caller",
            json!([
                base_chain(f, "input", "accept"),
                chain(f, "sub"),
                rule(f, "input", json!([{"jump": {"target": "sub"}}])),
                rule(f, "input", json!([{"drop": null}])),
                rule(f, "sub", json!([{"return": null}])),
                rule(f, "sub", json!([{"accept": null}])),
            ]),
            true,
        ),
        (
            "firewalld-style: goto a zone chain, then a final reject",
            json!([
                base_chain(f, "filter_INPUT", "accept"),
                chain(f, "filter_INPUT_ZONES"),
                chain(f, "filter_IN_public"),
                rule(
                    f,
                    "filter_INPUT",
                    json!([{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}])
                ),
                rule(
                    f,
                    "filter_INPUT",
                    json!([{"jump": {"target": "filter_INPUT_ZONES"}}])
                ),
                rule(
                    f,
                    "filter_INPUT",
                    json!([{"reject": {"type": "icmpx", "expr": "admin-prohibited"}}])
                ),
                rule(
                    f,
                    "filter_INPUT_ZONES",
                    json!([{"goto": {"target": "filter_IN_public"}}])
                ),
                rule(f, "filter_IN_public", json!([ssh(), {"accept": null}])),
            ]),
            true,
        ),
        (
            "an unknown statement before accept counts as unconditional",
            json!([
                base_chain(f, "input", "drop"),
                rule(f, "input", json!([{"frobnicate": {}}, {"accept": null}]))
            ]),
            false,
        ),
        (
            "an unknown statement before drop counts as a condition",
            json!([
                base_chain(f, "input", "accept"),
                rule(f, "input", json!([{"frobnicate": {}}, {"drop": null}]))
            ]),
            false,
        ),
        (
            "a loop of jumps ends",
            json!([
                base_chain(f, "input", "drop"),
                chain(f, "a"),
                chain(f, "b"),
                rule(f, "input", json!([{"jump": {"target": "a"}}])),
                rule(f, "a", json!([{"jump": {"target": "b"}}])),
                rule(f, "b", json!([{"jump": {"target": "a"}}])),
            ]),
            true,
        ),
        (
            "a jump to a missing chain is passed over",
            json!([
                base_chain(f, "input", "drop"),
                rule(f, "input", json!([{"jump": {"target": "gone"}}]))
            ]),
            true,
        ),
        (
            "an ip6-only drop leaves IPv4 open",
            json!([{"chain": {"family": "ip6", "table": "filter", "name": "input", "type": "filter", "hook": "input", "policy": "drop"}}]),
            false,
        ),
        (
            "a nat chain on the input hook is not a filter",
            json!([{"chain": {"family": "ip", "table": "nat", "name": "INPUT", "type": "nat", "hook": "input", "policy": "drop"}}]),
            false,
        ),
        (
            "one dropping base chain is enough (an accept is final only in its own chain)",
            json!([
                base_chain(f, "open", "accept"),
                base_chain("ip", "closed", "drop")
            ]),
            true,
        ),
    ];
    for (what, items, drops) in cases {
        let ruleset = nft(items);
        let (got, why) = verdict(&ruleset);
        assert_eq!(got, drops, "{what}: {why:?}");
    }
}

#[test]
fn iptables_cases() {
    let cases = [
        (
            "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n",
            false,
        ),
        ("-P INPUT DROP\n", true),
        (
            "-P INPUT ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT --reject-with icmp-port-unreachable\n",
            true,
        ),
        (
            "-P INPUT ACCEPT\n-A INPUT -j LOG --log-prefix \"in: \"\n-A INPUT -j DROP\n",
            true,
        ),
        ("-P INPUT ACCEPT\n-A INPUT -s 10.0.0.0/8 -j DROP\n", false),
        ("-P INPUT DROP\n-A INPUT -j ACCEPT\n", false),
        (
            "-P INPUT DROP\n-A INPUT -m comment --comment \"all of it\" -j ACCEPT\n",
            false,
        ),
        (
            "-P INPUT ACCEPT\n-N blocked\n-A INPUT -g blocked\n-A blocked -j DROP\n",
            true,
        ),
        (
            "-P INPUT ACCEPT\n-N sub\n-A INPUT -j sub\n-A sub -j RETURN\n-A INPUT -j DROP\n",
            true,
        ),
        (
            "*nat\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n",
            false,
        ),
        ("", false),
        ("iptables: Permission denied (you must be root).\n", false),
    ];
    for (text, drops) in cases {
        let (got, why) = verdict(&Ruleset::from_iptables(text, "ip"));
        assert_eq!(got, drops, "{text}: {why:?}");
    }
}

#[test]
fn nft_output_that_is_not_a_ruleset_is_an_error() {
    assert!(matches!(
        Ruleset::from_nft_json("Error: syntax error"),
        Err(RulesetError::NotJson(_))
    ));
    assert_eq!(
        Ruleset::from_nft_json("{\"other\": []}"),
        Err(RulesetError::NoList)
    );
}

#[test]
fn words_keep_quoted_comments_whole() {
    assert_eq!(
        split_words(r#"-A INPUT -m comment --comment "allow \"ssh\" in" -j ACCEPT"#),
        vec![
            "-A",
            "INPUT",
            "-m",
            "comment",
            "--comment",
            "allow \"ssh\" in",
            "-j",
            "ACCEPT"
        ]
    );
    assert_eq!(split_words(r#"--comment """#), vec!["--comment", ""]);
}
