//! The integration tests of confidant-mark, in one binary: real files from
//! several producers, checked with the real tools.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pdf;
mod util;
