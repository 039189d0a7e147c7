//! Several workspaces (tenants) served by one server process.
//!
//! Each workspace is its own [`Vault`] with its own keys and ledger; they
//! share one store, the sign-in throttle and the cap on password checks.
//! A request is routed to a workspace only through what identifies it
//! server-side: its session or API token, its invitation link, or (at
//! sign-in) the account's e-mail address. Nothing a client sends names a
//! workspace, so a person of one workspace cannot address another's data:
//! ids that exist elsewhere are simply not found in theirs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use confidant_core::{WorkspaceId, normalize_email};
use confidant_store::Store;
use secrecy::{ExposeSecret, SecretString};

use crate::auth::{SessionRequest, SignIn, token_hash};
use crate::{Actor, Vault, VaultError};

/// The open workspaces of a server, by id.
#[derive(Debug, Clone)]
pub struct Tenants {
    store: Arc<dyn Store>,
    vaults: Arc<HashMap<WorkspaceId, Vault>>,
    /// The first workspace: where an unknown account's failed sign-in is
    /// recorded and the one the owner's console opens by default.
    first: Vault,
}

impl Tenants {
    /// Serves `vaults` (at least one; all on the same store).
    pub fn new(vaults: Vec<Vault>) -> Result<Tenants, VaultError> {
        let first = vaults
            .first()
            .cloned()
            .ok_or_else(|| VaultError::NotFound("there is no workspace to serve".into()))?;
        let store = Arc::clone(&first.inner.store);
        let vaults = vaults.into_iter().map(|v| (v.workspace(), v)).collect();
        Ok(Tenants {
            store,
            vaults: Arc::new(vaults),
            first,
        })
    }

    /// The first workspace (a server with one workspace has only this).
    pub fn first(&self) -> &Vault {
        &self.first
    }

    /// Every workspace served.
    pub fn vaults(&self) -> impl Iterator<Item = &Vault> {
        self.vaults.values()
    }

    pub fn get(&self, workspace: WorkspaceId) -> Option<&Vault> {
        self.vaults.get(&workspace)
    }

    pub fn len(&self) -> usize {
        self.vaults.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vaults.is_empty()
    }

    /// The workspace a session, API token, pending sign-in or invitation
    /// token belongs to.
    async fn vault_of_token(&self, token: &SecretString) -> Result<Option<&Vault>, VaultError> {
        let hash = token_hash(token.expose_secret());
        let workspace = match self.store.session(&hash).await? {
            Some(session) => Some(session.workspace),
            None => self.store.invite(&hash).await?.map(|i| i.workspace),
        };
        Ok(workspace.and_then(|ws| self.vaults.get(&ws)))
    }

    /// The vault and actor of a web session (`api` false) or API token.
    pub async fn authenticate(
        &self,
        token: &SecretString,
        api: bool,
    ) -> Result<(Vault, Actor), VaultError> {
        let vault = self
            .vault_of_token(token)
            .await?
            .ok_or_else(|| {
                VaultError::Forbidden(
                    "the session has ended or the token is invalid: sign in again".into(),
                )
            })?
            .clone();
        let actor = vault.authenticate(token, api).await?;
        Ok((vault, actor))
    }

    /// Signs in by e-mail address and password, in whichever workspace the
    /// account is. When the address belongs to people of several
    /// workspaces, the first whose password matches wins. An unknown
    /// address costs the same password work as a known one.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        client: Option<IpAddr>,
        request: &SessionRequest,
    ) -> Result<(Vault, SignIn), VaultError> {
        let candidates = match normalize_email(email) {
            Ok(email) => self.store.workspaces_of_email(&email).await?,
            Err(_) => Vec::new(),
        };
        let vaults: Vec<&Vault> = candidates
            .iter()
            .filter_map(|ws| self.vaults.get(ws))
            .collect();
        if vaults.is_empty() {
            // Same work and answer as a wrong password; recorded in the
            // first workspace's ledger.
            let outcome = self.first.sign_in(email, password, client, request).await?;
            return Ok((self.first.clone(), outcome));
        }
        let mut last_error = None;
        for vault in vaults {
            match vault.sign_in(email, password, client, request).await {
                Ok(outcome) => return Ok((vault.clone(), outcome)),
                Err(e @ VaultError::Forbidden(_)) => last_error = Some(e),
                Err(other) => return Err(other),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            VaultError::Forbidden("the e-mail address or password is wrong".into())
        }))
    }

    /// Finishes a sign-in with the second factor (see
    /// [`Vault::complete_sign_in`]).
    pub async fn complete_sign_in(
        &self,
        pending: &SecretString,
        code: &str,
        client: Option<IpAddr>,
        request: &SessionRequest,
    ) -> Result<(Vault, crate::IssuedToken), VaultError> {
        let vault = self.vault_of_token(pending).await?.ok_or_else(|| {
            VaultError::Forbidden(
                "the sign-in took too long or was finished already: sign in again".into(),
            )
        })?;
        let issued = vault
            .complete_sign_in(pending, code, client, request)
            .await?;
        Ok((vault.clone(), issued))
    }

    /// The vault an invitation link belongs to, if the link is known.
    pub async fn vault_of_invitation(&self, token: &SecretString) -> Result<Vault, VaultError> {
        match self.vault_of_token(token).await? {
            Some(vault) => Ok(vault.clone()),
            None => Err(VaultError::Forbidden(
                "this invitation link is not valid: it was used already, replaced by a newer \
                 one, or it expired. Ask whoever invited you for a new link"
                    .into(),
            )),
        }
    }

    /// The vault a device enrollment code belongs to.
    pub async fn vault_of_enrollment(&self, code: &str) -> Result<Vault, VaultError> {
        let hash = crate::devices::code_hash(code)?;
        let workspace = self.store.enrollment(&hash).await?.map(|e| e.workspace);
        workspace
            .and_then(|ws| self.vaults.get(&ws))
            .cloned()
            .ok_or_else(|| {
                VaultError::Forbidden(
                    "this enrollment code is not valid: it was used already or it expired. Ask \
                     the owner for a new one"
                        .into(),
                )
            })
    }

    /// The vault an enrolled device belongs to.
    pub async fn vault_of_device(&self, device: &str) -> Result<Vault, VaultError> {
        let unknown = || {
            VaultError::Forbidden(
                "this device is not enrolled here: run `confidant agent enroll` with a new code \
                 from the owner"
                    .into(),
            )
        };
        let id: confidant_core::DeviceId = device.trim().parse().map_err(|_| unknown())?;
        let workspace = self.store.device(id).await?.map(|d| d.workspace);
        workspace
            .and_then(|ws| self.vaults.get(&ws))
            .cloned()
            .ok_or_else(unknown)
    }

    /// Ends a session or token, wherever it belongs.
    pub async fn sign_out(&self, token: &SecretString) -> Result<(), VaultError> {
        match self.vault_of_token(token).await? {
            Some(vault) => vault.sign_out(token).await,
            None => Ok(()),
        }
    }

    /// Sets how long sessions live, in every workspace.
    pub fn set_session_policy(&self, policy: crate::SessionPolicy) {
        for vault in self.vaults.values() {
            vault.set_session_policy(policy);
        }
    }
}
