//! The attributes of a request by name: the one place that says what the
//! person, the item and the context look like to the policies. The Cedar
//! entities and context are built from it, and the engine's guards
//! ([`crate::guard`]) read it, so both always see the same values.

use std::borrow::Cow;
use std::net::IpAddr;

use confidant_core::{DataCategory, Grant};

use crate::engine::{folder_of, label_level};
use crate::request::{Item, Request};

/// An attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value<'a> {
    Bool(bool),
    Long(i64),
    Str(Cow<'a, str>),
    /// A set of data category names.
    Categories(&'a [DataCategory]),
    Ip(IpAddr),
}

/// Whose attribute: Cedar's `principal`, `resource` or `context`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Var {
    Principal,
    Resource,
    Context,
}

/// The person's attributes (Cedar type `Person`).
pub(crate) const PERSON_ATTRS: [&str; 3] = ["role", "status", "workspace"];

/// Every item's attributes, then each kind's own.
const ITEM_ATTRS: [&str; 4] = ["workspace", "label", "label_level", "categories"];
const DOCUMENT_ATTRS: [&str; 2] = ["name", "folder"];
const RECORD_SET_ATTRS: [&str; 1] = ["name"];
const COLUMN_ATTRS: [&str; 4] = ["record_set", "set_name", "column", "category"];

/// The context's attributes, except `grant_ids` (a set of grant ids, which
/// the engine adds itself) and the optional `client`.
pub(crate) const CONTEXT_ATTRS: [&str; 8] = [
    "now",
    "minute_of_day",
    "granted",
    "agreement_signed",
    "handbook_acknowledged",
    "passcode_required",
    "passcode_ok",
    "device_ok",
];

/// The names of an item's attributes.
pub(crate) fn item_attrs(item: &Item<'_>) -> impl Iterator<Item = &'static str> {
    let own: &'static [&'static str] = match item {
        Item::Document { .. } => &DOCUMENT_ATTRS,
        Item::RecordSet { .. } => &RECORD_SET_ATTRS,
        Item::Column { .. } => &COLUMN_ATTRS,
    };
    ITEM_ATTRS.into_iter().chain(own.iter().copied())
}

/// A request's attributes, with what the engine derives from the person's
/// live grants.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Facts<'r> {
    request: &'r Request<'r>,
    /// Some live grant covers the item and action.
    granted: bool,
    /// Some live grant asks for the day passcode.
    grant_requires_passcode: bool,
}

impl<'r> Facts<'r> {
    pub(crate) fn new(request: &'r Request<'r>, live: &[&Grant]) -> Facts<'r> {
        Facts {
            request,
            granted: !live.is_empty(),
            grant_requires_passcode: live.iter().any(|g| g.require_passcode),
        }
    }

    /// The attribute `name` of `var`, or `None` if it has none (Cedar
    /// would refuse the policy or raise an error).
    pub(crate) fn get(&self, var: Var, name: &str) -> Option<Value<'r>> {
        match var {
            Var::Principal => person_attr(self.request, name),
            Var::Resource => item_attr(&self.request.item, name),
            Var::Context => self.context_attr(name),
        }
    }

    /// The Cedar entity type of `var`, for `is`.
    pub(crate) fn type_name(&self, var: Var) -> Option<&'static str> {
        match (var, &self.request.item) {
            (Var::Principal, _) => Some("Person"),
            (Var::Resource, Item::Document { .. }) => Some("Document"),
            (Var::Resource, Item::RecordSet { .. }) => Some("RecordSet"),
            (Var::Resource, Item::Column { .. }) => Some("Column"),
            (Var::Context, _) => None,
        }
    }

    fn context_attr(&self, name: &str) -> Option<Value<'r>> {
        let ctx = &self.request.context;
        Some(match name {
            "now" => Value::Long(ctx.now.unix_timestamp()),
            "minute_of_day" => Value::Long(i64::from(ctx.minute_of_day)),
            "granted" => Value::Bool(self.granted),
            "agreement_signed" => Value::Bool(ctx.agreement_signed),
            "handbook_acknowledged" => Value::Bool(ctx.handbook_acknowledged),
            "passcode_required" => Value::Bool(confidant_core::passcode_required(
                self.request.item.label(),
                self.grant_requires_passcode,
            )),
            "passcode_ok" => Value::Bool(ctx.passcode_ok),
            "device_ok" => Value::Bool(ctx.device_ok),
            "client" => Value::Ip(ctx.client?),
            _ => return None,
        })
    }
}

/// The person's attribute `name`.
pub(crate) fn person_attr<'a>(request: &'a Request<'a>, name: &str) -> Option<Value<'a>> {
    let person = &request.person;
    Some(match name {
        "role" => Value::Str(Cow::Borrowed(person.role.as_str())),
        "status" => Value::Str(Cow::Borrowed(person.status.as_str())),
        "workspace" => Value::Str(Cow::Owned(person.workspace.to_string())),
        _ => return None,
    })
}

/// The item's attribute `name`.
pub(crate) fn item_attr<'a>(item: &'a Item<'a>, name: &str) -> Option<Value<'a>> {
    let common = match name {
        "workspace" => Some(Value::Str(Cow::Owned(item.workspace().to_string()))),
        "label" => Some(Value::Str(Cow::Borrowed(item.label().as_str()))),
        "label_level" => Some(Value::Long(label_level(item.label()))),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match item {
        Item::Document {
            name: doc,
            categories,
            ..
        } => match name {
            "categories" => Some(Value::Categories(categories)),
            "name" => Some(Value::Str(Cow::Borrowed(doc))),
            "folder" => Some(Value::Str(Cow::Borrowed(folder_of(doc)))),
            _ => None,
        },
        Item::RecordSet {
            name: set_name,
            categories,
            ..
        } => match name {
            "categories" => Some(Value::Categories(categories)),
            "name" => Some(Value::Str(Cow::Borrowed(set_name))),
            _ => None,
        },
        Item::Column {
            set,
            set_name,
            column,
            category,
            ..
        } => match name {
            "categories" => Some(Value::Categories(std::slice::from_ref(category))),
            "record_set" => Some(Value::Str(Cow::Owned(set.to_string()))),
            "set_name" => Some(Value::Str(Cow::Borrowed(set_name))),
            "column" => Some(Value::Str(Cow::Borrowed(column))),
            "category" => Some(Value::Str(Cow::Borrowed(category.as_str()))),
            _ => None,
        },
    }
}
