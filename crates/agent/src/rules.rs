//! Packet filter rulesets, read from `nft -j list ruleset` or from
//! `iptables -S` / `iptables-save`, and the one question the firewall check
//! asks of them: does the input hook drop what no rule lets in?
//!
//! Both formats become the same small model (chains of rules, each rule
//! either conditional or not, with its verdict), which is then walked from
//! each input base chain the way the kernel would walk it for a packet that
//! matches no condition: unconditional jumps are followed, conditional rules
//! (allow ssh, allow established) are passed over, and the first
//! unconditional verdict, or else the chain's policy, is the answer.
//!
//! When a rule holds a statement this module does not know, it is read the
//! pessimistic way: an `accept` counts as unconditional, a `drop` as
//! conditional, so an unknown construct can turn a pass into a fail but
//! never the reverse.

use std::collections::HashMap;

use serde_json::Value;

/// What a rule does to a packet that reaches it and matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Reject,
    Return,
    Jump(String),
    Goto(String),
}

/// Whether a rule applies to every packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// No condition: every packet that reaches the rule matches it.
    None,
    /// A real match (address, port, interface, state, rate, ...).
    Some,
    /// A statement this module does not know; see the module doc.
    Unclear,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub condition: Condition,
    /// `None` for rules that only count, log or mark.
    pub verdict: Option<Verdict>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// `inet`, `ip`, `ip6`, ... (iptables: `ip`).
    pub family: String,
    pub table: String,
    pub name: String,
    /// Base chains only: the hook (`input`, `forward`, ...).
    pub hook: Option<String>,
    /// Base chains only: `filter`, `nat`, `route`.
    pub kind: Option<String>,
    /// Base chains only: `accept` or `drop`.
    pub policy: Option<String>,
    pub rules: Vec<Rule>,
}

/// A whole ruleset, from either tool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub chains: Vec<Chain>,
}

/// Why a ruleset could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesetError {
    #[error("nft printed something that is not its JSON ruleset: {0}")]
    NotJson(String),
    #[error("nft's JSON has no `nftables` list")]
    NoList,
}

/// How one input base chain treats a packet that no condition matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputChain {
    /// "table inet filter, chain input".
    pub chain: String,
    /// Whether such a packet is dropped or rejected.
    pub drops: bool,
    /// Why, in words: "its policy is drop", "an unconditional reject in
    /// chain ufw-before-input".
    pub why: String,
}

/// How deep jumps are followed (the kernel allows 16 levels).
const MAX_DEPTH: usize = 32;

impl Ruleset {
    /// `nft -j list ruleset`.
    pub fn from_nft_json(text: &str) -> Result<Self, RulesetError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| RulesetError::NotJson(e.to_string()))?;
        let items = value
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or(RulesetError::NoList)?;
        let mut ruleset = Ruleset::default();
        let mut index: HashMap<(String, String, String), usize> = HashMap::new();
        let text_of = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        for item in items {
            if let Some(chain) = item.get("chain") {
                let (Some(family), Some(table), Some(name)) = (
                    text_of(chain, "family"),
                    text_of(chain, "table"),
                    text_of(chain, "name"),
                ) else {
                    continue;
                };
                index.insert(
                    (family.clone(), table.clone(), name.clone()),
                    ruleset.chains.len(),
                );
                ruleset.chains.push(Chain {
                    family,
                    table,
                    name,
                    hook: text_of(chain, "hook"),
                    kind: text_of(chain, "type"),
                    policy: text_of(chain, "policy"),
                    rules: Vec::new(),
                });
            } else if let Some(rule) = item.get("rule") {
                let (Some(family), Some(table), Some(name)) = (
                    text_of(rule, "family"),
                    text_of(rule, "table"),
                    text_of(rule, "chain"),
                ) else {
                    continue;
                };
                let Some(&at) = index.get(&(family, table, name)) else {
                    continue;
                };
                let exprs = rule
                    .get("expr")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                if let Some(chain) = ruleset.chains.get_mut(at) {
                    chain.rules.push(nft_rule(exprs));
                }
            }
        }
        Ok(ruleset)
    }

    /// `iptables -S [CHAIN]` or `iptables-save` (only the filter table is
    /// read). `family` is `ip` for iptables, `ip6` for ip6tables.
    pub fn from_iptables(text: &str, family: &str) -> Self {
        let mut ruleset = Ruleset::default();
        let mut table = "filter".to_owned();
        let chain_at = |ruleset: &mut Ruleset, name: &str| -> usize {
            if let Some(at) = ruleset.chains.iter().position(|c| c.name == name) {
                return at;
            }
            let builtin = matches!(name, "INPUT" | "FORWARD" | "OUTPUT");
            ruleset.chains.push(Chain {
                family: family.to_owned(),
                table: "filter".to_owned(),
                name: name.to_owned(),
                hook: builtin.then(|| name.to_ascii_lowercase()),
                kind: builtin.then(|| "filter".to_owned()),
                policy: None,
                rules: Vec::new(),
            });
            ruleset.chains.len() - 1
        };
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('*') {
                name.trim().clone_into(&mut table);
                continue;
            }
            if table != "filter" || line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split_words(line);
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            match words.as_slice() {
                ["-P", name, policy, ..] => {
                    let at = chain_at(&mut ruleset, name);
                    ruleset.chains[at].policy = Some(policy.to_ascii_lowercase());
                }
                ["-N", name, ..] => {
                    chain_at(&mut ruleset, name);
                }
                ["-A", name, rest @ ..] => {
                    let at = chain_at(&mut ruleset, name);
                    ruleset.chains[at].rules.push(iptables_rule(rest));
                }
                [declaration, policy, ..] if declaration.starts_with(':') => {
                    let at = chain_at(&mut ruleset, &declaration[1..]);
                    if *policy != "-" {
                        ruleset.chains[at].policy = Some(policy.to_ascii_lowercase());
                    }
                }
                _ => {}
            }
        }
        ruleset
    }

    /// Every input base chain of type filter for IPv4 (families `ip` and
    /// `inet`), with what it does to a packet no condition matches.
    pub fn input_chains(&self) -> Vec<InputChain> {
        self.chains
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.hook.as_deref() == Some("input")
                    && c.kind.as_deref().unwrap_or("filter") == "filter"
                    && matches!(c.family.as_str(), "ip" | "inet")
            })
            .map(|(at, chain)| {
                let label = format!(
                    "table {} {}, chain {}",
                    chain.family, chain.table, chain.name
                );
                let (drops, why) = match self.walk(at, 0) {
                    Walk::Ends { drops, why } => (drops, why),
                    Walk::FallsThrough => {
                        let policy = chain.policy.as_deref().unwrap_or("accept");
                        (
                            matches!(policy, "drop" | "reject"),
                            format!("its policy is {policy}"),
                        )
                    }
                };
                InputChain {
                    chain: label,
                    drops,
                    why,
                }
            })
            .collect()
    }

    fn find(&self, near: &Chain, name: &str) -> Option<usize> {
        self.chains
            .iter()
            .position(|c| c.family == near.family && c.table == near.table && c.name == name)
    }

    /// Follows chain `at` for a packet that matches no condition.
    fn walk(&self, at: usize, depth: usize) -> Walk {
        let Some(chain) = self.chains.get(at) else {
            return Walk::FallsThrough;
        };
        if depth > MAX_DEPTH {
            return Walk::FallsThrough;
        }
        for rule in &chain.rules {
            let Some(verdict) = &rule.verdict else {
                continue;
            };
            let applies = match rule.condition {
                Condition::None => true,
                Condition::Some => false,
                // The pessimistic reading: see the module doc.
                Condition::Unclear => matches!(
                    verdict,
                    Verdict::Accept | Verdict::Jump(_) | Verdict::Goto(_)
                ),
            };
            if !applies {
                continue;
            }
            let ends = |drops: bool, what: &str| Walk::Ends {
                drops,
                why: format!("an unconditional {what} in chain {}", chain.name),
            };
            match verdict {
                Verdict::Accept => return ends(false, "accept"),
                Verdict::Drop => return ends(true, "drop"),
                Verdict::Reject => return ends(true, "reject"),
                Verdict::Return => return Walk::FallsThrough,
                Verdict::Jump(target) => {
                    if let Some(next) = self.find(chain, target)
                        && let ends @ Walk::Ends { .. } = self.walk(next, depth + 1)
                    {
                        return ends;
                    }
                }
                Verdict::Goto(target) => {
                    if let Some(next) = self.find(chain, target) {
                        return self.walk(next, depth + 1);
                    }
                }
            }
        }
        Walk::FallsThrough
    }
}

enum Walk {
    Ends { drops: bool, why: String },
    FallsThrough,
}

/// One nft rule from its statements.
fn nft_rule(exprs: &[Value]) -> Rule {
    let mut condition = Condition::None;
    let mut verdict = None;
    let mut worsen = |c: Condition| {
        condition = match (condition, c) {
            (Condition::Some, _) | (_, Condition::Some) => Condition::Some,
            (Condition::Unclear, _) | (_, Condition::Unclear) => Condition::Unclear,
            _ => Condition::None,
        };
    };
    for expr in exprs {
        let Some((key, body)) = expr.as_object().and_then(|o| o.iter().next()) else {
            worsen(Condition::Unclear);
            continue;
        };
        let target = || {
            body.get("target")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match key.as_str() {
            "accept" => verdict = Some(Verdict::Accept),
            "drop" => verdict = Some(Verdict::Drop),
            "reject" => verdict = Some(Verdict::Reject),
            "return" => verdict = Some(Verdict::Return),
            "jump" => verdict = Some(Verdict::Jump(target())),
            "goto" => verdict = Some(Verdict::Goto(target())),
            // Statements that neither match nor decide.
            "counter" | "log" | "mangle" | "notrack" | "continue" => {}
            // Conditions: matches, rate limits, quotas, verdict maps (only
            // the listed keys get their verdict), set lookups.
            "match" | "limit" | "quota" | "vmap" | "meter" | "ct count" | "connlimit" => {
                worsen(Condition::Some);
            }
            "xt" => {
                let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
                let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
                match (kind, name) {
                    ("match", "comment") => {}
                    ("match", _) => worsen(Condition::Some),
                    ("target", "REJECT") => verdict = Some(Verdict::Reject),
                    ("target", "DROP") => verdict = Some(Verdict::Drop),
                    ("target", "ACCEPT") => verdict = Some(Verdict::Accept),
                    ("target", _) => {}
                    _ => worsen(Condition::Unclear),
                }
            }
            _ => worsen(Condition::Unclear),
        }
    }
    Rule { condition, verdict }
}

/// One iptables rule from the words after `-A CHAIN`.
fn iptables_rule(words: &[&str]) -> Rule {
    let mut condition = Condition::None;
    let mut verdict = None;
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "-j" | "--jump" | "-g" | "--goto" => {
                let goto = matches!(words[i], "-g" | "--goto");
                let target = words.get(i + 1).copied().unwrap_or_default();
                verdict = match target {
                    "ACCEPT" => Some(Verdict::Accept),
                    "DROP" => Some(Verdict::Drop),
                    "REJECT" => Some(Verdict::Reject),
                    "RETURN" => Some(Verdict::Return),
                    // Targets that only log or mark let the packet go on.
                    "LOG" | "NFLOG" | "ULOG" | "MARK" | "CONNMARK" | "AUDIT" | "TRACE" => None,
                    chain if goto => Some(Verdict::Goto(chain.to_owned())),
                    chain => Some(Verdict::Jump(chain.to_owned())),
                };
                // What follows the target are the target's own options.
                break;
            }
            "-m" | "--match" if words.get(i + 1) == Some(&"comment") => i += 2,
            "--comment" => i += 2,
            // Counters (`iptables -S -v`, `iptables-save -c`).
            "-c" | "--set-counters" => i += 3,
            _ => {
                condition = Condition::Some;
                i += 1;
            }
        }
    }
    Rule { condition, verdict }
}

/// Splits a line of `iptables -S` into words, keeping double-quoted words
/// (comments) whole.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests;
