//! The access record: every attempt on protected data is appended to the
//! workspace's ledger, durably, before any of the data is returned. If the
//! ledger cannot be written the vault refuses (fails closed).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use confidant_core::{DataCategory, PersonId};
use confidant_crypto::SigningKey;
use confidant_ledger::{
    Action, Checkpoint, Decision, Entry, Frontier, KeyedHash, KnownAction, LogVerifier, Name,
    NoteSigner, Target, TargetId, Timestamp, VerifierKey,
};
use confidant_store::{CheckpointRecord, LedgerHead, LedgerRef};

use crate::{Actor, Vault, VaultError};

/// The host part of checkpoint origins (`<host>/<workspace id>`).
pub(crate) const ORIGIN_HOST: &str = "confidant.local";

/// Signs checkpoints with the workspace key.
struct WorkspaceSigner<'a> {
    origin: String,
    key: &'a SigningKey,
}

impl NoteSigner for WorkspaceSigner<'_> {
    fn name(&self) -> &str {
        &self.origin
    }
    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg)
    }
}

/// One attempt to record: who, what, on which target, and the decision.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub person: Option<PersonId>,
    pub client: Option<IpAddr>,
    pub action: KnownAction,
    pub target: Target,
    pub allowed: bool,
    pub reason: String,
    pub categories: Vec<DataCategory>,
    /// Keyed hashes of values searchable later (never the values), by name.
    pub keyed: Vec<(&'static str, Vec<u8>)>,
    /// The delivery id of a stamped copy that left.
    pub delivery: Option<String>,
    /// The enrolled device the attempt came from.
    pub device: Option<String>,
}

impl Attempt {
    /// An allowed attempt by `actor`; the reason names why the door let
    /// them through (until grants exist: their role).
    pub(crate) fn allowed(actor: &Actor, action: KnownAction, target: Target) -> Self {
        let reason = match actor.role {
            confidant_core::Role::Owner => "the workspace owner",
            confidant_core::Role::Admin => "a workspace admin",
            _ => "need to know: a live grant allows it",
        };
        Attempt {
            person: Some(actor.person),
            client: None,
            action,
            target,
            allowed: true,
            reason: reason.to_owned(),
            categories: Vec::new(),
            keyed: Vec::new(),
            delivery: None,
            device: actor.device.map(|d| d.to_string()),
        }
    }

    pub(crate) fn categories(mut self, categories: impl IntoIterator<Item = DataCategory>) -> Self {
        self.categories.extend(categories);
        self
    }
}

/// One queued append: its leaves, who and what each is about, and where
/// to tell its outcome.
type Pending = (
    Vec<Vec<u8>>,
    Vec<LedgerRef>,
    tokio::sync::oneshot::Sender<Result<(), GroupError>>,
);

/// The appends of this process waiting for the ledger, and the writer's
/// turn (see [`Vault::append_grouped`]).
#[derive(Debug, Default)]
pub(crate) struct LedgerGroup {
    queue: std::sync::Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
}

impl LedgerGroup {
    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        // Each change is one push or one take: a panic elsewhere cannot
        // leave the queue half changed.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A batch's outcome, told to every caller in it.
#[derive(Debug, Clone)]
enum GroupError {
    Unavailable(String),
    Integrity(String),
    Internal(String),
}

impl From<VaultError> for GroupError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Unavailable(m) => GroupError::Unavailable(m),
            VaultError::Integrity(m) => GroupError::Integrity(m),
            other => GroupError::Internal(other.to_string()),
        }
    }
}

impl GroupError {
    fn into_error(self) -> VaultError {
        match self {
            GroupError::Unavailable(m) => VaultError::Unavailable(m),
            GroupError::Integrity(m) => VaultError::Integrity(m),
            GroupError::Internal(m) => VaultError::Internal(m),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> VaultError {
    tracing::error!(error = %e, "the access ledger cannot be written");
    VaultError::Unavailable(
        "the access record cannot be written right now, so nothing was returned or changed: try again in a moment"
            .into(),
    )
}

/// What `confidant audit prove` prints.
#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub leaf: Vec<u8>,
    pub proof: Vec<confidant_ledger::Hash>,
    pub checkpoint: String,
}

/// What `confidant audit verify` found.
#[derive(Debug, Clone)]
pub struct LedgerReport {
    pub entries: u64,
    /// How many entries the latest signed checkpoint covers (0: none yet).
    pub checkpoint_size: u64,
}

/// The access record at a glance (see [`Vault::ledger_overview`]).
#[derive(Debug)]
pub struct LedgerOverview {
    pub verified: Result<LedgerReport, VaultError>,
    /// Matching entries with their indexes, oldest first; an error when the
    /// person or item named does not exist.
    pub entries: Result<Vec<(u64, Entry)>, VaultError>,
}

/// A ledger read once and checked against its latest signed checkpoint.
struct VerifiedLedger {
    leaves: Vec<Vec<u8>>,
    /// The latest checkpoint, parsed and as its signed note.
    latest: Option<(Checkpoint, String)>,
}

impl Vault {
    fn origin(&self) -> String {
        Checkpoint::workspace_origin(ORIGIN_HOST, self.workspace())
    }

    /// The verifier key of this workspace's checkpoints, in the signed-note
    /// form `<name>+<key hash>+<base64>`.
    pub fn ledger_verifier_key(&self) -> Result<String, VaultError> {
        VerifierKey::from_parts(&self.origin(), self.public_key())
            .map(|k| k.to_string())
            .map_err(|e| VaultError::Internal(format!("verifier key: {e}")))
    }

    /// Appends the attempts to the ledger durably and signs a checkpoint of
    /// the new size. Callers return protected data only after this
    /// succeeded.
    pub(crate) async fn record(&self, attempts: &[Attempt]) -> Result<(), VaultError> {
        let ws = self.workspace();
        let now = self.inner.clock.now();
        let time = Timestamp::from_datetime(now)
            .map_err(|e| VaultError::Internal(format!("ledger time: {e}")))?;
        let mut leaves = Vec::with_capacity(attempts.len());
        let mut refs = Vec::with_capacity(attempts.len());
        for a in attempts {
            refs.push(LedgerRef {
                actor: a.person,
                target: uuid::Uuid::from_bytes(*a.target.id.uuid_bytes()),
            });
            let categories: BTreeSet<Name> = a
                .categories
                .iter()
                .filter_map(|c| Name::new(c.as_str()).ok())
                .collect();
            let entry = Entry {
                time,
                workspace: ws,
                actor: a.person,
                device: a
                    .device
                    .as_deref()
                    .and_then(|d| confidant_ledger::OpaqueId::new(d).ok()),
                client: a.client,
                action: Action::from(a.action),
                target: a.target.clone(),
                decision: if a.allowed {
                    Decision::Allow
                } else {
                    Decision::Deny
                },
                reason: a.reason.clone(),
                categories,
                delivery: a
                    .delivery
                    .as_deref()
                    .and_then(|d| confidant_ledger::OpaqueId::new(d).ok()),
                keyed: a
                    .keyed
                    .iter()
                    .filter_map(|(name, hash)| {
                        Some((Name::new(name).ok()?, KeyedHash::new(hash.clone()).ok()?))
                    })
                    .collect::<BTreeMap<_, _>>(),
            };
            leaves.push(entry.to_leaf());
        }
        self.append_grouped(leaves, refs).await
    }

    /// Appends `leaves` durably, together with whatever other appends of
    /// this process are waiting (group commit): the first caller to get the
    /// writer's turn commits every queued batch in one transaction, with one
    /// signed checkpoint and one fsync, and tells each caller the outcome.
    /// Every caller still returns only once its own entries are durable.
    async fn append_grouped(
        &self,
        leaves: Vec<Vec<u8>>,
        refs: Vec<LedgerRef>,
    ) -> Result<(), VaultError> {
        let group = &self.inner.ledger_group;
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        group.queue().push((leaves, refs, tx));
        let _turn = group.writer.lock().await;
        // A writer before us may have committed our batch already.
        if let Ok(outcome) = rx.try_recv() {
            return outcome.map_err(GroupError::into_error);
        }
        let batches: Vec<Pending> = std::mem::take(&mut *group.queue());
        // The commit runs as its own task, so that a request dropped while
        // it writes cannot leave the others of the batch without an answer.
        let vault = self.clone();
        let commit = tokio::spawn(async move {
            let all: Vec<Vec<u8>> = batches
                .iter()
                .flat_map(|(leaves, _, _)| leaves.iter().cloned())
                .collect();
            let refs: Vec<LedgerRef> = batches
                .iter()
                .flat_map(|(_, refs, _)| refs.iter().copied())
                .collect();
            let outcome = vault
                .commit_leaves(&all, &refs)
                .await
                .map_err(GroupError::from);
            for (_, _, waiter) in batches {
                // A waiter that gave up (its request was dropped) is fine.
                let _ = waiter.send(outcome.clone());
            }
        });
        if let Err(e) = commit.await {
            return Err(VaultError::Internal(format!(
                "the ledger commit failed: {e}"
            )));
        }
        match rx.try_recv() {
            Ok(outcome) => outcome.map_err(GroupError::into_error),
            Err(_) => Err(VaultError::Internal(
                "the ledger batch lost an append".into(),
            )),
        }
    }

    /// Appends `leaves` in one transaction and signs a checkpoint of the new
    /// size, stored in the same commit.
    async fn commit_leaves(
        &self,
        leaves: &[Vec<u8>],
        refs: &[LedgerRef],
    ) -> Result<(), VaultError> {
        let ws = self.workspace();
        let now = self.inner.clock.now();
        let append = self
            .store()
            .begin_ledger_append(ws)
            .await
            .map_err(unavailable)?;
        let head = append.head().clone();
        let mut frontier = Frontier::from_bytes(head.size, &head.frontier)
            .map_err(|e| VaultError::Integrity(format!("the ledger head is damaged: {e}")))?;
        for leaf in leaves {
            frontier.append(leaf);
        }
        let new_head = LedgerHead {
            size: frontier.size(),
            frontier: frontier.to_bytes(),
        };
        // The checkpoint over the new head is signed now and stored in the
        // same commit: one fsync, and never a head without its checkpoint.
        let keys = self.current_keys();
        let signer = WorkspaceSigner {
            origin: self.origin(),
            key: &keys.signing,
        };
        let checkpoint = Checkpoint::new(&signer.origin, frontier.size(), frontier.root())
            .map_err(|e| e.to_string())
            .and_then(|cp| cp.sign(&signer).map_err(|e| e.to_string()))
            .map(|note| CheckpointRecord {
                size: frontier.size(),
                note,
                created_at: now,
            })
            .map_err(|e| {
                VaultError::Internal(format!("signing a ledger checkpoint failed: {e}"))
            })?;
        append
            .commit_indexed(leaves, refs, &new_head, Some(&checkpoint))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Records a refusal and returns the error that explains it.
    pub(crate) async fn refused(
        &self,
        actor: &Actor,
        action: KnownAction,
        target: Target,
        error: VaultError,
    ) -> VaultError {
        let mut attempt = Attempt::allowed(actor, action, target);
        attempt.allowed = false;
        attempt.reason = error.to_string();
        match self.record(&[attempt]).await {
            Ok(()) => error,
            Err(e) => e,
        }
    }

    /// The latest signed checkpoint (a C2SP signed note).
    pub async fn latest_checkpoint(&self, actor: &Actor) -> Result<Option<String>, VaultError> {
        self.require_reader(actor, "read the ledger checkpoint")?;
        Ok(self
            .store()
            .latest_checkpoint(self.workspace())
            .await?
            .map(|c| c.note))
    }

    /// Every leaf of the ledger, in order (for export and verification).
    pub async fn ledger_leaves(&self, actor: &Actor) -> Result<Vec<Vec<u8>>, VaultError> {
        self.require_reader(actor, "read the ledger")?;
        let ws = self.workspace();
        let mut out = Vec::new();
        loop {
            let page = self
                .store()
                .ledger_leaves(ws, out.len() as u64, 10_000)
                .await?;
            if page.is_empty() {
                return Ok(out);
            }
            out.extend(page.into_iter().map(|l| l.leaf));
        }
    }

    /// Reads the whole ledger and checks it against the latest signed
    /// checkpoint; the error names the first entry that was changed,
    /// removed, inserted or reordered.
    async fn verified_ledger(&self, actor: &Actor) -> Result<VerifiedLedger, VaultError> {
        let leaves = self.ledger_leaves(actor).await?;
        let latest = self.check_leaves(&leaves).await?;
        Ok(VerifiedLedger { leaves, latest })
    }

    /// Checks `leaves` (the whole ledger) against the latest signed
    /// checkpoint, which it returns parsed and as its note.
    async fn check_leaves(
        &self,
        leaves: &[Vec<u8>],
    ) -> Result<Option<(Checkpoint, String)>, VaultError> {
        let Some(latest) = self.store().latest_checkpoint(self.workspace()).await? else {
            return Ok(None);
        };
        let key = self.ledger_verifier_key()?;
        let checkpoint = Checkpoint::verify(&latest.note, &key).map_err(|e| {
            VaultError::Integrity(format!("the latest checkpoint does not verify: {e}"))
        })?;
        let result = LogVerifier::new(&checkpoint)
            .verify(leaves.iter().map(Ok::<_, std::convert::Infallible>));
        if let Err(e) = result {
            let first = self
                .first_changed_entry(leaves, checkpoint.size(), &key)
                .await?;
            let at = match first {
                Some(index) => format!(
                    "entry {index} is the first that was changed, removed, inserted or moved; "
                ),
                None => String::new(),
            };
            return Err(VaultError::Integrity(format!(
                "the ledger was changed: {at}{e}"
            )));
        }
        Ok(Some((checkpoint, latest.note)))
    }

    /// Recomputes the whole ledger and checks it against the latest signed
    /// checkpoint; the error names the first entry that was changed,
    /// removed, inserted or reordered.
    pub async fn verify_ledger(&self, actor: &Actor) -> Result<LedgerReport, VaultError> {
        let verified = self.verified_ledger(actor).await?;
        Ok(LedgerReport {
            entries: verified.leaves.len() as u64,
            checkpoint_size: verified.latest.map_or(0, |(cp, _)| cp.size()),
        })
    }

    /// Proves that the current ledger extends an older signed checkpoint
    /// (kept by the owner outside the server): the old checkpoint must
    /// verify with the workspace key, the ledger must verify, and a
    /// consistency proof from the old size to the latest checkpoint must
    /// hold. Returns the two sizes.
    pub async fn verify_ledger_since(
        &self,
        actor: &Actor,
        old_note: &str,
    ) -> Result<(u64, u64), VaultError> {
        let old = Checkpoint::verify(old_note, &self.ledger_verifier_key()?).map_err(|e| {
            VaultError::InvalidInput(format!(
                "the old checkpoint does not verify with this workspace's key: {e}"
            ))
        })?;
        let verified = self.verified_ledger(actor).await?;
        let (new, _) = verified.latest.ok_or_else(|| {
            VaultError::Integrity("the ledger has no checkpoint, but an old one exists".into())
        })?;
        let hashes = leaf_hashes(&verified.leaves);
        let proof = confidant_ledger::tree::consistency_proof(&hashes[..], old.size(), new.size())
            .map_err(|e| {
                VaultError::Integrity(format!(
                    "the ledger is shorter than the old checkpoint (entries were removed): {e}"
                ))
            })?;
        confidant_ledger::verify_consistency_with(&old, &new, &proof).map_err(|e| {
            VaultError::Integrity(format!(
                "the ledger does not extend the old checkpoint of size {}: history was rewritten ({e})",
                old.size()
            ))
        })?;
        Ok((old.size(), new.size()))
    }

    /// Ledger entries, optionally only those by a person (e-mail address)
    /// or about an item (a document or record set, by name or id), with
    /// their indexes, oldest first.
    pub async fn ledger_log(
        &self,
        actor: &Actor,
        person: Option<&str>,
        item: Option<&str>,
    ) -> Result<Vec<(u64, Entry)>, VaultError> {
        if person.is_some() || item.is_some() {
            self.require_reader(actor, "read the ledger")?;
            let (person, item) = self.resolve_filter(person, item).await?;
            if let Some(found) = self.indexed_log(person, item).await? {
                return Ok(found);
            }
        }
        let leaves = self.ledger_leaves(actor).await?;
        self.filter_log(&leaves, person, item).await
    }

    /// The entries by `person` and/or about `item` through the ledger's
    /// index (`ledger_refs`), each checked against its own leaf; `None`
    /// when the index does not cover the whole ledger (a backup of an
    /// older version restored), so the caller reads it all.
    async fn indexed_log(
        &self,
        person: Option<PersonId>,
        item: Option<TargetId>,
    ) -> Result<Option<Vec<(u64, Entry)>>, VaultError> {
        let ws = self.workspace();
        let size = self.store().ledger_head(ws).await?.size;
        if self.store().ledger_refs_count(ws).await? != size {
            return Ok(None);
        }
        let target = item.map(|t| uuid::Uuid::from_bytes(*t.uuid_bytes()));
        let leaves = self.store().ledger_leaves_about(ws, person, target).await?;
        let mut out = Vec::with_capacity(leaves.len());
        for leaf in leaves {
            let entry = Entry::from_leaf(&leaf.leaf).map_err(|e| {
                VaultError::Integrity(format!("ledger entry {} is damaged: {e}", leaf.index))
            })?;
            // The index only finds entries; the leaf decides.
            if person.is_some_and(|p| entry.actor != Some(p))
                || item.is_some_and(|t| entry.target.id != t)
            {
                return Err(VaultError::Integrity(format!(
                    "the ledger's index does not match entry {}: run `confidant audit verify`",
                    leaf.index
                )));
            }
            out.push((leaf.index, entry));
        }
        Ok(Some(out))
    }

    /// What the access-record page shows, from one read of the ledger: the
    /// entries that match, and whether the whole ledger verifies (an
    /// `Integrity` error naming the first changed entry when it does not).
    pub async fn ledger_overview(
        &self,
        actor: &Actor,
        person: Option<&str>,
        item: Option<&str>,
    ) -> Result<LedgerOverview, VaultError> {
        let leaves = self.ledger_leaves(actor).await?;
        let verified = self.check_leaves(&leaves).await.map(|latest| LedgerReport {
            entries: leaves.len() as u64,
            checkpoint_size: latest.map_or(0, |(cp, _)| cp.size()),
        });
        let entries = self.filter_log(&leaves, person, item).await;
        Ok(LedgerOverview { verified, entries })
    }

    async fn filter_log(
        &self,
        leaves: &[Vec<u8>],
        person: Option<&str>,
        item: Option<&str>,
    ) -> Result<Vec<(u64, Entry)>, VaultError> {
        let (person, item) = self.resolve_filter(person, item).await?;
        let mut out = Vec::new();
        for (index, leaf) in leaves.iter().enumerate() {
            let entry = Entry::from_leaf(leaf).map_err(|e| {
                VaultError::Integrity(format!("ledger entry {index} is damaged: {e}"))
            })?;
            if person.is_some_and(|p| entry.actor != Some(p)) {
                continue;
            }
            if item.is_some_and(|t| entry.target.id != t) {
                continue;
            }
            out.push((index as u64, entry));
        }
        Ok(out)
    }

    /// The person (by e-mail) and item (by name or id) a log is filtered by.
    async fn resolve_filter(
        &self,
        person: Option<&str>,
        item: Option<&str>,
    ) -> Result<(Option<PersonId>, Option<TargetId>), VaultError> {
        let ws = self.workspace();
        let person = match person {
            Some(email) => {
                let email = confidant_core::normalize_email(email)
                    .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
                let found = self
                    .store()
                    .person_by_email(ws, &email)
                    .await?
                    .ok_or_else(|| {
                        VaultError::NotFound(format!("no person {email} in this workspace"))
                    })?;
                Some(found.id)
            }
            None => None,
        };
        let item = match item {
            Some(text) => Some(self.resolve_item(text).await?),
            None => None,
        };
        Ok((person, item))
    }

    /// A document or record set named by `text`, as a ledger target.
    async fn resolve_item(&self, text: &str) -> Result<TargetId, VaultError> {
        if let Ok(doc) = self.find_document(&crate::DocRef::parse(text)).await {
            return Ok(TargetId::Document(doc.id));
        }
        self.find_record_set(text)
            .await
            .map(|set| TargetId::RecordSet(set.id))
            .map_err(|_| {
                VaultError::NotFound(format!(
                    "no document or record set {text:?} in this workspace"
                ))
            })
    }

    /// An inclusion proof of entry `index` in the tree of the latest signed
    /// checkpoint: the leaf, the proof hashes and the checkpoint note.
    pub async fn inclusion_proof(
        &self,
        actor: &Actor,
        index: u64,
    ) -> Result<InclusionProof, VaultError> {
        let VerifiedLedger { leaves, latest } = self.verified_ledger(actor).await?;
        let (checkpoint, note) = latest
            .ok_or_else(|| VaultError::NotFound("the ledger has no checkpoint yet".into()))?;
        if index >= checkpoint.size() {
            return Err(VaultError::InvalidInput(format!(
                "entry {index} is not covered by the latest checkpoint, which has {} entries",
                checkpoint.size()
            )));
        }
        let hashes = leaf_hashes(&leaves);
        let proof = confidant_ledger::tree::inclusion_proof(&hashes[..], index, checkpoint.size())
            .map_err(|e| VaultError::Integrity(format!("cannot prove entry {index}: {e}")))?;
        let leaf = usize::try_from(index)
            .ok()
            .and_then(|i| leaves.get(i))
            .cloned()
            .ok_or_else(|| VaultError::Integrity(format!("entry {index} is missing")))?;
        // Check our own answer before handing it out.
        confidant_ledger::verify_inclusion_in(&checkpoint, &leaf, index, &proof).map_err(|e| {
            VaultError::Integrity(format!("entry {index} is not in the signed tree: {e}"))
        })?;
        Ok(InclusionProof {
            index,
            size: checkpoint.size(),
            leaf,
            proof,
            checkpoint: note,
        })
    }

    /// Pinpoints the first changed entry with the checkpoints signed after
    /// every append: the checkpoints up to the first change still match the
    /// prefix of the log, every later one does not. A binary search over the
    /// stored checkpoints, each verified against the workspace key.
    async fn first_changed_entry(
        &self,
        leaves: &[Vec<u8>],
        latest: u64,
        key: &str,
    ) -> Result<Option<u64>, VaultError> {
        // roots[k] is the root of the first k leaves.
        let mut frontier = Frontier::new();
        let mut roots = Vec::with_capacity(leaves.len() + 1);
        roots.push(frontier.root());
        for leaf in leaves {
            frontier.append(leaf);
            roots.push(frontier.root());
        }
        let ws = self.workspace();
        let roots = &roots;
        // Does the signed checkpoint at or before `size` match the log?
        // Returns the checkpoint's size and the answer.
        let probe = |size: u64| async move {
            let Some(record) = self.store().checkpoint_at_or_before(ws, size).await? else {
                return Ok::<_, VaultError>(None);
            };
            let Ok(cp) = Checkpoint::verify(&record.note, key) else {
                // A checkpoint that does not verify proves nothing either way.
                return Ok(None);
            };
            let matches = usize::try_from(cp.size())
                .ok()
                .and_then(|s| roots.get(s))
                .is_some_and(|root| root == cp.root());
            Ok(Some((cp.size(), matches)))
        };
        // Invariant: good is a size whose checkpoint matches (0: the empty
        // log always does), bad one whose checkpoint does not.
        let (mut good, mut bad) = (0u64, latest);
        while bad - good > 1 {
            let mid = good + (bad - good) / 2;
            match probe(mid).await? {
                Some((size, true)) if size > good => good = size,
                Some((size, false)) if size > good => bad = size,
                // No usable checkpoint between good and mid: look above it.
                _ => match probe(bad - 1).await? {
                    Some((size, true)) if size > good => good = size,
                    Some((size, false)) if size > good => bad = size,
                    _ => break,
                },
            }
        }
        Ok((bad - good == 1).then_some(good))
    }

    /// The door check (owner or admin until grants exist); a refusal is
    /// recorded before it is returned.
    pub(crate) async fn gate(
        &self,
        actor: &Actor,
        what: &str,
        action: KnownAction,
    ) -> Result<(), VaultError> {
        match self.require_owner(actor, what) {
            Ok(()) => Ok(()),
            Err(e) => {
                let target = Target::whole(TargetId::Workspace(self.workspace()));
                Err(self.refused(actor, action, target, e).await)
            }
        }
    }

    /// Records one allowed attempt.
    pub(crate) async fn allow(
        &self,
        actor: &Actor,
        action: KnownAction,
        target: Target,
        categories: impl IntoIterator<Item = DataCategory>,
    ) -> Result<(), VaultError> {
        self.record(&[Attempt::allowed(actor, action, target).categories(categories)])
            .await
    }
}

fn leaf_hashes(leaves: &[Vec<u8>]) -> Vec<confidant_ledger::Hash> {
    leaves
        .iter()
        .map(|l| confidant_ledger::tree::leaf_hash(l))
        .collect()
}
