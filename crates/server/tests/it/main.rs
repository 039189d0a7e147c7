//! The server's integration tests: a real vault over a real SQLite store and
//! blob folder in a temporary directory, driven in process through the
//! router with `oneshot`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod api;
mod bad_input;
mod devices;
mod grants;
mod items;
mod masking;
mod people;
mod serve;
mod throttle;
mod util;
mod web;
