//! End-to-end tests of the `confidant` binary on real SQLite files, a real
//! blob folder and (in `postgres`) a real PostgreSQL server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backup;
mod browser;
mod crash;
mod devices;
mod docs;
mod incidents;
mod init;
mod ledger;
mod postgres;
mod records;
mod s3;
mod scan;
mod sentinel;
mod serve;
mod trace;
mod util;
