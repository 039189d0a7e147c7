//! Signing in (password, then the second factor), server-side sessions and
//! API tokens, and resolving a token to its actor on every request.
//!
//! Tokens are 256 random bits, handed to the client once and stored only as
//! their SHA-256. A web session lives until it is idle too long or reaches
//! its absolute lifetime; an API token likewise, on longer clocks. Between
//! a correct password and the second factor the client holds a half-session
//! good for nothing but finishing the sign-in, which is replaced by a new
//! token (a new id at sign-in). Every check reads the store, so ending a
//! session, or offboarding its person, takes effect on the very next
//! request in every server process.

use std::net::IpAddr;

use aws_lc_rs::digest;
use confidant_core::{PersonStatus, normalize_email};
use confidant_crypto::verify_password;
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_store::{PersonRecord, SessionKind, SessionRecord};
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::second_factor::{self, looks_like_recovery_code, recovery_code_hash};
use crate::throttle::Key;
use crate::{Actor, Vault, VaultError};

const TOKEN_PREFIX: &str = "cfd_";
/// How long the half-session between password and second factor lives.
const SECOND_FACTOR_WINDOW: Duration = Duration::minutes(5);
/// A session's last use is written at most this often.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// How long sessions and API tokens live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A web session ends after this long without a request.
    pub web_idle: Duration,
    /// A web session ends this long after sign-in, whatever its use.
    pub web_lifetime: Duration,
    /// An API token ends after this long unused.
    pub api_idle: Duration,
    /// An API token ends this long after `confidant login`.
    pub api_lifetime: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            web_idle: Duration::minutes(30),
            web_lifetime: Duration::hours(12),
            api_idle: Duration::days(7),
            api_lifetime: Duration::days(30),
        }
    }
}

impl SessionPolicy {
    fn idle(&self, kind: SessionKind) -> Duration {
        match kind {
            SessionKind::Web => self.web_idle,
            SessionKind::Api => self.api_idle,
            SessionKind::SecondFactor => SECOND_FACTOR_WINDOW,
        }
    }

    fn lifetime(&self, kind: SessionKind) -> Duration {
        match kind {
            SessionKind::Web => self.web_lifetime,
            SessionKind::Api => self.api_lifetime,
            SessionKind::SecondFactor => SECOND_FACTOR_WINDOW,
        }
    }
}

/// What a client asks a sign-in for.
#[derive(Debug, Clone)]
pub struct SessionRequest {
    /// A web session or an API token.
    pub api: bool,
    /// What the holder calls it ("cli on laptop", the browser's name).
    pub label: String,
}

impl SessionRequest {
    pub fn web(label: &str) -> Self {
        SessionRequest {
            api: false,
            label: label.to_owned(),
        }
    }

    pub fn api(label: &str) -> Self {
        SessionRequest {
            api: true,
            label: label.to_owned(),
        }
    }

    pub(crate) fn kind(&self) -> SessionKind {
        if self.api {
            SessionKind::Api
        } else {
            SessionKind::Web
        }
    }
}

/// A freshly issued session or API token.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: SecretString,
    pub expires_at: OffsetDateTime,
    pub actor: Actor,
}

/// The outcome of a correct password.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in (an owner who has not enrolled a second factor yet: the
    /// web UI takes them to enrollment first).
    Done(IssuedToken),
    /// The second factor is needed: `pending` is good only for
    /// [`Vault::complete_sign_in`], for a few minutes.
    SecondFactor { pending: SecretString },
}

/// One of a person's sessions, as they and the owner see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// A handle for ending it (not the token: a hash of its hash).
    pub id: String,
    pub api: bool,
    pub label: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// A new random token with confidant's prefix (so secret scanners can spot
/// a leaked one).
pub(crate) fn new_token() -> SecretString {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn session_id(hash: &[u8]) -> String {
    hex(&digest::digest(&digest::SHA256, hash).as_ref()[..12])
}

fn bad_credentials() -> VaultError {
    VaultError::Forbidden("the e-mail address or password is wrong".into())
}

fn bad_code() -> VaultError {
    VaultError::Forbidden(
        "the code is wrong or was used already: enter the current code from your authenticator \
         app, or an unused recovery code"
            .into(),
    )
}

fn invalid_session() -> VaultError {
    VaultError::Forbidden("the session has ended or the token is invalid: sign in again".into())
}

impl Vault {
    /// Checks an e-mail address and password. The same error is given for
    /// an unknown address, an invited or offboarded person and a wrong
    /// password, after the same work. Repeated failures for an account or
    /// from a client address are slowed down exponentially (`RateLimited`).
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
        request: &SessionRequest,
    ) -> Result<SignIn, VaultError> {
        let keys = throttle_keys(email, client);
        self.check_throttle(&keys, client).await?;
        let person = match normalize_email(email) {
            Ok(email) => {
                self.store()
                    .person_by_email(self.workspace(), &email)
                    .await?
            }
            Err(_) => None,
        };
        let hash = person
            .as_ref()
            .filter(|p| p.status == PersonStatus::Active)
            .and_then(|p| p.password_hash.clone());
        let ok = self.check_password(password, hash).await?;
        let known = person.as_ref().map(|p| p.id);
        let Some(person) = person.filter(|_| ok) else {
            self.inner.throttle.failed(&keys, self.inner.clock.now());
            self.record_sign_in(known, client, false, "wrong e-mail address or password")
                .await?;
            return Err(bad_credentials());
        };
        if person.totp_secret_ct.is_some() {
            self.record_sign_in(
                Some(person.id),
                client,
                true,
                "password verified; second factor next",
            )
            .await?;
            let pending = self
                .start_session(&person, SessionKind::SecondFactor, &request.label)
                .await?;
            return Ok(SignIn::SecondFactor {
                pending: pending.token,
            });
        }
        self.record_sign_in(
            Some(person.id),
            client,
            true,
            "password verified; no second factor enrolled yet",
        )
        .await?;
        self.inner.throttle.succeeded(&keys[0]);
        Ok(SignIn::Done(
            self.start_session(&person, request.kind(), &request.label)
                .await?,
        ))
    }

    /// Finishes a sign-in with a TOTP code or a recovery code: the pending
    /// half-session is replaced by a new session (or API token, as
    /// `request` says). Wrong or replayed codes count as failures for the
    /// account and the address.
    pub async fn complete_sign_in(
        &self,
        pending: &SecretString,
        code: &str,
        client: Option<IpAddr>,
        request: &SessionRequest,
    ) -> Result<IssuedToken, VaultError> {
        let hash = token_hash(pending.expose_secret());
        let now = self.inner.clock.now();
        let session = self
            .store()
            .session(&hash)
            .await?
            .filter(|s| s.kind == SessionKind::SecondFactor && s.workspace == self.workspace())
            .filter(|s| s.expires_at > now)
            .ok_or_else(|| {
                VaultError::Forbidden(
                    "the sign-in took too long or was finished already: sign in again".into(),
                )
            })?;
        let person = self
            .store()
            .person(self.workspace(), session.person)
            .await?
            .filter(|p| p.status == PersonStatus::Active)
            .ok_or_else(invalid_session)?;
        let keys = throttle_keys(&person.email, client);
        self.check_throttle(&keys, client).await?;
        let how = self.check_second_factor(&person, code).await?;
        let Some(how) = how else {
            self.inner.throttle.failed(&keys, self.inner.clock.now());
            self.record_sign_in(
                Some(person.id),
                client,
                false,
                "wrong or reused one-time code",
            )
            .await?;
            return Err(bad_code());
        };
        self.record_sign_in(Some(person.id), client, true, how)
            .await?;
        self.inner.throttle.succeeded(&keys[0]);
        let issued = self.new_session(&person, request.kind(), &request.label)?;
        if !self.store().replace_session(&hash, &issued.1).await? {
            return Err(VaultError::Forbidden(
                "this sign-in was finished already: sign in again".into(),
            ));
        }
        Ok(issued.0)
    }

    /// Checks a TOTP or recovery code for `person`, using it up; returns
    /// how the factor was verified, or `None` when the code is not good.
    pub(crate) async fn check_second_factor(
        &self,
        person: &PersonRecord,
        code: &str,
    ) -> Result<Option<&'static str>, VaultError> {
        let ws = self.workspace();
        let now = self.inner.clock.now();
        if looks_like_recovery_code(code) {
            let hash = recovery_code_hash(ws, person.id, code);
            let used = self
                .store()
                .use_recovery_code(ws, person.id, &hash, now)
                .await?;
            return Ok(used.then_some("password and a recovery code verified"));
        }
        let Some(sealed) = &person.totp_secret_ct else {
            return Ok(None);
        };
        let secret = self.open_totp_secret(person.id, sealed)?;
        let Some(step) = second_factor::check_code(&secret, code, now) else {
            return Ok(None);
        };
        let fresh = self.store().claim_totp_step(ws, person.id, step).await?;
        Ok(fresh.then_some("password and authenticator code verified"))
    }

    pub(crate) fn open_totp_secret(
        &self,
        person: confidant_core::PersonId,
        sealed: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let context = second_factor::secret_context(self.workspace(), person);
        let parts: Vec<&[u8]> = context.iter().map(Vec::as_slice).collect();
        self.open_small("a stored authenticator secret", &parts, sealed)
    }

    pub(crate) fn seal_totp_secret(
        &self,
        person: confidant_core::PersonId,
        secret: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let context = second_factor::secret_context(self.workspace(), person);
        let parts: Vec<&[u8]> = context.iter().map(Vec::as_slice).collect();
        self.seal_small(&parts, secret)
    }

    async fn check_throttle(&self, keys: &[Key], client: Option<IpAddr>) -> Result<(), VaultError> {
        let now = self.inner.clock.now();
        if let Some(wait) = self.inner.throttle.wait(keys, now) {
            let seconds = wait.whole_seconds().max(1);
            self.record_sign_in(None, client, false, "throttled after repeated failures")
                .await?;
            return Err(VaultError::RateLimited {
                message: format!("too many failed sign-ins: try again in {seconds} s"),
                retry_after: wait,
            });
        }
        Ok(())
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
            Some(id) => TargetId::Person(id),
            None => TargetId::Workspace(self.workspace()),
        };
        self.record(&[crate::audit::Attempt {
            person,
            client,
            action: KnownAction::SignIn,
            target: Target::whole(target),
            allowed,
            reason: reason.to_owned(),
            categories: Vec::new(),
            keyed: Vec::new(),
            delivery: None,
            device: None,
        }])
        .await
    }

    /// Makes (but does not store) a new session for `person`.
    pub(crate) fn new_session(
        &self,
        person: &PersonRecord,
        kind: SessionKind,
        label: &str,
    ) -> Result<(IssuedToken, SessionRecord), VaultError> {
        let token = new_token();
        let now = self.inner.clock.now();
        let expires_at = now + self.session_policy().lifetime(kind);
        let label: String = label
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let record = SessionRecord {
            hash: token_hash(token.expose_secret()),
            workspace: self.workspace(),
            person: person.id,
            kind,
            label,
            created_at: now,
            last_used_at: now,
            expires_at,
            device: None,
        };
        let actor = Actor::from_record(person);
        Ok((
            IssuedToken {
                token,
                expires_at,
                actor,
            },
            record,
        ))
    }

    pub(crate) async fn start_session(
        &self,
        person: &PersonRecord,
        kind: SessionKind,
        label: &str,
    ) -> Result<IssuedToken, VaultError> {
        let (issued, record) = self.new_session(person, kind, label)?;
        self.store().insert_session(&record).await?;
        Ok(issued)
    }

    pub(crate) fn session_policy(&self) -> SessionPolicy {
        match self.inner.session_policy.read() {
            Ok(p) => *p,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Sets how long sessions and tokens live (from the server's settings).
    pub fn set_session_policy(&self, policy: SessionPolicy) {
        match self.inner.session_policy.write() {
            Ok(mut p) => *p = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }

    /// The actor a web session (`api` false) or API token (`api` true)
    /// belongs to; `Forbidden` when it is unknown, of the other kind,
    /// expired, idle too long, or its person is no longer active.
    pub async fn authenticate(&self, token: &SecretString, api: bool) -> Result<Actor, VaultError> {
        let token = token.expose_secret();
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
            return Err(invalid_session());
        }
        let hash = token_hash(token);
        let record = self
            .store()
            .session(&hash)
            .await?
            .ok_or_else(invalid_session)?;
        let wanted = if api {
            SessionKind::Api
        } else {
            SessionKind::Web
        };
        if record.workspace != self.workspace() || record.kind != wanted {
            return Err(invalid_session());
        }
        let now = self.inner.clock.now();
        let idle = self.session_policy().idle(record.kind);
        if record.expires_at <= now || now - record.last_used_at >= idle {
            self.store().delete_session(&hash).await?;
            return Err(invalid_session());
        }
        let person = self
            .store()
            .person(record.workspace, record.person)
            .await?
            .filter(|p| p.status == PersonStatus::Active)
            .ok_or_else(invalid_session)?;
        if now - record.last_used_at >= TOUCH_EVERY {
            self.store().touch_session(&hash, now).await?;
        }
        let mut actor = Actor::from_record(&person);
        actor.device = record.device;
        Ok(actor)
    }

    /// Ends a session or token at once (signing out).
    pub async fn sign_out(&self, token: &SecretString) -> Result<(), VaultError> {
        let hash = token_hash(token.expose_secret());
        if let Some(session) = self.store().session(&hash).await?
            && session.workspace == self.workspace()
        {
            self.store().delete_session(&hash).await?;
            self.record(&[crate::audit::Attempt {
                person: Some(session.person),
                client: None,
                action: KnownAction::SignOut,
                target: Target::whole(TargetId::Person(session.person)),
                allowed: true,
                reason: format!("{} session ended by its holder", kind_name(session.kind)),
                categories: Vec::new(),
                keyed: Vec::new(),
                delivery: None,
                device: None,
            }])
            .await?;
        }
        Ok(())
    }

    /// The actor's own sessions and API tokens.
    pub async fn my_sessions(&self, actor: &Actor) -> Result<Vec<SessionInfo>, VaultError> {
        self.require_member(actor)?;
        self.sessions_of_person(actor.person).await
    }

    pub(crate) async fn sessions_of_person(
        &self,
        person: confidant_core::PersonId,
    ) -> Result<Vec<SessionInfo>, VaultError> {
        let now = self.inner.clock.now();
        let policy = self.session_policy();
        Ok(self
            .store()
            .sessions_of(self.workspace(), person)
            .await?
            .into_iter()
            .filter(|s| s.kind != SessionKind::SecondFactor)
            .filter(|s| s.expires_at > now && now - s.last_used_at < policy.idle(s.kind))
            .map(|s| SessionInfo {
                id: session_id(&s.hash),
                api: s.kind == SessionKind::Api,
                label: s.label,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
            })
            .collect())
    }

    /// Ends one of the actor's own sessions or tokens by its id (from
    /// [`Vault::my_sessions`]). `NotFound` when there is no such session.
    pub async fn end_my_session(&self, actor: &Actor, id: &str) -> Result<(), VaultError> {
        self.require_member(actor)?;
        let sessions = self
            .store()
            .sessions_of(self.workspace(), actor.person)
            .await?;
        let session = sessions
            .into_iter()
            .find(|s| session_id(&s.hash) == id)
            .ok_or_else(|| VaultError::NotFound("there is no such session of yours".into()))?;
        self.store().delete_session(&session.hash).await?;
        self.record(&[crate::audit::Attempt {
            person: Some(actor.person),
            client: None,
            action: KnownAction::SignOut,
            target: Target::whole(TargetId::Person(actor.person)),
            allowed: true,
            reason: format!(
                "{} \"{}\" revoked by its holder",
                kind_name(session.kind),
                session.label
            ),
            categories: Vec::new(),
            keyed: Vec::new(),
            delivery: None,
            device: None,
        }])
        .await
    }

    /// Verifies `password` against `hash` off the async threads, at most
    /// [`crate::throttle::concurrent_checks`] at a time. Without a hash (no such account, or
    /// no password yet) it does the same work against a dummy hash and
    /// answers false, so timing does not tell which accounts exist.
    pub(crate) async fn check_password(
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

    /// Hashes a new password off the async threads, under the same cap as
    /// checks.
    pub(crate) async fn hash_new_password(
        &self,
        password: &SecretString,
    ) -> Result<String, VaultError> {
        let _permit = self
            .inner
            .password_checks
            .acquire()
            .await
            .map_err(|_| VaultError::Internal("the password checker is closed".into()))?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            confidant_crypto::hash_password(&password, &mut OsRng)
                .map_err(|e| VaultError::Internal(format!("hashing the password failed: {e}")))
        })
        .await
        .map_err(|e| VaultError::Internal(format!("hashing the password failed: {e}")))?
    }
}

fn kind_name(kind: SessionKind) -> &'static str {
    match kind {
        SessionKind::Web => "web",
        SessionKind::Api => "API token",
        SessionKind::SecondFactor => "unfinished sign-in",
    }
}

fn throttle_keys(email: &str, client: Option<IpAddr>) -> Vec<Key> {
    let account =
        Key::Account(normalize_email(email).unwrap_or_else(|_| email.trim().to_lowercase()));
    let mut keys = vec![account];
    keys.extend(client.map(Key::address));
    keys
}
