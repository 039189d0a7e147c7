//! Slowing down password guessing: per-account and per-address failure
//! counts with an exponential delay, and a cap on concurrent password
//! checks (each Argon2id verification takes 64 MiB and tens of
//! milliseconds of CPU).
//!
//! The state lives in this process's memory: with several server processes
//! each throttles what it sees (the people issue moves it to the store).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Failures allowed before any delay.
const FREE_FAILURES: u32 = 3;
/// The longest delay after repeated failures.
const MAX_DELAY: Duration = Duration::minutes(15);
/// Entries idle this long are forgotten.
const FORGET_AFTER: Duration = Duration::hours(24);
/// Above this many entries, idle ones are pruned, so an attacker cycling
/// addresses cannot grow memory without bound.
const PRUNE_ABOVE: usize = 10_000;
/// Password checks running at once: half the CPUs, at least one. Each
/// check holds a CPU for about 100 ms and 64 MiB, so a burst of sign-ins
/// can never take every CPU (other requests keep the rest) nor more than
/// a bounded amount of memory; the sign-in benchmark shows both.
pub(crate) fn concurrent_checks() -> usize {
    std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1)
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    blocked_until: OffsetDateTime,
    last_failure: OffsetDateTime,
}

/// What is counted: an account (by normalized e-mail) or a client address
/// (IPv6 by its /64, which one client usually holds whole).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Account(String),
    Address(IpAddr),
}

impl Key {
    pub(crate) fn address(ip: IpAddr) -> Key {
        match ip {
            IpAddr::V4(_) => Key::Address(ip),
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                Key::Address(IpAddr::V6(segments.into()))
            }
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// The delay after `failures` consecutive failures: none for the first
/// few, then 1 s, 2 s, 4 s, ... up to [`MAX_DELAY`].
fn delay(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let exponent = (failures - FREE_FAILURES).min(20);
    Duration::seconds(1i64 << exponent).min(MAX_DELAY)
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // Every change is a single insert or remove: a panic elsewhere
        // cannot leave the map inconsistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long the caller must wait before trying any of `keys`, if at all.
    pub(crate) fn wait(&self, keys: &[Key], now: OffsetDateTime) -> Option<Duration> {
        let entries = self.lock();
        keys.iter()
            .filter_map(|k| entries.get(k))
            .map(|e| e.blocked_until - now)
            .filter(|d| d.is_positive())
            .max()
    }

    pub(crate) fn failed(&self, keys: &[Key], now: OffsetDateTime) {
        let mut entries = self.lock();
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, e| now - e.last_failure < FORGET_AFTER && e.blocked_until > now);
        }
        for key in keys {
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                blocked_until: now,
                last_failure: now,
            });
            if now - entry.last_failure >= FORGET_AFTER {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            entry.blocked_until = now + delay(entry.failures);
        }
    }

    pub(crate) fn succeeded(&self, key: &Key) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_to_a_cap() {
        let got: Vec<i64> = (0..30).map(|n| delay(n).whole_seconds()).collect();
        assert_eq!(&got[..8], &[0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(got[29], 900);
    }

    #[test]
    fn failures_block_then_success_clears_the_account() {
        let t = Throttle::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        let account = Key::Account("ann@example.com".into());
        let ip = Key::address("192.0.2.7".parse().unwrap());
        let keys = [account.clone(), ip.clone()];
        for _ in 0..3 {
            assert_eq!(t.wait(&keys, now), None);
            t.failed(&keys, now);
        }
        assert_eq!(t.wait(&keys, now), Some(Duration::seconds(1)));
        assert_eq!(t.wait(&keys, now + Duration::seconds(1)), None);
        t.failed(&keys, now + Duration::seconds(1));
        assert_eq!(
            t.wait(&keys, now + Duration::seconds(1)),
            Some(Duration::seconds(2))
        );
        t.succeeded(&account);
        // The address still waits: it may be guessing other accounts.
        assert_eq!(
            t.wait(&[ip], now + Duration::seconds(1)),
            Some(Duration::seconds(2))
        );
        assert_eq!(t.wait(&[account], now + Duration::seconds(1)), None);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = Key::address("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = Key::address("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = Key::address("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
