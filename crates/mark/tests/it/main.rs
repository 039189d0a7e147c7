//! The integration tests of confidant-mark, in one binary: real files from
//! several producers, checked with the real tools.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod damaged;
mod images;
mod office;
mod pdf;
mod text;
mod trace;
mod util;
