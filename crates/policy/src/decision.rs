//! The engine's answer and its explanation in plain words.

use std::fmt;

use confidant_core::{Grant, GrantId, GrantStatus};

use crate::request::Request;

/// The policy id given to a denial that no policy decided: Cedar denies
/// when nothing permits, and for everyone but owners and admins only a
/// grant permits.
pub const DEFAULT_DENY: &str = "default-deny";

/// The policy id given when a policy could not be evaluated: the engine
/// then denies (fail closed).
pub const EVALUATION_FAILED: &str = "evaluation-failed";

/// Allowed or denied, why, and with which grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// What decided it: the satisfied policies that determined the answer
    /// (forbids when denied, permits when allowed), in plain words.
    pub reasons: Vec<Reason>,
    /// The grants that allowed it (empty when denied or when the person's
    /// role allowed it without a grant).
    pub grants: Vec<GrantId>,
}

/// One policy's part in a decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// The policy's `@id` (or [`DEFAULT_DENY`], [`EVALUATION_FAILED`]).
    pub policy: String,
    /// What it means for this request, in plain English.
    pub words: String,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// The decision as text: `allowed` or `denied`, then one line per
    /// reason naming its policy.
    pub fn explain(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.allowed { "allowed" } else { "denied" })?;
        for reason in &self.reasons {
            write!(f, "\n- {} (policy {})", reason.words, reason.policy)?;
        }
        Ok(())
    }
}

/// `grant 'schedule appointments' (until 2026-12-31)`.
pub(crate) fn grant_words(grant: &Grant) -> String {
    format!(
        "grant '{}' (until {})",
        grant.purpose,
        grant.expires_at.date()
    )
}

/// Why nothing permitted the request: the closest grant the person has, or
/// that they have none.
pub(crate) fn default_deny(request: &Request<'_>) -> Reason {
    let person = request.person.name;
    let action = request.action;
    let item = request.item.describe();
    let now = request.context.now;
    let mine: Vec<&Grant> = request
        .grants
        .iter()
        .filter(|g| {
            g.person == request.person.id
                && g.workspace == request.person.workspace
                && request.item.is_covered_by(&g.scope)
        })
        .collect();
    // The most telling grant first: one for this action that is not (or no
    // longer) in force, then one in force for other actions.
    let for_action = || mine.iter().copied().filter(|g| g.allows(action));
    let words = if let Some(g) = for_action().find(|g| g.status == GrantStatus::Requested) {
        format!(
            "the request for {} waits for approval: until then {person} may not {action} {item}",
            grant_words(g)
        )
    } else if let Some(g) = for_action().find(|g| g.status == GrantStatus::Ended) {
        let when = g
            .ended_at
            .map(|t| format!(" on {}", t.date()))
            .unwrap_or_default();
        format!(
            "{} was ended{when}: {person} may no longer {action} {item}",
            grant_words(g)
        )
    } else if let Some(g) =
        for_action().find(|g| g.status == GrantStatus::Active && !g.is_live(now))
    {
        format!(
            "grant '{}' expired on {}: {person} may no longer {action} {item}",
            g.purpose,
            g.expires_at.date()
        )
    } else if let Some(g) = mine.iter().find(|g| g.is_live(now)) {
        let actions: Vec<&str> = g.actions.iter().map(|a| a.as_str()).collect();
        format!(
            "{} covers {item} for {} only, not {action}",
            grant_words(g),
            actions.join(", ")
        )
    } else {
        format!("no grant lets {person} {action} {item}: access is on a need-to-know basis")
    };
    Reason {
        policy: DEFAULT_DENY.to_owned(),
        words,
    }
}
