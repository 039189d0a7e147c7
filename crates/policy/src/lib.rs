//! Need-to-know decisions with Cedar.
//!
//! An [`Engine`] holds a Cedar schema, the default policies (owner and
//! admins may do everything in their workspace, everyone else only what a
//! live grant covers; offboarded people, other workspaces and auditors get
//! no customer data) and the owner's own `forbid` policies, all validated
//! against the schema in strict mode. [`Engine::decide`] answers one
//! [`Request`] with a [`Decision`] that says, in plain words, which policies
//! and grants decided it.
//!
//! Pure: no I/O, no clock, no randomness. The caller passes the time, the
//! workspace's minute of the day, and the person's grants; storing grants
//! and policies, masking columns and recording the decision in the ledger
//! are the vault's work.

mod decision;
mod engine;
mod err;
mod facts;
mod guard;
mod request;

pub use decision::{DEFAULT_DENY, Decision, EVALUATION_FAILED, Reason};
pub use engine::{
    DEFAULT_POLICIES, Engine, MAX_NESTING, MAX_OPERATORS, MAX_OWNER_POLICY_BYTES, SCHEMA,
    folder_of, label_level,
};
pub use err::{Location, PolicyError};
pub use request::{Context, Item, Request, Subject};
