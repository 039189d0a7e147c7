//! Signing in with a password for an API token, and resolving tokens to
//! actors. Tokens are 256 random bits, given to the client once and stored
//! only as their SHA-256.

use aws_lc_rs::digest;
use confidant_core::normalize_email;
use confidant_crypto::verify_password;
use confidant_store::ApiTokenRecord;
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use std::net::IpAddr;

use crate::throttle::Key;
use crate::{Actor, Vault, VaultError};

/// How long an API token lives.
pub const TOKEN_LIFETIME: Duration = Duration::hours(12);
const TOKEN_PREFIX: &str = "cfd_";

/// A freshly issued bearer token.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
    pub actor: Actor,
}

fn token_hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

fn bad_credentials() -> VaultError {
    VaultError::Forbidden("the e-mail address or password is wrong".into())
}

impl Vault {
    /// Checks an e-mail address and password and issues a bearer token.
    /// The same error is given for an unknown address, an account without
    /// a password and a wrong password, after the same work. Repeated
    /// failures for an account or from a client address (`client`) are
    /// slowed down exponentially (`RateLimited`).
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
    ) -> Result<IssuedToken, VaultError> {
        let account =
            Key::Account(normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase()));
        let mut keys = vec![account.clone()];
        keys.extend(client.map(Key::address));
        let now = self.inner.clock.now();
        if let Some(wait) = self.inner.throttle.wait(&keys, now) {
            let seconds = wait.whole_seconds().max(1);
            self.record_sign_in(None, client, false, "throttled after repeated failures")
                .await?;
            return Err(VaultError::RateLimited {
                message: format!("too many failed sign-ins: try again in {seconds} s"),
                retry_after: wait,
            });
        }
        let person = match normalize_email(email) {
            Ok(email) => {
                self.store()
                    .person_by_email(self.workspace(), &email)
                    .await?
            }
            Err(_) => None,
        };
        let hash = person.as_ref().and_then(|p| p.password_hash.clone());
        let ok = self.check_password(password, hash).await?;
        let known = person.as_ref().map(|p| p.id);
        let Some(person) = person.filter(|_| ok) else {
            self.inner.throttle.failed(&keys, self.inner.clock.now());
            self.record_sign_in(known, client, false, "wrong e-mail address or password")
                .await?;
            return Err(bad_credentials());
        };
        self.record_sign_in(Some(person.id), client, true, "password verified")
            .await?;
        self.inner.throttle.succeeded(&account);
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token: String = format!(
            "{TOKEN_PREFIX}{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let now = self.inner.clock.now();
        let expires_at = now + TOKEN_LIFETIME;
        self.store()
            .insert_api_token(&ApiTokenRecord {
                hash: token_hash(&token),
                workspace: self.workspace(),
                person: person.id,
                created_at: now,
                expires_at,
            })
            .await?;
        let actor = Actor::from_person(crate::actor::person_of(person));
        Ok(IssuedToken {
            token: SecretString::from(token),
            expires_at,
            actor,
        })
    }

    /// Records a sign-in attempt; the account is named when it exists.
    async fn record_sign_in(
        &self,
        person: Option<confidant_core::PersonId>,
        client: Option<IpAddr>,
        allowed: bool,
        reason: &str,
    ) -> Result<(), VaultError> {
        let target = match person {
            Some(id) => confidant_ledger::TargetId::Person(id),
            None => confidant_ledger::TargetId::Workspace(self.workspace()),
        };
        self.record(&[crate::audit::Attempt {
            person,
            client,
            action: confidant_ledger::KnownAction::SignIn,
            target: confidant_ledger::Target::whole(target),
            allowed,
            reason: reason.to_owned(),
            categories: Vec::new(),
            keyed: Vec::new(),
        }])
        .await
    }

    /// Verifies `password` against `hash` off the async threads, at most
    /// [`crate::throttle::CONCURRENT_CHECKS`] at a time. Without a hash (no such account, or
    /// no password yet) it does the same work against a dummy hash and
    /// answers false, so timing does not tell which accounts exist.
    async fn check_password(
        &self,
        password: &SecretString,
        hash: Option<String>,
    ) -> Result<bool, VaultError> {
        let _permit = self
            .inner
            .password_checks
            .acquire()
            .await
            .map_err(|_| VaultError::Internal("the password checker is closed".into()))?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash).map_err(|e| {
                VaultError::Internal(format!("a stored password hash is unreadable: {e}"))
            }),
            None => {
                // One verification against a fixed hash: the same work as a
                // real check.
                static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
                let dummy = DUMMY.get_or_init(|| {
                    let secret = SecretString::from("confidant dummy password");
                    confidant_crypto::hash_password(&secret, &mut OsRng).unwrap_or_default()
                });
                let _ = verify_password(&password, dummy);
                Ok(false)
            }
        })
        .await
        .map_err(|e| VaultError::Internal(format!("the password check failed: {e}")))?
    }

    /// The actor a bearer token belongs to; `Forbidden` when the token is
    /// unknown or expired.
    pub async fn authenticate(&self, token: &SecretString) -> Result<Actor, VaultError> {
        let invalid =
            || VaultError::Forbidden("the token is invalid or expired: sign in again".into());
        let token = token.expose_secret();
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(invalid());
        }
        let hash = token_hash(token);
        let record = self.store().api_token(&hash).await?.ok_or_else(invalid)?;
        if record.workspace != self.workspace() {
            return Err(invalid());
        }
        if record.expires_at <= self.inner.clock.now() {
            self.store().delete_api_token(&hash).await?;
            return Err(invalid());
        }
        let person = self
            .store()
            .person(record.workspace, record.person)
            .await?
            .ok_or_else(invalid)?;
        Ok(Actor::from_person(crate::actor::person_of(person)))
    }

    /// Ends a token's life at once.
    pub async fn sign_out(&self, token: &SecretString) -> Result<(), VaultError> {
        self.store()
            .delete_api_token(&token_hash(token.expose_secret()))
            .await?;
        Ok(())
    }

    /// Adds a person without a password (they cannot sign in until the
    /// people issue's invitations exist). Used by the demo workspace.
    pub async fn add_person(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        role: confidant_core::Role,
    ) -> Result<confidant_core::Person, VaultError> {
        self.require_owner(actor, "add a person")?;
        let email = normalize_email(email).map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        if role == confidant_core::Role::Owner {
            return Err(VaultError::InvalidInput(
                "a workspace has exactly one owner".into(),
            ));
        }
        let record = confidant_store::PersonRecord {
            id: confidant_core::PersonId::random(&mut OsRng),
            workspace: self.workspace(),
            email,
            name: name.trim().to_owned(),
            role,
            password_hash: None,
            created_at: self.inner.clock.now(),
        };
        self.store()
            .insert_person(&record)
            .await
            .map_err(|e| match e {
                confidant_store::StoreError::Conflict(_) => VaultError::Conflict(format!(
                    "{} is already a member of this workspace",
                    record.email
                )),
                other => other.into(),
            })?;
        Ok(crate::actor::person_of(record))
    }

    /// Everyone of the workspace.
    pub async fn people(&self, actor: &Actor) -> Result<Vec<confidant_core::Person>, VaultError> {
        self.require_owner(actor, "list people")?;
        Ok(self
            .store()
            .people(self.workspace())
            .await?
            .into_iter()
            .map(crate::actor::person_of)
            .collect())
    }
}
