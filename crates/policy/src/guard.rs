//! Guards: the leading conditions of a policy that the engine checks
//! itself before asking Cedar, to leave out the policies that cannot apply
//! to a request.
//!
//! Cedar evaluates a policy's condition (its scope, then its `when` and
//! `unless` clauses in order) with `&&`, left to right, stopping at the
//! first `false`. A leading conjunct that is `false` for a request, and
//! whose evaluation cannot raise an error, makes the policy neither
//! satisfied nor in error: leaving it out of the set changes neither the
//! decision nor its explanation. The guard holds those leading conjuncts
//! that are made only of what [`Facts`] knows and of operations that
//! cannot fail on values the strict validator allows (comparisons, `like`,
//! `contains`, `has`, `is`, `isInRange` with a literal range, `!`, `&&`,
//! `||`). It stops at the first conjunct of another shape, since what
//! comes after it may not be reached. Any value of an unexpected type
//! makes the answer unknown, and unknown keeps the policy.
//!
//! The differential property test (`slices_decide_like_the_whole_policy_set`)
//! checks that decisions with guards equal Cedar's with every policy.

use std::net::IpAddr;

use serde_json::Value as Json;

use crate::facts::{Facts, Value, Var};

/// The conjuncts of a policy's condition that the engine can check, in
/// evaluation order. Empty: the policy is always put to Cedar.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Guard(Vec<Cond>);

#[derive(Clone, Debug, PartialEq)]
enum Cond {
    /// A Boolean term: a literal or an attribute.
    Term(Term),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Compare(Op, Term, Term),
    Like(Term, Vec<Pattern>),
    Contains(Term, Term),
    /// `var is Type`.
    Is(Var, String),
    /// `context has client`: the only optional attribute.
    HasClient,
    /// `term.isInRange(ip("literal"))`.
    InRange(Term, Network),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Term {
    Literal(Literal),
    Attr(Var, String),
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Bool(bool),
    Long(i64),
    Str(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pattern {
    Char(char),
    Wildcard,
}

/// An address range: the address and the prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Guard {
    /// The guard of a policy, from its JSON form (Cedar's EST).
    /// `valid_ip` says whether Cedar accepts a text as an `ip(...)`
    /// argument; a range Cedar would refuse is not checked here.
    pub(crate) fn of_json(policy: &Json, valid_ip: &dyn Fn(&str) -> bool) -> Guard {
        let mut conjuncts = Vec::new();
        let Some(conditions) = policy.get("conditions").and_then(Json::as_array) else {
            return Guard(conjuncts);
        };
        for condition in conditions {
            let Some(body) = condition.get("body") else {
                break;
            };
            let parts: Vec<Option<Cond>> = match condition.get("kind").and_then(Json::as_str) {
                Some("when") => {
                    let mut parts = Vec::new();
                    flatten_and(body, &mut parts);
                    parts.into_iter().map(|p| cond(p, valid_ip)).collect()
                }
                Some("unless") => vec![cond(body, valid_ip).map(|c| Cond::Not(Box::new(c)))],
                _ => vec![None],
            };
            for part in parts {
                match part {
                    Some(c) => conjuncts.push(c),
                    None => return Guard(conjuncts),
                }
            }
        }
        Guard(conjuncts)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the policy certainly does not apply to the request: one of
    /// the guard's conjuncts is false, and those before it true.
    pub(crate) fn rules_out(&self, facts: &Facts<'_>) -> bool {
        for conjunct in &self.0 {
            match conjunct.eval(facts) {
                Some(true) => {}
                Some(false) => return true,
                None => return false,
            }
        }
        false
    }
}

/// The operands of `a && b && ...`, in evaluation order.
fn flatten_and<'a>(expr: &'a Json, out: &mut Vec<&'a Json>) {
    match binary(expr, "&&") {
        Some((left, right)) => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        None => out.push(expr),
    }
}

/// `{"op": {"left": l, "right": r}}` as the only key.
fn binary<'a>(expr: &'a Json, op: &str) -> Option<(&'a Json, &'a Json)> {
    let inner = only(expr, op)?;
    Some((inner.get("left")?, inner.get("right")?))
}

/// The value under `key` when it is the object's only key.
fn only<'a>(expr: &'a Json, key: &str) -> Option<&'a Json> {
    let object = expr.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.get(key)
}

fn cond(expr: &Json, valid_ip: &dyn Fn(&str) -> bool) -> Option<Cond> {
    let object = expr.as_object()?;
    let (key, _) = object.iter().next().filter(|_| object.len() == 1)?;
    let both = |op: &str| -> Option<(Cond, Cond)> {
        let (l, r) = binary(expr, op)?;
        Some((cond(l, valid_ip)?, cond(r, valid_ip)?))
    };
    let compare = |op: Op, name: &str| -> Option<Cond> {
        let (l, r) = binary(expr, name)?;
        Some(Cond::Compare(op, term(l)?, term(r)?))
    };
    match key.as_str() {
        "Value" | "." => term(expr).map(Cond::Term),
        "!" => Some(Cond::Not(Box::new(cond(
            only(expr, "!")?.get("arg")?,
            valid_ip,
        )?))),
        "&&" => both("&&").map(|(l, r)| Cond::And(Box::new(l), Box::new(r))),
        "||" => both("||").map(|(l, r)| Cond::Or(Box::new(l), Box::new(r))),
        "==" => compare(Op::Eq, "=="),
        "!=" => compare(Op::Ne, "!="),
        "<" => compare(Op::Lt, "<"),
        "<=" => compare(Op::Le, "<="),
        ">" => compare(Op::Gt, ">"),
        ">=" => compare(Op::Ge, ">="),
        "contains" => {
            let (l, r) = binary(expr, "contains")?;
            Some(Cond::Contains(term(l)?, term(r)?))
        }
        "like" => {
            let inner = only(expr, "like")?;
            if inner.as_object()?.len() != 2 {
                return None;
            }
            Some(Cond::Like(
                term(inner.get("left")?)?,
                pattern(inner.get("pattern")?)?,
            ))
        }
        "is" => {
            let inner = only(expr, "is")?;
            // `is ... in ...` is left to Cedar.
            if inner.as_object()?.len() != 2 {
                return None;
            }
            let var = var(inner.get("left")?)?;
            let ty = inner.get("entity_type")?.as_str()?;
            Some(Cond::Is(var, ty.to_owned()))
        }
        "has" => {
            let inner = only(expr, "has")?;
            let on_context = var(inner.get("left")?)? == Var::Context;
            let client = inner.get("attr")?.as_str()? == "client";
            (on_context && client && inner.as_object()?.len() == 2).then_some(Cond::HasClient)
        }
        "isInRange" => {
            let args = only(expr, "isInRange")?.as_array()?;
            let [receiver, range] = args.as_slice() else {
                return None;
            };
            let text = only(range, "ip")?.as_array()?;
            let [literal] = text.as_slice() else {
                return None;
            };
            let text = only(literal, "Value")?.as_str()?;
            if !valid_ip(text) {
                return None;
            }
            Some(Cond::InRange(term(receiver)?, network(text)?))
        }
        _ => None,
    }
}

fn var(expr: &Json) -> Option<Var> {
    match only(expr, "Var")?.as_str()? {
        "principal" => Some(Var::Principal),
        "resource" => Some(Var::Resource),
        "context" => Some(Var::Context),
        _ => None,
    }
}

fn term(expr: &Json) -> Option<Term> {
    if let Some(value) = only(expr, "Value") {
        return Some(Term::Literal(match value {
            Json::Bool(b) => Literal::Bool(*b),
            Json::Number(n) => Literal::Long(n.as_i64()?),
            Json::String(s) => Literal::Str(s.clone()),
            _ => return None,
        }));
    }
    let dot = only(expr, ".")?;
    if dot.as_object()?.len() != 2 {
        return None;
    }
    Some(Term::Attr(
        var(dot.get("left")?)?,
        dot.get("attr")?.as_str()?.to_owned(),
    ))
}

fn pattern(json: &Json) -> Option<Vec<Pattern>> {
    let mut out = Vec::new();
    for element in json.as_array()? {
        match element {
            Json::String(s) if s == "Wildcard" => out.push(Pattern::Wildcard),
            _ => out.extend(
                only(element, "Literal")?
                    .as_str()?
                    .chars()
                    .map(Pattern::Char),
            ),
        }
    }
    Some(out)
}

/// `a.b.c.d/n`, `a::b/n`, or a single address.
fn network(text: &str) -> Option<Network> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix)),
        None => (text, None),
    };
    let address: IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
        None => max,
    };
    (prefix <= max).then_some(Network { address, prefix })
}

impl Network {
    /// Whether `ip` (a single address) lies in the range; `None` when the
    /// families differ.
    fn holds(&self, ip: IpAddr) -> Option<bool> {
        let bits = |a: IpAddr| match a {
            IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
            IpAddr::V6(v6) => u128::from(v6),
        };
        if ip.is_ipv4() != self.address.is_ipv4() {
            return None;
        }
        let prefix = u32::from(self.prefix);
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        Some(bits(ip) & mask == bits(self.address) & mask)
    }
}

impl Term {
    fn value<'r>(&self, facts: &Facts<'r>) -> Option<Value<'r>> {
        match self {
            Term::Literal(Literal::Bool(b)) => Some(Value::Bool(*b)),
            Term::Literal(Literal::Long(n)) => Some(Value::Long(*n)),
            // Literals are few and short; a copy per check is cheaper than
            // a lifetime through every value.
            Term::Literal(Literal::Str(s)) => Some(Value::Str(s.clone().into())),
            Term::Attr(var, name) => facts.get(*var, name),
        }
    }

    /// Compares without copying literal strings.
    fn equals(&self, other: &Term, facts: &Facts<'_>) -> Option<bool> {
        match (self, other) {
            (Term::Literal(Literal::Str(lit)), attr @ Term::Attr(..))
            | (attr @ Term::Attr(..), Term::Literal(Literal::Str(lit))) => {
                match attr.value(facts)? {
                    Value::Str(s) => Some(*s == **lit),
                    _ => None,
                }
            }
            _ => match (self.value(facts)?, other.value(facts)?) {
                (Value::Bool(a), Value::Bool(b)) => Some(a == b),
                (Value::Long(a), Value::Long(b)) => Some(a == b),
                (Value::Str(a), Value::Str(b)) => Some(a == b),
                _ => None,
            },
        }
    }
}

impl Cond {
    /// The condition's value for the request, or `None` when the guard
    /// cannot tell (Cedar will).
    fn eval(&self, facts: &Facts<'_>) -> Option<bool> {
        match self {
            Cond::Term(t) => match t.value(facts)? {
                Value::Bool(b) => Some(b),
                _ => None,
            },
            Cond::Not(c) => c.eval(facts).map(|b| !b),
            Cond::And(l, r) => match l.eval(facts)? {
                false => Some(false),
                true => r.eval(facts),
            },
            Cond::Or(l, r) => match l.eval(facts)? {
                true => Some(true),
                false => r.eval(facts),
            },
            Cond::Compare(Op::Eq, l, r) => l.equals(r, facts),
            Cond::Compare(Op::Ne, l, r) => l.equals(r, facts).map(|b| !b),
            Cond::Compare(op, l, r) => match (l.value(facts)?, r.value(facts)?) {
                (Value::Long(a), Value::Long(b)) => Some(match op {
                    Op::Lt => a < b,
                    Op::Le => a <= b,
                    Op::Gt => a > b,
                    Op::Ge => a >= b,
                    Op::Eq | Op::Ne => return None,
                }),
                _ => None,
            },
            Cond::Like(t, pattern) => match t.value(facts)? {
                Value::Str(s) => Some(like(&s, pattern)),
                _ => None,
            },
            Cond::Contains(set, item) => match (set.value(facts)?, item) {
                (Value::Categories(cs), Term::Literal(Literal::Str(name))) => {
                    Some(cs.iter().any(|c| c.as_str() == name))
                }
                (Value::Categories(cs), item) => match item.value(facts)? {
                    Value::Str(name) => Some(cs.iter().any(|c| c.as_str() == name)),
                    _ => None,
                },
                _ => None,
            },
            Cond::Is(var, ty) => facts.type_name(*var).map(|t| t == ty),
            Cond::HasClient => Some(facts.get(Var::Context, "client").is_some()),
            Cond::InRange(t, network) => match t.value(facts)? {
                Value::Ip(ip) => network.holds(ip),
                _ => None,
            },
        }
    }
}

/// Cedar's `like`: `*` matches any run of characters (possibly none).
fn like(text: &str, pattern: &[Pattern]) -> bool {
    let text: Vec<char> = text.chars().collect();
    // The classic two-pointer match with one backtrack point: linear
    // unless there are many wildcards.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Pattern::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Pattern::Wildcard) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|e| *e == Pattern::Wildcard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(text: &str) -> Vec<Pattern> {
        text.chars()
            .map(|c| {
                if c == '*' {
                    Pattern::Wildcard
                } else {
                    Pattern::Char(c)
                }
            })
            .collect()
    }

    #[test]
    fn like_matches_as_cedar_does() {
        for (text, pattern, expected) in [
            ("private-1/a.pdf", "private-1/*", true),
            ("private-12/a.pdf", "private-1/*", false),
            ("", "*", true),
            ("", "", true),
            ("a", "", false),
            ("abc", "a*c", true),
            ("ac", "a*c", true),
            ("abcb", "a*b", true),
            ("abcd", "a*b", false),
            ("aXbXc", "*b*c", true),
            ("invoices/2026/q3.pdf", "invoices/*/q*.pdf", true),
            ("invoices/q3.pdf", "invoices/*/q*.pdf", false),
            ("é/x", "é/*", true),
        ] {
            assert_eq!(like(text, &pat(pattern)), expected, "{text} like {pattern}");
        }
    }

    /// How many leading conjuncts of the policy's condition the guard
    /// holds.
    fn checked(policy: &str) -> usize {
        let policy: cedar_policy::Policy = policy.parse().unwrap();
        Guard::of_json(&policy.to_json().unwrap(), &|text| network(text).is_some())
            .0
            .len()
    }

    #[test]
    fn guards_hold_the_leading_conditions_they_can_check() {
        for (policy, expected) in [
            (
                r#"forbid (principal, action, resource) when { principal.role == "vendor"
                   && resource.folder like "a/*" && context.now * 2 > 0 && context.device_ok };"#,
                2,
            ),
            (
                r#"forbid (principal, action, resource) when { context.granted }
                   unless { context.device_ok || !context.passcode_ok };"#,
                2,
            ),
            (
                r#"forbid (principal, action, resource) when { context has client
                   && context.client.isInRange(ip("10.0.0.0/8")) && 2 <= resource.label_level };"#,
                3,
            ),
            (
                r#"forbid (principal, action, resource) when { context has client
                   && context.client.isInRange(ip("10.0.0.0/40")) };"#,
                1,
            ),
            (
                r#"forbid (principal, action, resource) when { resource is Column
                   && resource.categories.contains("phone") && resource has column };"#,
                2,
            ),
            (
                r#"forbid (principal, action, resource)
                   when { resource in RecordSet::"x" && context.device_ok };"#,
                0,
            ),
            (
                r#"forbid (principal, action, resource)
                   when { resource is Column in RecordSet::"x" };"#,
                0,
            ),
            (
                r#"forbid (principal, action, resource)
                   when { resource == Document::"x" } when { context.device_ok };"#,
                0,
            ),
            (
                r#"forbid (principal, action, resource)
                   when { context.grant_ids.containsAny(["a"]) && context.device_ok };"#,
                0,
            ),
            ("forbid (principal, action, resource);", 0),
        ] {
            assert_eq!(checked(policy), expected, "{policy}");
        }
    }

    #[test]
    fn networks_hold_their_addresses() {
        let net = network("198.51.7.0/24").unwrap();
        assert_eq!(net.holds("198.51.7.200".parse().unwrap()), Some(true));
        assert_eq!(net.holds("198.51.8.1".parse().unwrap()), Some(false));
        assert_eq!(net.holds("::1".parse().unwrap()), None);
        let host = network("10.0.0.5").unwrap();
        assert_eq!(host.holds("10.0.0.5".parse().unwrap()), Some(true));
        assert_eq!(host.holds("10.0.0.6".parse().unwrap()), Some(false));
        let all = network("0.0.0.0/0").unwrap();
        assert_eq!(all.holds("203.0.113.9".parse().unwrap()), Some(true));
        let v6 = network("2001:db8::/32").unwrap();
        assert_eq!(v6.holds("2001:db8:1::1".parse().unwrap()), Some(true));
        assert_eq!(v6.holds("2001:db9::1".parse().unwrap()), Some(false));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "::/129", "nope"] {
            assert_eq!(network(bad), None, "{bad}");
        }
    }
}
