//! Why owner policies were refused. Every error names the place in the
//! owner's text (1-based line and column) and says what to change.

use std::fmt;

/// A place in policy text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl Location {
    /// The start of the text.
    pub const START: Location = Location { line: 1, column: 1 };

    /// The line and column of byte `offset` of `text`. An offset past the
    /// end (or inside a character) points just after the last whole
    /// character before it.
    pub fn of_offset(text: &str, offset: usize) -> Location {
        let mut end = offset.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &text[..end];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        Location {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why owner-written policies cannot be used. Nothing is changed when they
/// are refused: the engine in use keeps its policies.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not Cedar.
    #[error("{at}: {message}")]
    Syntax { at: Location, message: String },
    /// The policy is Cedar but does not fit the schema (an unknown
    /// attribute, a comparison of a string with a number, ...).
    #[error("{at}: policy {policy:?}: {message}")]
    Schema {
        at: Location,
        policy: String,
        message: String,
    },
    /// Owner policies may only take access away.
    #[error(
        "{at}: policy {policy:?} is a `permit`: owner policies can only `forbid`, because \
         access is given by grants (write `forbid (...) unless {{ ... }}` for an exception)"
    )]
    Permit { at: Location, policy: String },
    /// A template (with `?principal` or `?resource`).
    #[error(
        "{at}: policy templates (`?principal`, `?resource`) are not supported: name the \
         person or item in the policy, or compare attributes"
    )]
    Template { at: Location },
    /// Two owner policies share an `@id`.
    #[error("{at}: another policy already has @id({id:?}): give each policy its own id")]
    DuplicateId { at: Location, id: String },
    /// An owner policy takes the id of a default policy.
    #[error("{at}: @id({id:?}) is the id of a default policy: choose another id")]
    ReservedId { at: Location, id: String },
    /// The text is longer than the engine accepts.
    #[error("{at}: the policies are {len} bytes long: keep them under {max} bytes")]
    TooLong {
        at: Location,
        len: usize,
        max: usize,
    },
    /// Brackets nested deeper than the engine accepts.
    #[error("{at}: brackets are nested more than {max} deep: split the condition")]
    TooDeep { at: Location, max: usize },
    /// One policy with more operators than the engine accepts.
    #[error(
        "{at}: this policy has more than {max} operators: split it into several policies \
         or simplify the condition"
    )]
    TooComplex { at: Location, max: usize },
}

impl PolicyError {
    /// Where in the owner's text the problem is.
    pub fn location(&self) -> Location {
        match self {
            PolicyError::Syntax { at, .. }
            | PolicyError::Schema { at, .. }
            | PolicyError::Permit { at, .. }
            | PolicyError::Template { at }
            | PolicyError::DuplicateId { at, .. }
            | PolicyError::ReservedId { at, .. }
            | PolicyError::TooLong { at, .. }
            | PolicyError::TooDeep { at, .. }
            | PolicyError::TooComplex { at, .. } => *at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "ab\ncdé\n\nx";
        let cases = [
            (0, 1, 1),
            (1, 1, 2),
            (2, 1, 3),
            (3, 2, 1),
            (5, 2, 3),
            // Inside 'é' (two bytes): points at it.
            (6, 2, 3),
            (7, 2, 4),
            (8, 3, 1),
            (9, 4, 1),
            (99, 4, 2),
        ];
        for (offset, line, column) in cases {
            assert_eq!(
                Location::of_offset(text, offset),
                Location { line, column },
                "offset {offset}"
            );
        }
    }
}
