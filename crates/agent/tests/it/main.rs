//! The agent against the real machine: the command runner, the firewall
//! check on real nftables and iptables rulesets in network namespaces made
//! by the test (`netns`), and a whole check run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod netns;
mod runner;
