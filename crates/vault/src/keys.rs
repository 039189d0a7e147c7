//! Creating a workspace, unlocking it, and rotating its key-encryption key.

use std::sync::{Arc, RwLock};

use confidant_core::{KeyId, PersonId, PersonStatus, Role, WorkspaceId, normalize_email};
use confidant_crypto::{
    DataKey, FieldKeys, FieldPurpose, KdfParams, Kek, KeyFile, RootKey, RootSeal, SigningKey,
    hash_password,
};
use confidant_store::{
    BlobStore, KeyOwner, KeyRotation, PersonRecord, Store, WorkspaceRecord, WrappedKeyRecord,
};
use rand_core::OsRng;
use secrecy::{ExposeSecret, SecretString};

use confidant_ledger::{KnownAction, Target, TargetId};

use crate::{Actor, Clock, Inner, Vault, VaultError};

/// What opens a workspace.
#[derive(Debug)]
pub enum Unlock {
    Passphrase(SecretString),
    KeyFile(KeyFile),
}

/// What `confidant init` (and `confidant workspace add`) asks for.
#[derive(Debug)]
pub struct InitOptions {
    pub workspace_name: String,
    pub owner_email: String,
    pub owner_name: String,
    pub owner_password: SecretString,
    pub unlock: Unlock,
    pub kdf: KdfParams,
}

/// The shortest passphrase or password accepted (NIST SP 800-63B and OWASP
/// ASVS ask for at least 8 and recommend more; the passphrase guards every
/// key of the workspace).
pub const MIN_SECRET_CHARS: usize = 12;

/// The workspace's unsealed keys.
#[derive(Debug)]
pub(crate) struct Keys {
    pub(crate) kek_id: KeyId,
    pub(crate) kek: Kek,
    pub(crate) names: FieldKeys,
    pub(crate) signing: SigningKey,
}

#[derive(Debug)]
pub(crate) struct KeyRing {
    root: RootKey,
    current: RwLock<Arc<Keys>>,
}

impl KeyRing {
    /// The workspace's root key (for sealing server-level keys).
    pub(crate) fn root(&self) -> &RootKey {
        &self.root
    }
}

pub(crate) fn kek_context(ws: WorkspaceId, kek: KeyId) -> Vec<u8> {
    [b"kek".as_slice(), ws.as_bytes(), kek.as_bytes()].concat()
}

pub(crate) fn key_context(ws: WorkspaceId, owner: KeyOwner) -> Vec<u8> {
    match owner {
        KeyOwner::Signing => [b"signing".as_slice(), ws.as_bytes()].concat(),
        KeyOwner::Names => [b"names".as_slice(), ws.as_bytes()].concat(),
        KeyOwner::Document(id) => [b"document".as_slice(), ws.as_bytes(), id.as_bytes()].concat(),
        KeyOwner::RecordSet(id) => {
            [b"record-set".as_slice(), ws.as_bytes(), id.as_bytes()].concat()
        }
    }
}

fn check_secret(what: &str, secret: &SecretString) -> Result<(), VaultError> {
    let chars = secret.expose_secret().chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the {what} has {chars} characters: use at least {MIN_SECRET_CHARS} (a few random words work well)"
        )));
    }
    Ok(())
}

fn unlock_keys(root: &RootKey, record: &WorkspaceRecord) -> Result<Keys, VaultError> {
    let ws = record.id;
    let kek = root
        .unwrap_kek(&record.kek_wrapped, &kek_context(ws, record.kek_id))
        .map_err(|e| VaultError::crypto("the workspace key-encryption key", e))?;
    let names = kek
        .unwrap(&record.names_key_wrapped, &key_context(ws, KeyOwner::Names))
        .and_then(|k| FieldKeys::derive(&k, FieldPurpose::Names))
        .map_err(|e| VaultError::crypto("the workspace names key", e))?;
    let seed = kek
        .unwrap(
            &record.signing_key_wrapped,
            &key_context(ws, KeyOwner::Signing),
        )
        .map_err(|e| VaultError::crypto("the workspace signing key", e))?;
    let signing = SigningKey::from_seed(&seed);
    if signing.verifying_key().to_bytes().as_slice() != record.signing_public_key.as_slice() {
        return Err(VaultError::Integrity(
            "the workspace signing key does not match its public key: the database was changed"
                .into(),
        ));
    }
    Ok(Keys {
        kek_id: record.kek_id,
        kek,
        names,
        signing,
    })
}

fn no_workspace() -> VaultError {
    VaultError::NotFound("there is no workspace here yet: run `confidant init` first".into())
}

/// What the workspaces of one server process share.
#[derive(Debug, Clone)]
struct Shared {
    throttle: Arc<crate::throttle::Throttle>,
    password_checks: Arc<tokio::sync::Semaphore>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            throttle: Arc::default(),
            password_checks: Arc::new(tokio::sync::Semaphore::new(
                crate::throttle::concurrent_checks(),
            )),
        }
    }
}

fn crypto_internal(e: confidant_crypto::CryptoError) -> VaultError {
    VaultError::Internal(format!("key generation failed: {e}"))
}

impl Vault {
    /// Creates the first workspace of a database with its owner and keys.
    /// Fails with `Conflict` (changing nothing) when the database already
    /// holds a workspace.
    pub async fn init(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        options: InitOptions,
    ) -> Result<Vault, VaultError> {
        if store.workspace().await?.is_some() {
            return Err(VaultError::Conflict(
                "this database already holds a workspace: nothing was changed".into(),
            ));
        }
        Self::create(store, blobs, clock, options, Shared::default()).await
    }

    /// Adds another workspace (tenant) to a database that has one: the
    /// server's passphrase or key file (`options.unlock`) must open the
    /// first workspace, and the new one is sealed with it too, so one
    /// unlock serves them all. Fails with `Conflict` when the name is taken.
    pub async fn add_workspace(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        options: InitOptions,
    ) -> Result<Vault, VaultError> {
        let first =
            Self::open(store.clone(), blobs.clone(), clock.clone(), &options.unlock).await?;
        let shared = Shared {
            throttle: first.inner.throttle.clone(),
            password_checks: first.inner.password_checks.clone(),
        };
        Self::create(store, blobs, clock, options, shared).await
    }

    async fn create(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        options: InitOptions,
        shared: Shared,
    ) -> Result<Vault, VaultError> {
        let email = normalize_email(&options.owner_email)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let owner_name = options.owner_name.trim().to_owned();
        if owner_name.is_empty() {
            return Err(VaultError::InvalidInput(
                "the owner's name is empty: pass --owner-name".into(),
            ));
        }
        let workspace_name = options.workspace_name.trim().to_owned();
        if workspace_name.is_empty() || workspace_name.chars().any(char::is_control) {
            return Err(VaultError::InvalidInput(
                "the workspace name is empty or has control characters: pass --name".into(),
            ));
        }
        crate::password_rules::check_new_password(
            &options.owner_password,
            &[&email, &owner_name, &workspace_name],
        )?;
        if let Unlock::Passphrase(p) = &options.unlock {
            check_secret("passphrase", p)?;
        }
        let rng = &mut OsRng;
        let now = clock.now();
        let ws = WorkspaceId::random(rng);
        let root = RootKey::generate(rng);
        let seal = match &options.unlock {
            Unlock::Passphrase(p) => {
                RootSeal::with_passphrase(&root, p, options.kdf, ws.as_bytes(), rng)
            }
            Unlock::KeyFile(f) => RootSeal::with_key_file(&root, f, ws.as_bytes(), rng),
        }
        .map_err(|e| VaultError::Internal(format!("sealing the root key failed: {e}")))?;
        let kek_id = KeyId::random(rng);
        let kek = Kek::generate(rng);
        let names_key = DataKey::generate(rng);
        let seed = DataKey::generate(rng);
        let signing = SigningKey::from_seed(&seed);
        let record = WorkspaceRecord {
            id: ws,
            name: workspace_name.clone(),
            created_at: now,
            root_seal: seal.to_json(),
            kek_id,
            kek_wrapped: root
                .wrap_kek(&kek, &kek_context(ws, kek_id), rng)
                .map_err(crypto_internal)?,
            signing_key_wrapped: kek
                .wrap(&seed, &key_context(ws, KeyOwner::Signing), rng)
                .map_err(crypto_internal)?,
            signing_public_key: signing.verifying_key().to_bytes().to_vec(),
            names_key_wrapped: kek
                .wrap(&names_key, &key_context(ws, KeyOwner::Names), rng)
                .map_err(crypto_internal)?,
        };
        let owner = PersonRecord {
            id: PersonId::random(rng),
            workspace: ws,
            email,
            name: owner_name,
            role: Role::Owner,
            password_hash: Some(
                hash_password(&options.owner_password, rng).map_err(crypto_internal)?,
            ),
            created_at: now,
            status: PersonStatus::Active,
            totp_secret_ct: None,
            totp_last_step: None,
            offboarded_at: None,
            offboard_reason: None,
        };
        store
            .create_workspace(&record, &owner)
            .await
            .map_err(|e| match e {
                confidant_store::StoreError::Conflict(_) => VaultError::Conflict(format!(
                    "a workspace named {workspace_name:?} exists already: nothing was changed"
                )),
                other => other.into(),
            })?;
        let keys = unlock_keys(&root, &record)?;
        Ok(Vault::assemble(
            store, blobs, clock, &record, root, keys, shared,
        ))
    }

    /// Opens the first workspace of `store` with a passphrase or key file.
    /// A wrong secret is a `Locked` error and changes nothing.
    pub async fn open(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        unlock: &Unlock,
    ) -> Result<Vault, VaultError> {
        let record = store.workspace().await?.ok_or_else(no_workspace)?;
        Self::open_record(store, blobs, clock, unlock, record, Shared::default()).await
    }

    /// Opens the workspace named `name` (or the first when `None`).
    pub async fn open_named(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        unlock: &Unlock,
        name: Option<&str>,
    ) -> Result<Vault, VaultError> {
        let Some(name) = name else {
            return Self::open(store, blobs, clock, unlock).await;
        };
        let all = store.workspaces().await?;
        let names: Vec<String> = all.iter().map(|w| format!("{:?}", w.name)).collect();
        let record = all
            .into_iter()
            .find(|w| w.name.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                VaultError::NotFound(format!(
                    "there is no workspace {name:?} here: the workspaces are {}",
                    names.join(", ")
                ))
            })?;
        Self::open_record(store, blobs, clock, unlock, record, Shared::default()).await
    }

    /// Opens every workspace of `store` (for a server), sharing the sign-in
    /// throttle and the password-check cap.
    pub async fn open_all(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        unlock: &Unlock,
    ) -> Result<Vec<Vault>, VaultError> {
        let records = store.workspaces().await?;
        if records.is_empty() {
            return Err(no_workspace());
        }
        let shared = Shared::default();
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            out.push(
                Self::open_record(
                    store.clone(),
                    blobs.clone(),
                    clock.clone(),
                    unlock,
                    record,
                    shared.clone(),
                )
                .await?,
            );
        }
        Ok(out)
    }

    async fn open_record(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        unlock: &Unlock,
        record: WorkspaceRecord,
        shared: Shared,
    ) -> Result<Vault, VaultError> {
        let seal = RootSeal::from_json(&record.root_seal)
            .map_err(|e| VaultError::crypto("the sealed root key", e))?;
        let ctx = record.id.as_bytes();
        let root = match unlock {
            Unlock::Passphrase(p) => seal.unseal_with_passphrase(p, ctx),
            Unlock::KeyFile(f) => seal.unseal_with_key_file(f, ctx),
        }
        .map_err(|e| match (e, unlock) {
            (confidant_crypto::CryptoError::WrongKeyFile, Unlock::Passphrase(_)) => VaultError::Locked(
                "this workspace is sealed with a key file, not a passphrase: pass --key-file".into(),
            ),
            (confidant_crypto::CryptoError::WrongPassphrase, Unlock::KeyFile(_)) => VaultError::Locked(
                "this workspace is sealed with a passphrase, not a key file: set CONFIDANT_PASSPHRASE".into(),
            ),
            (e, _) => VaultError::crypto("the sealed root key", e),
        })?;
        let keys = unlock_keys(&root, &record)?;
        Ok(Vault::assemble(
            store, blobs, clock, &record, root, keys, shared,
        ))
    }

    fn assemble(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        record: &WorkspaceRecord,
        root: RootKey,
        keys: Keys,
        shared: Shared,
    ) -> Vault {
        Vault {
            inner: Arc::new(Inner {
                store,
                blobs,
                clock,
                workspace: record.id,
                workspace_name: record.name.clone(),
                keys: KeyRing {
                    root,
                    current: RwLock::new(Arc::new(keys)),
                },
                throttle: shared.throttle,
                password_checks: shared.password_checks,
                session_policy: std::sync::RwLock::new(crate::SessionPolicy::default()),
                ledger_group: crate::audit::LedgerGroup::default(),
                engine: crate::access::EngineCache::default(),
            }),
        }
    }

    /// The keys in force for data wrapped under `kek_id`. When another
    /// server process rotated the KEK, the new one is loaded from the store.
    pub(crate) async fn keys_for(&self, kek_id: KeyId) -> Result<Arc<Keys>, VaultError> {
        let current = self.current_keys();
        if current.kek_id == kek_id {
            return Ok(current);
        }
        self.reload_keys().await?;
        let current = self.current_keys();
        if current.kek_id == kek_id {
            Ok(current)
        } else {
            Err(VaultError::Integrity(format!(
                "data is wrapped under key {kek_id}, which is not the workspace's key: the database was changed"
            )))
        }
    }

    pub(crate) fn current_keys(&self) -> Arc<Keys> {
        match self.inner.keys.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    async fn reload_keys(&self) -> Result<(), VaultError> {
        let record = self
            .store()
            .workspaces()
            .await?
            .into_iter()
            .find(|w| w.id == self.inner.workspace)
            .ok_or_else(|| VaultError::Internal("the workspace disappeared".into()))?;
        let keys = Arc::new(unlock_keys(&self.inner.keys.root, &record)?);
        match self.inner.keys.current.write() {
            Ok(mut guard) => *guard = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
        Ok(())
    }

    /// Makes a new key-encryption key, rewraps every data key under it and
    /// destroys the old one, in one transaction. No content is re-encrypted.
    /// Returns the number of keys rewrapped.
    pub async fn rotate_keys(&self, actor: &Actor) -> Result<usize, VaultError> {
        self.gate(actor, "rotate keys", KnownAction::KeyRotate)
            .await?;
        let ws = self.inner.workspace;
        self.reload_keys().await?;
        let old = self.current_keys();
        let rng = &mut OsRng;
        let new_kek_id = KeyId::random(rng);
        let new_kek = Kek::generate(rng);
        let mut keys = Vec::new();
        for wrapped in self.store().wrapped_keys(ws).await? {
            if wrapped.kek_id != old.kek_id {
                return Err(VaultError::Integrity(format!(
                    "a key is wrapped under {} instead of the current key-encryption key: the database was changed",
                    wrapped.kek_id
                )));
            }
            let context = key_context(ws, wrapped.owner);
            let key = old
                .kek
                .unwrap(&wrapped.wrapped, &context)
                .map_err(|e| VaultError::crypto("a wrapped data key", e))?;
            keys.push(WrappedKeyRecord {
                owner: wrapped.owner,
                kek_id: new_kek_id,
                wrapped: new_kek.wrap(&key, &context, rng).map_err(crypto_internal)?,
            });
        }
        let count = keys.len();
        let rotation = KeyRotation {
            old_kek_id: old.kek_id,
            new_kek_id,
            new_kek_wrapped: self
                .inner
                .keys
                .root
                .wrap_kek(&new_kek, &kek_context(ws, new_kek_id), rng)
                .map_err(crypto_internal)?,
            keys,
        };
        let target = Target::whole(TargetId::Workspace(ws));
        self.allow(actor, KnownAction::KeyRotate, target, [])
            .await?;
        self.store().rotate_keys(ws, &rotation).await.map_err(|e| match e {
            confidant_store::StoreError::Conflict(_) => VaultError::Conflict(
                "the workspace changed while its keys were rotated (nothing was changed): run `confidant keys rotate` again".into(),
            ),
            other => other.into(),
        })?;
        self.reload_keys().await?;
        Ok(count)
    }

    /// Seals a small value (a TOTP secret, a grant's scope) with the
    /// workspace names key, bound to `context`, so it opens nowhere else.
    pub(crate) fn seal_small(
        &self,
        context: &[&[u8]],
        value: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        self.current_keys()
            .names
            .seal(context, value, &mut OsRng)
            .map_err(|e| VaultError::Internal(format!("sealing a value failed: {e}")))
    }

    /// Opens what [`Vault::seal_small`] sealed with the same `context`;
    /// `what` names it in an integrity error.
    pub(crate) fn open_small(
        &self,
        what: &str,
        context: &[&[u8]],
        sealed: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        self.current_keys()
            .names
            .open(context, sealed)
            .map_err(|e| VaultError::crypto(what, e))
    }

    /// The workspace's Ed25519 public key: the key that will verify its
    /// ledger checkpoints, signatures and backups.
    pub fn public_key(&self) -> [u8; 32] {
        self.current_keys().signing.verifying_key().to_bytes()
    }

    pub(crate) fn require_owner(&self, actor: &Actor, what: &str) -> Result<(), VaultError> {
        if actor.workspace != self.inner.workspace {
            return Err(VaultError::Forbidden(format!(
                "{what}: you are not a member of this workspace"
            )));
        }
        match actor.role {
            Role::Owner | Role::Admin => Ok(()),
            _ => Err(VaultError::Forbidden(format!(
                "{what}: only the owner or an admin may do this until grants exist"
            ))),
        }
    }

    /// The owner, admins and auditors: who reads the access record, the
    /// people list and reports (no customer data).
    pub(crate) fn require_reader(&self, actor: &Actor, what: &str) -> Result<(), VaultError> {
        if actor.workspace != self.inner.workspace {
            return Err(VaultError::Forbidden(format!(
                "{what}: you are not a member of this workspace"
            )));
        }
        match actor.role {
            Role::Owner | Role::Admin | Role::Auditor => Ok(()),
            _ => Err(VaultError::Forbidden(format!(
                "{what}: only the owner, an admin or an auditor may do this"
            ))),
        }
    }
}
