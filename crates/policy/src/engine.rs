//! The decision engine: the schema and policy set built once, then one
//! Cedar evaluation per request.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use cedar_policy as cedar;
use cedar_policy::{
    ActionConstraint, Effect, EntityTypeName, EntityUid, PolicyId, ResourceConstraint,
    RestrictedExpression,
};
use confidant_core::{Access, DataCategory, Grant, Label, Role};
use miette::Diagnostic;

use crate::decision::{self, Decision, EVALUATION_FAILED, Reason, grant_words};
use crate::err::{Location, PolicyError};
use crate::facts::{
    CONTEXT_ATTRS, Facts, PERSON_ATTRS, Value, Var, item_attr, item_attrs, person_attr,
};
use crate::guard::Guard;
use crate::request::{Item, Request};

/// The Cedar schema every policy is validated against.
pub const SCHEMA: &str = include_str!("schema.cedarschema");

/// The need-to-know policies that ship with confidant.
pub const DEFAULT_POLICIES: &str = include_str!("default.cedar");

/// The longest owner policy text accepted. Fifty policies of a few lines
/// each take about 10 KiB.
pub const MAX_OWNER_POLICY_BYTES: usize = 64 * 1024;

/// The deepest bracket nesting accepted in policy text. Cedar's parser
/// recurses on nesting (200 levels overflow a 2 MiB thread stack); real
/// conditions stay far below this.
pub const MAX_NESTING: usize = 20;

/// The most operators (`&&`, `||`, comparisons, arithmetic, `.`, `in`,
/// `has`, `like`, `is`, `if`) accepted in one policy. Together with
/// [`MAX_NESTING`] this bounds how deep a condition can be, well below the
/// depth where Cedar's validator stops checking (about 120 on a 2 MiB
/// stack in a debug build).
pub const MAX_OPERATORS: usize = 80;

/// Where a policy comes from, and how explanations word it.
#[derive(Clone, Debug)]
struct Note {
    /// Position among all policies (defaults first), to order reasons.
    order: usize,
    /// The `@reason("...")` annotation, if any.
    reason: Option<String>,
    /// Whether the policy may read `context.client` (its attribute names,
    /// escapes resolved, include "client").
    uses_client: bool,
    /// The roles the policy can apply to at all.
    roles: RoleGuard,
    /// The leading conditions the engine checks itself, per request.
    guard: Arc<Guard>,
}

/// What a policy's condition says of the person's role before anything
/// else: the leading conjuncts of its first `when` clause that compare
/// `principal.role` with a string (`==`, `!=`, or an `||` of `==`s).
/// Such a comparison cannot fail (the
/// schema requires `role`), and Cedar evaluates `&&` left to right and
/// stops at the first `false`, so when one of them is false for a role the
/// policy is not satisfied (and raises no error) for anyone of that role.
/// A conjunct of another shape ends the prefix: what comes after it may
/// not be reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct RoleGuard {
    /// `principal.role == "x"` (or `== "x" || == "y"`): only these roles.
    only: Option<BTreeSet<String>>,
    /// `principal.role != "x"`: never these.
    not: BTreeSet<String>,
}

impl RoleGuard {
    fn of_json(policy: &serde_json::Value) -> RoleGuard {
        let mut guard = RoleGuard::default();
        let Some(first) = policy
            .get("conditions")
            .and_then(|c| c.as_array())
            .and_then(|c| c.first())
        else {
            return guard;
        };
        if first.get("kind").and_then(|k| k.as_str()) != Some("when") {
            return guard;
        }
        let mut conjuncts = Vec::new();
        if let Some(body) = first.get("body") {
            flatten(body, "&&", &mut conjuncts);
        }
        for conjunct in conjuncts {
            if let Some((false, role)) = role_comparison(conjunct) {
                guard.not.insert(role);
                continue;
            }
            let mut disjuncts = Vec::new();
            flatten(conjunct, "||", &mut disjuncts);
            let Some(roles) = disjuncts
                .into_iter()
                .map(|d| match role_comparison(d) {
                    Some((true, role)) => Some(role),
                    _ => None,
                })
                .collect::<Option<BTreeSet<String>>>()
            else {
                break;
            };
            // `role == "a" && role == "b"` leaves nobody.
            guard.only = Some(match guard.only.take() {
                Some(only) => only.intersection(&roles).cloned().collect(),
                None => roles,
            });
        }
        guard
    }

    fn admits(&self, role: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.contains(role)) && !self.not.contains(role)
    }
}

/// The operands of `a && b && ...` (`op` "&&") or `a || b || ...` (`op`
/// "||") in evaluation order.
fn flatten<'a>(expr: &'a serde_json::Value, op: &str, out: &mut Vec<&'a serde_json::Value>) {
    match expr.get(op).map(|o| (o.get("left"), o.get("right"))) {
        Some((Some(left), Some(right))) if expr.as_object().is_some_and(|o| o.len() == 1) => {
            flatten(left, op, out);
            flatten(right, op, out);
        }
        _ => out.push(expr),
    }
}

/// `principal.role == "x"` (true, x) or `principal.role != "x"` (false,
/// x), either side.
fn role_comparison(expr: &serde_json::Value) -> Option<(bool, String)> {
    let (equal, operands) = match (expr.get("=="), expr.get("!=")) {
        (Some(op), None) => (true, op),
        (None, Some(op)) => (false, op),
        _ => return None,
    };
    let object = expr.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let is_role = |e: &serde_json::Value| {
        e.get(".").is_some_and(|dot| {
            dot.get("attr").and_then(|a| a.as_str()) == Some("role")
                && dot
                    .get("left")
                    .and_then(|l| l.get("Var"))
                    .and_then(|v| v.as_str())
                    == Some("principal")
        })
    };
    let literal =
        |e: &serde_json::Value| e.get("Value").and_then(|v| v.as_str()).map(str::to_owned);
    let (left, right) = (operands.get("left")?, operands.get("right")?);
    if is_role(left) {
        literal(right).map(|role| (equal, role))
    } else if is_role(right) {
        literal(left).map(|role| (equal, role))
    } else {
        None
    }
}

/// The policies that can apply to one action on one kind of item by a
/// person of one role: those whose scope (`action == ...`, `resource is
/// ...`) and role guard ([`RoleGuard`]) admit it. Cedar
/// evaluates every policy of a set, scope first; leaving out the policies
/// whose scope can never match changes no decision and saves their cost.
/// Per request, the policies whose [`Guard`] rules them out are left out
/// too, for the same reason.
#[derive(Clone, Debug)]
struct Slice {
    /// Its place in [`Engine::slices`].
    index: usize,
    members: Vec<Member>,
    /// Every member: the set when no guard rules anything out.
    all: Arc<Subset>,
}

#[derive(Clone, Debug)]
struct Member {
    policy: cedar::Policy,
    guard: Arc<Guard>,
    uses_client: bool,
}

/// Policies to put to Cedar for one request.
#[derive(Debug)]
struct Subset {
    policies: cedar::PolicySet,
    /// Whether any of them reads `context.client`; if none does, the
    /// address is left out of the context (it cannot change the answer).
    uses_client: bool,
}

/// Policy sets by slice and the members left out, so that a set is built
/// once: the same few combinations come back request after request.
/// Bounded, for every slice together: cleared when full (a set holds at
/// most the policies of one slice, so the cache stays within a few MiB).
#[derive(Clone, Debug, Default)]
struct SubsetCache(Arc<RwLock<HashMap<SubsetKey, Arc<Subset>>>>);

/// A slice's index, and a bit per member of the slice, set when its guard
/// ruled it out.
type SubsetKey = (usize, Box<[u64]>);

impl SubsetCache {
    const MAX: usize = 512;
}

impl Slice {
    fn new(index: usize, members: Vec<Member>) -> Result<Slice, String> {
        let all = Slice::subset(members.iter())?;
        Ok(Slice {
            index,
            members,
            all: Arc::new(all),
        })
    }

    fn subset<'m>(members: impl Iterator<Item = &'m Member>) -> Result<Subset, String> {
        let mut subset = Subset {
            policies: cedar::PolicySet::new(),
            uses_client: false,
        };
        for member in members {
            subset.uses_client |= member.uses_client;
            subset
                .policies
                .add(member.policy.clone())
                .map_err(|e| e.to_string())?;
        }
        Ok(subset)
    }

    /// The members that may apply to the request: those no guard rules
    /// out.
    fn for_request(&self, facts: &Facts<'_>, cache: &SubsetCache) -> Result<Arc<Subset>, String> {
        let mut out: Vec<u64> = Vec::new();
        for (n, member) in self.members.iter().enumerate() {
            if !member.guard.is_empty() && member.guard.rules_out(facts) {
                if out.is_empty() {
                    out = vec![0; self.members.len().div_ceil(64)];
                }
                out[n / 64] |= 1 << (n % 64);
            }
        }
        if out.is_empty() {
            return Ok(Arc::clone(&self.all));
        }
        let key = (self.index, out.into_boxed_slice());
        if let Some(found) = cache.0.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(found);
        }
        let kept = self
            .members
            .iter()
            .enumerate()
            .filter(|(n, _)| key.1[n / 64] & (1 << (n % 64)) == 0)
            .map(|(_, m)| m);
        let subset = Arc::new(Slice::subset(kept)?);
        if let Ok(mut map) = cache.0.write() {
            if map.len() >= SubsetCache::MAX {
                map.clear();
            }
            map.insert(key, Arc::clone(&subset));
        }
        Ok(subset)
    }
}

/// Whether Cedar accepts `text` as the argument of `ip(...)`.
fn cedar_accepts_ip(text: &str) -> bool {
    cedar::Context::from_pairs([("ip".to_owned(), RestrictedExpression::new_ip(text))]).is_ok()
}

/// The kinds of item, in the order of [`Engine::slices`]' rows.
const ITEM_KINDS: usize = 3;

/// The roles, in the order of [`Engine::slices`]' columns.
const ROLES: usize = Role::ALL.len();

fn slice_index(access: Access, item: &Item<'_>, role: Role) -> usize {
    slice_index_raw(access, kind_index(item), role)
}

fn slice_index_raw(access: Access, kind: usize, role: Role) -> usize {
    let role = Role::ALL
        .iter()
        .position(|r| *r == role)
        .unwrap_or_default();
    (action_index(access) * ITEM_KINDS + kind) * ROLES + role
}

fn kind_index(item: &Item<'_>) -> usize {
    match item {
        Item::Document { .. } => 0,
        Item::RecordSet { .. } => 1,
        Item::Column { .. } => 2,
    }
}

fn action_index(access: Access) -> usize {
    Access::ALL
        .iter()
        .position(|a| *a == access)
        .unwrap_or_default()
}

/// Client addresses as Cedar `ip(...)` values. Making one parses the name
/// `ip` with Cedar's parser (a few microseconds), so each address is made
/// once. Bounded: cleared when full.
#[derive(Clone, Debug, Default)]
struct IpCache(Arc<RwLock<HashMap<IpAddr, RestrictedExpression>>>);

impl IpCache {
    const MAX: usize = 4_096;

    fn get(&self, ip: IpAddr) -> RestrictedExpression {
        if let Some(found) = self.0.read().ok().and_then(|m| m.get(&ip).cloned()) {
            return found;
        }
        let made = RestrictedExpression::new_ip(ip.to_string());
        if let Ok(mut map) = self.0.write() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(ip, made.clone());
        }
        made
    }
}

/// The Cedar entities of a request (the person and the item), kept for
/// the next decision about the same person and item: building them
/// (attribute values, the hierarchy's transitive closure) is about a sixth
/// of a decision, and a person asks about the same items again and again
/// (a page's columns on every page). The key is every input the entities
/// are built from, compared in full on a hit, so a cached value is always
/// what building would give. Bounded: cleared when full. The key's hash is
/// SipHash with fixed keys (no random seed read here, as the engine reads
/// no clock and no randomness): a collision only costs a miss, since the
/// inputs are compared in full.
#[derive(Clone, Debug, Default)]
struct EntityCache {
    hasher: std::hash::BuildHasherDefault<std::hash::DefaultHasher>,
    map: Arc<RwLock<HashMap<u64, Arc<Built>>>>,
}

/// A request's entities with what they were built from.
#[derive(Debug)]
struct Built {
    person: (
        confidant_core::PersonId,
        Role,
        confidant_core::PersonStatus,
        confidant_core::WorkspaceId,
    ),
    item: OwnedItem,
    principal: EntityUid,
    resource: EntityUid,
    entities: cedar::Entities,
}

/// [`Item`] with its text owned.
#[derive(Debug, PartialEq, Eq)]
enum OwnedItem {
    Document {
        workspace: confidant_core::WorkspaceId,
        id: confidant_core::ItemId,
        name: Box<str>,
        label: Label,
        categories: Box<[DataCategory]>,
    },
    RecordSet {
        workspace: confidant_core::WorkspaceId,
        id: confidant_core::RecordSetId,
        name: Box<str>,
        label: Label,
        categories: Box<[DataCategory]>,
    },
    Column {
        workspace: confidant_core::WorkspaceId,
        set: confidant_core::RecordSetId,
        set_name: Box<str>,
        column: Box<str>,
        category: DataCategory,
        label: Label,
    },
}

impl OwnedItem {
    fn of(item: &Item<'_>) -> OwnedItem {
        match *item {
            Item::Document {
                workspace,
                id,
                name,
                label,
                categories,
            } => OwnedItem::Document {
                workspace,
                id,
                name: name.into(),
                label,
                categories: categories.into(),
            },
            Item::RecordSet {
                workspace,
                id,
                name,
                label,
                categories,
            } => OwnedItem::RecordSet {
                workspace,
                id,
                name: name.into(),
                label,
                categories: categories.into(),
            },
            Item::Column {
                workspace,
                set,
                set_name,
                column,
                category,
                label,
            } => OwnedItem::Column {
                workspace,
                set,
                set_name: set_name.into(),
                column: column.into(),
                category,
                label,
            },
        }
    }

    fn is(&self, item: &Item<'_>) -> bool {
        match (self, *item) {
            (
                OwnedItem::Document {
                    workspace,
                    id,
                    name,
                    label,
                    categories,
                },
                Item::Document {
                    workspace: w,
                    id: i,
                    name: n,
                    label: l,
                    categories: c,
                },
            ) => *workspace == w && *id == i && **name == *n && *label == l && **categories == *c,
            (
                OwnedItem::RecordSet {
                    workspace,
                    id,
                    name,
                    label,
                    categories,
                },
                Item::RecordSet {
                    workspace: w,
                    id: i,
                    name: n,
                    label: l,
                    categories: c,
                },
            ) => *workspace == w && *id == i && **name == *n && *label == l && **categories == *c,
            (
                OwnedItem::Column {
                    workspace,
                    set,
                    set_name,
                    column,
                    category,
                    label,
                },
                Item::Column {
                    workspace: w,
                    set: s,
                    set_name: sn,
                    column: c,
                    category: cat,
                    label: l,
                },
            ) => {
                *workspace == w
                    && *set == s
                    && **set_name == *sn
                    && **column == *c
                    && *category == cat
                    && *label == l
            }
            _ => false,
        }
    }
}

impl EntityCache {
    const MAX: usize = 4_096;

    fn get_or_build(
        &self,
        request: &Request<'_>,
        build: impl FnOnce() -> Result<Built, String>,
    ) -> Result<Arc<Built>, String> {
        use std::hash::{BuildHasher, Hash, Hasher};
        let p = &request.person;
        let person = (p.id, p.role, p.status, p.workspace);
        let mut hasher = self.hasher.build_hasher();
        person.hash(&mut hasher);
        request.item.hash(&mut hasher);
        let key = hasher.finish();
        if let Some(found) = self.map.read().ok().and_then(|m| m.get(&key).cloned())
            && found.person == person
            && found.item.is(&request.item)
        {
            return Ok(found);
        }
        let built = Arc::new(build()?);
        if let Ok(mut map) = self.map.write() {
            if map.len() >= Self::MAX {
                map.clear();
            }
            map.insert(key, Arc::clone(&built));
        }
        Ok(built)
    }
}

/// Entity type names and action ids, parsed once.
#[derive(Clone, Debug)]
struct Names {
    person: EntityTypeName,
    document: EntityTypeName,
    record_set: EntityTypeName,
    column: EntityTypeName,
    actions: [EntityUid; 5],
}

/// Something the engine itself got wrong: the shipped schema or default
/// policies do not load. A test makes sure they do.
#[derive(Debug, thiserror::Error)]
#[error("the built-in {what} do not load: {message}")]
struct BuiltInError {
    what: &'static str,
    message: String,
}

impl Names {
    fn new() -> Result<Names, BuiltInError> {
        let err = |e: &dyn fmt::Display| BuiltInError {
            what: "names",
            message: e.to_string(),
        };
        let ty = |name: &str| EntityTypeName::from_str(name).map_err(|e| err(&e));
        let action_type = ty("Action")?;
        let action = |a: Access| {
            EntityUid::from_type_name_and_id(action_type.clone(), cedar::EntityId::new(a.as_str()))
        };
        Ok(Names {
            person: ty("Person")?,
            document: ty("Document")?,
            record_set: ty("RecordSet")?,
            column: ty("Column")?,
            actions: Access::ALL.map(action),
        })
    }

    fn action(&self, access: Access) -> EntityUid {
        self.actions[action_index(access)].clone()
    }

    fn kinds(&self) -> [&EntityTypeName; ITEM_KINDS] {
        [&self.document, &self.record_set, &self.column]
    }
}

/// Makes need-to-know decisions. Build it once (from the default policies
/// and the owner's), then ask it for every access: it holds no per-request
/// state and is cheap to share between threads.
#[derive(Clone)]
pub struct Engine {
    schema: cedar::Schema,
    policies: cedar::PolicySet,
    notes: HashMap<PolicyId, Note>,
    owner_text: String,
    names: Names,
    authorizer: cedar::Authorizer,
    /// One slice per action, kind of item and role: see [`slice_index`].
    slices: Vec<Slice>,
    ips: IpCache,
    entities: EntityCache,
    /// Policy sets for requests whose guards ruled policies out.
    subsets: SubsetCache,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("policies", &self.policies.num_of_policies())
            .field("owner_text_bytes", &self.owner_text.len())
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with the default policies only.
    pub fn new() -> Engine {
        #[expect(
            clippy::expect_used,
            reason = "the schema and default policies are part of the program, not input; \
                      the `built_ins_load` test loads them"
        )]
        Engine::built_in().expect("built-in schema and default policies load")
    }

    fn built_in() -> Result<Engine, BuiltInError> {
        let schema = cedar::Schema::from_cedarschema_str(SCHEMA)
            .map(|(schema, _warnings)| schema)
            .map_err(|e| BuiltInError {
                what: "schema",
                message: e.to_string(),
            })?;
        let mut engine = Engine {
            schema,
            policies: cedar::PolicySet::new(),
            notes: HashMap::new(),
            owner_text: String::new(),
            names: Names::new()?,
            authorizer: cedar::Authorizer::new(),
            slices: Vec::new(),
            ips: IpCache::default(),
            entities: EntityCache::default(),
            subsets: SubsetCache::default(),
        };
        let defaults = engine
            .load(DEFAULT_POLICIES, &[], true)
            .map_err(|e| BuiltInError {
                what: "default policies",
                message: e.to_string(),
            })?;
        engine
            .install(defaults)
            .and_then(|()| engine.slice())
            .map_err(|message| BuiltInError {
                what: "default policies",
                message,
            })?;
        Ok(engine)
    }

    /// An engine with the default policies and the owner's `text` (Cedar
    /// policies, each a `forbid`, usually with `@id("...")` and
    /// `@reason("...")` annotations). The text is checked against the
    /// schema first; on error nothing is built and the error says where
    /// and what to fix.
    pub fn with_owner_policies(text: &str) -> Result<Engine, PolicyError> {
        let mut engine = Engine::new();
        engine.set_owner_policies(text)?;
        Ok(engine)
    }

    /// Replaces the owner's policies. On error the engine keeps the ones it
    /// had.
    pub fn set_owner_policies(&mut self, text: &str) -> Result<(), PolicyError> {
        let reserved: Vec<String> = self
            .policies
            .policies()
            .map(|p| p.id().to_string())
            .chain([
                decision::DEFAULT_DENY.to_owned(),
                EVALUATION_FAILED.to_owned(),
            ])
            .collect();
        let mut fresh = Engine {
            schema: self.schema.clone(),
            policies: cedar::PolicySet::new(),
            notes: HashMap::new(),
            owner_text: String::new(),
            names: self.names.clone(),
            authorizer: cedar::Authorizer::new(),
            slices: Vec::new(),
            ips: IpCache::default(),
            entities: EntityCache::default(),
            subsets: SubsetCache::default(),
        };
        // The defaults keep their places; the owner's follow them.
        let defaults: Vec<(cedar::Policy, Note)> = self
            .policies
            .policies()
            .filter(|p| self.is_default(p.id()))
            .filter_map(|p| Some((p.clone(), self.notes.get(p.id())?.clone())))
            .collect();
        // Ids are checked unique by `load`, so adding cannot fail; if it
        // did, the owner's text is refused as a whole.
        let owners = fresh.load(text, &reserved, false)?;
        fresh
            .install(defaults)
            .and_then(|()| fresh.install(owners))
            .and_then(|()| fresh.slice())
            .map_err(|message| PolicyError::Syntax {
                at: Location::START,
                message,
            })?;
        fresh.owner_text = text.to_owned();
        fresh.ips = self.ips.clone();
        // Entities do not depend on the policies.
        fresh.entities = self.entities.clone();
        *self = fresh;
        Ok(())
    }

    /// The owner's policies as given.
    pub fn owner_policies(&self) -> &str {
        &self.owner_text
    }

    /// How many policies are in force (default and owner).
    pub fn policy_count(&self) -> usize {
        self.policies.num_of_policies()
    }

    fn is_default(&self, id: &PolicyId) -> bool {
        self.notes
            .get(id)
            .is_some_and(|n| n.order < DEFAULT_POLICY_SLOTS)
    }

    /// Parses and checks policy text; `defaults` allows permits and gives
    /// the policies the low order numbers.
    fn load(
        &self,
        text: &str,
        reserved: &[String],
        defaults: bool,
    ) -> Result<Vec<(cedar::Policy, Note)>, PolicyError> {
        if text.len() > MAX_OWNER_POLICY_BYTES {
            return Err(PolicyError::TooLong {
                at: Location::of_offset(text, MAX_OWNER_POLICY_BYTES),
                len: text.len(),
                max: MAX_OWNER_POLICY_BYTES,
            });
        }
        match complexity(text, MAX_NESTING, MAX_OPERATORS) {
            Some(Complexity::Deep(offset)) => {
                return Err(PolicyError::TooDeep {
                    at: Location::of_offset(text, offset),
                    max: MAX_NESTING,
                });
            }
            Some(Complexity::Long(offset)) => {
                return Err(PolicyError::TooComplex {
                    at: Location::of_offset(text, offset),
                    max: MAX_OPERATORS,
                });
            }
            None => {}
        }
        let parsed = cedar::PolicySet::from_str(text).map_err(|errors| {
            let (at, message) = errors
                .iter()
                .map(|e| {
                    (
                        first_offset(e).map(|o| Location::of_offset(text, o)),
                        describe(e),
                    )
                })
                .min_by_key(|(at, _)| at.unwrap_or(Location::START))
                .unwrap_or((None, errors.to_string()));
            PolicyError::Syntax {
                at: at.unwrap_or(Location::START),
                message,
            }
        })?;
        let mut located = Locator::new(text);
        if let Some(template) = parsed.templates().next() {
            return Err(PolicyError::Template {
                at: located.find(&template.to_string()),
            });
        }
        // The parser names policies policy0, policy1, ... in text order.
        let mut policies: Vec<&cedar::Policy> = parsed.policies().collect();
        policies.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        let first_order = if defaults { 0 } else { DEFAULT_POLICY_SLOTS };
        let mut seen: HashMap<String, Location> = HashMap::new();
        let mut out = Vec::with_capacity(policies.len());
        let mut renamed = cedar::PolicySet::new();
        for (n, policy) in policies.into_iter().enumerate() {
            let at = located.find(&policy.to_string());
            let id = match policy.annotation("id") {
                Some(id) if !id.trim().is_empty() => id.trim().to_owned(),
                _ => format!("owner-{}", n + 1),
            };
            if !defaults && policy.effect() == Effect::Permit {
                return Err(PolicyError::Permit { at, policy: id });
            }
            if reserved.contains(&id) {
                return Err(PolicyError::ReservedId { at, id });
            }
            if seen.insert(id.clone(), at).is_some() {
                return Err(PolicyError::DuplicateId { at, id });
            }
            let policy = policy.new_id(PolicyId::new(&id));
            let json = policy.to_json().ok();
            let note = Note {
                order: first_order + n,
                reason: policy
                    .annotation("reason")
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned),
                // When in doubt (no JSON form), assume it does, and that it
                // applies to every role.
                uses_client: json
                    .as_ref()
                    .is_none_or(|json| json.to_string().contains("\"client\"")),
                roles: json.as_ref().map(RoleGuard::of_json).unwrap_or_default(),
                guard: Arc::new(
                    json.as_ref()
                        .map(|json| Guard::of_json(json, &cedar_accepts_ip))
                        .unwrap_or_default(),
                ),
            };
            renamed
                .add(policy.clone())
                .map_err(|e| PolicyError::DuplicateId {
                    at,
                    id: format!("{id} ({e})"),
                })?;
            out.push((policy, note));
        }
        let validator = cedar::Validator::new(self.schema.clone());
        let result = validator.validate(&renamed, cedar::ValidationMode::Strict);
        if let Some((at, policy, message)) = result
            .validation_errors()
            .map(|e| {
                let at = first_offset(e).map_or(
                    seen.get(e.policy_id().to_string().as_str())
                        .copied()
                        .unwrap_or(Location::START),
                    |o| Location::of_offset(text, o),
                );
                let policy = e.policy_id().to_string();
                // Cedar starts with "for policy `x`, ", which the error
                // already says.
                let message = describe(e);
                let message = message
                    .strip_prefix(&format!("for policy `{policy}`, "))
                    .map_or(message.clone(), str::to_owned);
                (at, policy, message)
            })
            .min_by_key(|(at, _, _)| *at)
        {
            return Err(PolicyError::Schema {
                at,
                policy,
                message,
            });
        }
        Ok(out)
    }

    fn install(&mut self, policies: Vec<(cedar::Policy, Note)>) -> Result<(), String> {
        for (policy, note) in policies {
            self.notes.insert(policy.id().clone(), note);
            self.policies.add(policy).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Splits the policies into one set per action and kind of item.
    fn slice(&mut self) -> Result<(), String> {
        // INVARIANT: `action in [...]` means equality only while the schema
        // declares no action groups; with groups, such a policy goes into
        // every slice.
        let no_groups = self.schema.action_groups().next().is_none();
        let mut slices = Vec::with_capacity(Access::ALL.len() * ITEM_KINDS * ROLES);
        for access in Access::ALL {
            let action = self.names.action(access);
            for (kind, kind_name) in self.names.kinds().into_iter().enumerate() {
                for role in Role::ALL {
                    debug_assert_eq!(slices.len(), slice_index_raw(access, kind, role));
                    let mut members = Vec::new();
                    for policy in self.policies.policies() {
                        let note = self.notes.get(policy.id());
                        if note.is_some_and(|n| !n.roles.admits(role.as_str())) {
                            continue;
                        }
                        let action_ok = match policy.action_constraint() {
                            ActionConstraint::Any => true,
                            ActionConstraint::Eq(a) => a == action,
                            ActionConstraint::In(list) => !no_groups || list.contains(&action),
                        };
                        let kind_ok = match policy.resource_constraint() {
                            ResourceConstraint::Any | ResourceConstraint::In(_) => true,
                            ResourceConstraint::Eq(uid) => uid.type_name() == kind_name,
                            ResourceConstraint::Is(ty) | ResourceConstraint::IsIn(ty, _) => {
                                ty == *kind_name
                            }
                        };
                        if action_ok && kind_ok {
                            members.push(Member {
                                policy: policy.clone(),
                                guard: note.map(|n| Arc::clone(&n.guard)).unwrap_or_default(),
                                uses_client: note.is_none_or(|n| n.uses_client),
                            });
                        }
                    }
                    slices.push(Slice::new(slices.len(), members)?);
                }
            }
        }
        self.slices = slices;
        Ok(())
    }

    /// Decides `request`. Never fails: anything that stops the policies from
    /// giving an answer is a denial that says why (fail closed).
    pub fn decide(&self, request: &Request<'_>) -> Decision {
        let slice = self.slices.get(slice_index(
            request.action,
            &request.item,
            request.person.role,
        ));
        self.decide_with(request, slice)
    }

    /// Decides with every policy and the full context, without the
    /// per-action slices: what [`Engine::decide`] must always agree with.
    /// For tests.
    #[doc(hidden)]
    pub fn decide_with_every_policy(&self, request: &Request<'_>) -> Decision {
        let every = self
            .policies
            .policies()
            .map(|policy| Member {
                policy: policy.clone(),
                guard: Arc::default(),
                uses_client: true,
            })
            .collect();
        let all = Slice::new(usize::MAX, every).ok();
        self.decide_with(request, all.as_ref())
    }

    fn decide_with(&self, request: &Request<'_>, slice: Option<&Slice>) -> Decision {
        let live: Vec<&Grant> = request.live_grants().collect();
        let facts = Facts::new(request, &live);
        let asked = slice.map(|slice| {
            let subset = slice.for_request(&facts, &self.subsets)?;
            let (cedar_request, built) =
                self.cedar_request(request, &facts, &live, subset.uses_client)?;
            Ok::<_, String>((subset, cedar_request, built))
        });
        let response = match asked {
            Some(Ok((subset, cedar_request, built))) => {
                self.authorizer
                    .is_authorized(&cedar_request, &subset.policies, &built.entities)
            }
            None => {
                return Decision {
                    allowed: false,
                    reasons: vec![Reason {
                        policy: EVALUATION_FAILED.to_owned(),
                        words: "the policies are not ready: denied to be safe".to_owned(),
                    }],
                    grants: Vec::new(),
                };
            }
            Some(Err(message)) => {
                return Decision {
                    allowed: false,
                    reasons: vec![Reason {
                        policy: EVALUATION_FAILED.to_owned(),
                        words: format!(
                            "the request could not be put to the policies ({message}): \
                             denied to be safe"
                        ),
                    }],
                    grants: Vec::new(),
                };
            }
        };
        let mut determining: Vec<(&PolicyId, usize)> = response
            .diagnostics()
            .reason()
            .map(|id| (id, self.notes.get(id).map_or(usize::MAX, |n| n.order)))
            .collect();
        determining.sort_by_key(|(id, order)| (*order, id.to_string()));
        let errors: Vec<Reason> = response
            .diagnostics()
            .errors()
            .map(|e| {
                let cedar::AuthorizationError::PolicyEvaluationError(e) = e;
                Reason {
                    policy: e.policy_id().to_string(),
                    words: format!(
                        "policy '{}' could not be evaluated ({}): denied to be safe",
                        e.policy_id(),
                        e.inner()
                    ),
                }
            })
            .collect();
        let allowed = response.decision() == cedar::Decision::Allow && errors.is_empty();
        let mut reasons = Vec::new();
        let mut grants = Vec::new();
        if response.decision() == cedar::Decision::Allow && !allowed {
            // Permitted, but a policy failed: it may have been a forbid.
        } else {
            for (id, _) in &determining {
                if id.to_string() == NEED_TO_KNOW {
                    for g in &live {
                        reasons.push(Reason {
                            policy: NEED_TO_KNOW.to_owned(),
                            words: format!(
                                "{} lets {} {} {}",
                                grant_words(g),
                                request.person.name,
                                request.action,
                                request.item.describe()
                            ),
                        });
                        grants.push(g.id);
                    }
                } else {
                    reasons.push(self.reason(id, request));
                }
            }
        }
        reasons.extend(errors);
        if reasons.is_empty() {
            reasons.push(decision::default_deny(request));
        }
        Decision {
            allowed,
            reasons,
            grants,
        }
    }

    /// A satisfied policy in words.
    fn reason(&self, id: &PolicyId, request: &Request<'_>) -> Reason {
        let person = &request.person;
        let name = person.name;
        let words = match id.to_string().as_str() {
            "owner-and-admins" => format!(
                "{name} is {} {}: the owner and admins may do everything in their workspace",
                if person.role == confidant_core::Role::Owner {
                    "the"
                } else {
                    "an"
                },
                person.role
            ),
            "active-people-only" => {
                format!(
                    "{name} is {}: only active people have access",
                    person.status
                )
            }
            "own-workspace-only" => format!(
                "{name} belongs to another workspace than this {}: nobody reaches into \
                 another workspace",
                request.item.kind()
            ),
            "auditors-never-see-customer-data" => {
                format!("{name} is an auditor: auditors never see customer data")
            }
            "nda-signed" => format!(
                "{name} has not signed the current confidentiality agreement (NDA) covering {} \
                 items: no grant gives access before that",
                request.item.label()
            ),
            "handbook-acknowledged" => format!(
                "{name} has not acknowledged the current confidentiality handbook: no grant \
                 gives access before that"
            ),
            "device-posture" => format!(
                "{name}'s device does not pass the posture checks {} items need (or the \
                 session is not linked to an enrolled device, or its report is stale)",
                request.item.label()
            ),
            "day-passcode" => format!(
                "{name} has not entered today's passcode for this {}: {} items open only with \
                 the day passcode",
                request.item.kind(),
                request.item.label()
            ),
            other => match self.notes.get(id).and_then(|n| n.reason.clone()) {
                Some(reason) => reason,
                None => format!("policy '{other}' forbids this"),
            },
        };
        Reason {
            policy: id.to_string(),
            words,
        }
    }

    /// The Cedar request and its two entities (the person and the item).
    fn cedar_request(
        &self,
        request: &Request<'_>,
        facts: &Facts<'_>,
        live: &[&Grant],
        with_client: bool,
    ) -> Result<(cedar::Request, Arc<Built>), String> {
        let built = self
            .entities
            .get_or_build(request, || self.build_entities(request))?;
        let mut pairs: Vec<(String, RestrictedExpression)> = CONTEXT_ATTRS
            .iter()
            .filter_map(|name| {
                let value = facts.get(Var::Context, name)?;
                Some(((*name).to_owned(), self.restricted(value)))
            })
            .collect();
        pairs.push((
            "grant_ids".to_owned(),
            RestrictedExpression::new_set(
                live.iter()
                    .map(|g| RestrictedExpression::new_string(g.id.to_string())),
            ),
        ));
        if with_client && let Some(client) = facts.get(Var::Context, "client") {
            pairs.push(("client".to_owned(), self.restricted(client)));
        }
        let context = cedar::Context::from_pairs(pairs).map_err(|e| e.to_string())?;
        let cedar_request = cedar::Request::new(
            built.principal.clone(),
            self.names.action(request.action),
            built.resource.clone(),
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok((cedar_request, built))
    }

    /// A value as Cedar takes it.
    fn restricted(&self, value: Value<'_>) -> RestrictedExpression {
        match value {
            Value::Bool(b) => RestrictedExpression::new_bool(b),
            Value::Long(n) => RestrictedExpression::new_long(n),
            Value::Str(s) => RestrictedExpression::new_string(s.into_owned()),
            Value::Categories(categories) => RestrictedExpression::new_set(
                categories
                    .iter()
                    .map(|c| RestrictedExpression::new_string(c.as_str().to_owned())),
            ),
            Value::Ip(ip) => self.ips.get(ip),
        }
    }

    /// The person and the item as Cedar entities.
    fn build_entities(&self, request: &Request<'_>) -> Result<Built, String> {
        let person = &request.person;
        let principal = EntityUid::from_type_name_and_id(
            self.names.person.clone(),
            cedar::EntityId::new(person.id.to_string()),
        );
        let attrs = PERSON_ATTRS
            .iter()
            .filter_map(|name| {
                let value = person_attr(request, name)?;
                Some(((*name).to_owned(), self.restricted(value)))
            })
            .collect();
        let principal_entity = cedar::Entity::new(principal.clone(), attrs, HashSet::new())
            .map_err(|e| e.to_string())?;
        let (resource, resource_entity) = self.item_entity(&request.item)?;
        let entities = cedar::Entities::from_entities([principal_entity, resource_entity], None)
            .map_err(|e| e.to_string())?;
        Ok(Built {
            person: (person.id, person.role, person.status, person.workspace),
            item: OwnedItem::of(&request.item),
            principal,
            resource,
            entities,
        })
    }

    fn item_entity(&self, item: &Item<'_>) -> Result<(EntityUid, cedar::Entity), String> {
        let attrs: HashMap<String, RestrictedExpression> = item_attrs(item)
            .filter_map(|name| {
                let value = item_attr(item, name)?;
                Some((name.to_owned(), self.restricted(value)))
            })
            .collect();
        let (uid, parents) = match item {
            Item::Document { id, .. } => (
                EntityUid::from_type_name_and_id(
                    self.names.document.clone(),
                    cedar::EntityId::new(id.to_string()),
                ),
                HashSet::new(),
            ),
            Item::RecordSet { id, .. } => (
                EntityUid::from_type_name_and_id(
                    self.names.record_set.clone(),
                    cedar::EntityId::new(id.to_string()),
                ),
                HashSet::new(),
            ),
            Item::Column { set, column, .. } => {
                let set_id = set.to_string();
                let uid = EntityUid::from_type_name_and_id(
                    self.names.column.clone(),
                    cedar::EntityId::new(format!("{set_id}/{column}")),
                );
                let parent = EntityUid::from_type_name_and_id(
                    self.names.record_set.clone(),
                    cedar::EntityId::new(&set_id),
                );
                (uid, HashSet::from([parent]))
            }
        };
        let entity = cedar::Entity::new(uid.clone(), attrs, parents).map_err(|e| e.to_string())?;
        Ok((uid, entity))
    }
}

/// The id of the default policy that permits what grants cover.
const NEED_TO_KNOW: &str = "need-to-know";

/// Order numbers below this are default policies.
const DEFAULT_POLICY_SLOTS: usize = 1_000;

/// The label as a number, so that policies can say "Confidential or
/// higher" (`resource.label_level >= 2`).
pub fn label_level(label: Label) -> i64 {
    match label {
        Label::Public => 0,
        Label::Internal => 1,
        Label::Confidential => 2,
        Label::Restricted => 3,
    }
}

/// The folder part of a document name, ending in `/` (empty at the top).
pub fn folder_of(name: &str) -> &str {
    name.rfind('/').map_or("", |i| &name[..=i])
}

/// What makes owner text too complex to check safely.
#[derive(Debug, PartialEq, Eq)]
enum Complexity {
    /// Brackets nest deeper than allowed, at this byte offset.
    Deep(usize),
    /// One policy has more operators than allowed, at this byte offset.
    Long(usize),
}

/// Checks the bracket nesting and the operator count of each policy,
/// skipping string literals and comments. Expression depth is at most the
/// number of operators plus the bracket depth, so these two bounds keep
/// Cedar's recursive parser, validator and evaluator far from the end of
/// the stack. (Cedar's validator stops typechecking, without an error,
/// where its stack check trips; the bounds make sure that never happens.)
fn complexity(text: &str, max_nesting: usize, max_operators: usize) -> Option<Complexity> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let mut counted = false;
        match b {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > max_nesting {
                    return Some(Complexity::Deep(i));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b';' => operators = 0,
            b'|' | b'&' | b'=' => {
                // `||`, `&&`, `==` are one operator each.
                counted = bytes.get(i + 1) == Some(&b);
                if counted {
                    i += 1;
                }
            }
            b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'.' => {
                counted = true;
                if bytes.get(i + 1) == Some(&b'=') {
                    i += 1;
                }
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let start = i;
                while i + 1 < bytes.len()
                    && (bytes[i + 1].is_ascii_alphanumeric() || bytes[i + 1] == b'_')
                {
                    i += 1;
                }
                counted = matches!(&text[start..=i], "if" | "in" | "has" | "like" | "is");
            }
            _ => {}
        }
        if counted {
            operators += 1;
            if operators > max_operators {
                return Some(Complexity::Long(i));
            }
        }
        i += 1;
    }
    None
}

/// The first labelled byte offset of a Cedar diagnostic.
fn first_offset(diagnostic: &dyn Diagnostic) -> Option<usize> {
    diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset())
}

/// A Cedar diagnostic as one sentence with what was expected and its hint.
fn describe(diagnostic: &dyn Diagnostic) -> String {
    let mut message = diagnostic.to_string();
    let label = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .and_then(|label| label.label().map(str::to_owned));
    for extra in label
        .into_iter()
        .chain(diagnostic.help().map(|h| h.to_string()))
    {
        message.push_str(": ");
        message.push_str(&extra);
    }
    message
}

/// Finds the text of each policy in the owner's text, in order.
struct Locator<'a> {
    text: &'a str,
    from: usize,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        Locator { text, from: 0 }
    }

    fn find(&mut self, policy: &str) -> Location {
        match self.text[self.from..].find(policy.trim()) {
            Some(i) => {
                let start = self.from + i;
                self.from = start + policy.trim().len();
                Location::of_offset(self.text, start)
            }
            None => Location::of_offset(self.text, self.from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_check_only_ranges_cedar_accepts() {
        assert!(cedar_accepts_ip("10.0.0.0/8"));
        assert!(cedar_accepts_ip("2001:db8::/32"));
        assert!(!cedar_accepts_ip("10.0.0.0/40"));
        assert!(!cedar_accepts_ip("::ffff:10.0.0.0/104"));
        assert!(!cedar_accepts_ip("ten"));
    }

    #[test]
    fn complexity_counts_operators_per_policy_outside_strings_and_comments() {
        let ok = "// a || b || c\nforbid (p, a, r) when { x.y == \"a||b.c\" && z };";
        assert_eq!(complexity(ok, 3, 3), None);
        assert_eq!(
            complexity(ok, 3, 2),
            Some(Complexity::Long(ok.find("&&").unwrap_or(0) + 1))
        );
        assert_eq!(
            complexity(ok, 0, 9),
            Some(Complexity::Deep(ok.find('(').unwrap_or(0)))
        );
        // Counts start again with each policy.
        let two = "forbid (p, a, r) when { a && b };\nforbid (p, a, r) when { c && d };";
        assert_eq!(complexity(two, 3, 1), None);
        let words = "when { if a in b then c has d else e like \"*\" && f is G }";
        assert_eq!(
            complexity(words, 3, 5),
            Some(Complexity::Long(words.find("is").unwrap_or(0) + 1))
        );
        assert_eq!(complexity(words, 3, 6), None);
    }

    fn guard(text: &str) -> RoleGuard {
        let policy = cedar::Policy::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let json = policy.to_json().unwrap_or_else(|e| panic!("{text}: {e}"));
        RoleGuard::of_json(&json)
    }

    fn only(roles: &[&str]) -> RoleGuard {
        RoleGuard {
            only: Some(roles.iter().map(|r| r.to_string()).collect()),
            not: BTreeSet::new(),
        }
    }

    #[test]
    fn role_guards_come_from_the_leading_role_comparisons() {
        let v = "forbid (principal, action, resource) when ";
        assert_eq!(
            guard(&format!("{v}{{ principal.role == \"vendor\" }};")),
            only(&["vendor"])
        );
        assert_eq!(
            guard(&format!(
                "{v}{{ \"vendor\" == principal.role && resource.label_level > 1 }};"
            )),
            only(&["vendor"])
        );
        assert_eq!(
            guard(&format!(
                "{v}{{ (principal.role == \"vendor\" || \"associate\" == principal.role) && context.passcode_ok }};"
            )),
            only(&["associate", "vendor"])
        );
        assert_eq!(
            guard(&format!(
                "{v}{{ principal.role != \"owner\" && principal.role != \"admin\" && context.passcode_ok }};"
            )),
            RoleGuard {
                only: None,
                not: ["owner".to_owned(), "admin".to_owned()].into(),
            }
        );
        // Another conjunct first: the comparison after it may never be
        // reached (the first may raise an error), so it is no guard.
        assert_eq!(
            guard(&format!(
                "{v}{{ resource.label_level > 1 && principal.role == \"vendor\" }};"
            )),
            RoleGuard::default()
        );
        // `||` with another kind of operand, negation, `unless` first,
        // other attributes: no guard.
        for body in [
            "when { principal.role == \"vendor\" || resource.label_level > 1 }",
            "when { principal.role != \"vendor\" || principal.role == \"associate\" }",
            "when { !(principal.role == \"vendor\") }",
            "unless { principal.role == \"owner\" } when { principal.role == \"vendor\" }",
            "when { principal.status == \"vendor\" }",
            "when { resource.name == principal.role }",
        ] {
            assert_eq!(
                guard(&format!("forbid (principal, action, resource) {body};")),
                RoleGuard::default(),
                "{body}"
            );
        }
        // Two different roles required: nobody.
        let nobody = guard(&format!(
            "{v}{{ principal.role == \"vendor\" && principal.role == \"associate\" }};"
        ));
        assert!(Role::ALL.iter().all(|r| !nobody.admits(r.as_str())));
        assert!(only(&["vendor"]).admits("vendor") && !only(&["vendor"]).admits("assistant"));
    }

    #[test]
    fn folders() {
        assert_eq!(folder_of("invoices/2026/may.pdf"), "invoices/2026/");
        assert_eq!(folder_of("may.pdf"), "");
        assert_eq!(folder_of("a/"), "a/");
    }
}
