//! Agreements at the door: the NDA and the confidentiality handbook each
//! role signs before any grant gives access. The owner publishes versions
//! (confidant writes the first one from the workspace itself); people sign
//! the current one; every signature is sealed with the workspace key and
//! recorded in the ledger, and the owner can download it as a PDF with a
//! signature certificate page.

use std::collections::BTreeSet;
use std::net::IpAddr;

use confidant_core::{
    Agreement, AgreementId, AgreementKind, DataCategory, Label, PersonId, PersonStatus, Role,
    Signature, SignatureId, Standing, default_handbook, default_nda, signs_agreements, standing,
    validate_agreement, validate_signing,
};
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_store::{PersonRecord, StoreError};
use rand_core::OsRng;

use crate::audit::Attempt;
use crate::{Actor, Vault, VaultError};

/// A new version of an agreement, as the owner wrote it.
#[derive(Debug, Clone)]
pub struct AgreementDraft {
    pub kind: AgreementKind,
    pub audience: Role,
    pub title: String,
    pub text: String,
    pub covers: Label,
    pub valid_days: Option<u32>,
    pub grace_days: u32,
}

/// What a person typed and ticked to sign, and where from.
#[derive(Debug, Clone)]
pub struct Signing {
    pub typed_name: String,
    pub consent: bool,
    pub client: Option<IpAddr>,
    pub user_agent: String,
}

/// One agreement a person must sign, and where they stand with it.
#[derive(Debug, Clone)]
pub struct AgreementDue {
    pub agreement: Agreement,
    pub standing: Standing,
}

/// A stored signature with its signer, for the owner's view.
#[derive(Debug, Clone)]
pub struct SignatureView {
    pub signature: Signature,
    pub email: String,
    pub name: String,
    /// The workspace key's seal verifies over the record.
    pub seal_ok: bool,
    /// The agreement's title.
    pub title: String,
}

/// A person who cannot use their grants yet, and why.
#[derive(Debug, Clone)]
pub struct Blocked {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// Plain words with what to do ("sign version 2 of the NDA ...").
    pub reasons: Vec<String>,
}

/// SHA-256 of an agreement's text, the hash a signature names.
pub fn text_sha256(text: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Vault {
    /// The data categories present in the workspace: its record sets'
    /// columns and what was found in its documents.
    async fn present_categories(&self) -> Result<Vec<DataCategory>, VaultError> {
        let mut found = BTreeSet::new();
        for set in self.store().record_sets(self.workspace()).await? {
            found.extend(set.columns.iter().map(|c| c.category));
        }
        let names = &self.current_keys().names;
        for record in self.store().documents(self.workspace()).await? {
            let meta = self.doc_meta(&record, names)?;
            if let Some(scan) = &meta.scan {
                found.extend(scan.categories.iter().copied());
            }
        }
        Ok(found.into_iter().collect())
    }

    /// The text confidant proposes for a kind and role, written from the
    /// workspace as it is now (owner and admins, to start an edit from).
    pub async fn default_agreement(
        &self,
        actor: &Actor,
        kind: AgreementKind,
        audience: Role,
    ) -> Result<(String, String), VaultError> {
        self.require_owner(actor, "write an agreement")?;
        self.generated(kind, audience).await
    }

    async fn generated(
        &self,
        kind: AgreementKind,
        audience: Role,
    ) -> Result<(String, String), VaultError> {
        let business = &self.inner.workspace_name;
        Ok(match kind {
            AgreementKind::Nda => {
                default_nda(business, audience, &self.present_categories().await?)
            }
            AgreementKind::Handbook => default_handbook(business, audience),
        })
    }

    /// The current version of an agreement for a role. When the owner has
    /// published none yet, confidant publishes its default (version 1,
    /// written from the workspace) so that there is always a text to sign.
    pub(crate) async fn current_agreement(
        &self,
        kind: AgreementKind,
        audience: Role,
    ) -> Result<Agreement, VaultError> {
        if let Some(current) = self.latest_agreement(kind, audience).await? {
            return Ok(current);
        }
        let (title, text) = self.generated(kind, audience).await?;
        let agreement = Agreement {
            id: AgreementId::random(&mut OsRng),
            workspace: self.workspace(),
            kind,
            audience,
            version: 1,
            title,
            text,
            covers: Label::Restricted,
            valid_days: None,
            grace_days: 0,
            published_at: self.inner.clock.now(),
            published_by: None,
        };
        match self.store().insert_agreement(&agreement).await {
            Ok(()) => {
                // Recorded after the insert, so that of two processes
                // publishing at once only the one whose version stands has
                // an entry; a failed append still returns nothing.
                let attempt = Attempt {
                    person: None,
                    client: None,
                    action: KnownAction::PublishAgreement,
                    target: Target::whole(TargetId::Workspace(self.workspace())),
                    allowed: true,
                    reason: format!(
                        "published by confidant, as none was: the default {} version 1 for {}s, \
                         text sha256 {}",
                        agreement.kind,
                        agreement.audience,
                        hex(&text_sha256(&agreement.text))
                    ),
                    categories: Vec::new(),
                    keyed: Vec::new(),
                    delivery: None,
                    device: None,
                };
                self.record(&[attempt]).await?;
                Ok(agreement)
            }
            // Another request published it at the same moment: use theirs.
            Err(StoreError::Conflict(_)) => self
                .latest_agreement(kind, audience)
                .await?
                .ok_or_else(|| VaultError::Internal("a published agreement vanished".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The current NDA and handbook for a role, from one read of the
    /// agreements (publishing a default only where none exists yet).
    async fn current_pair(&self, audience: Role) -> Result<[Agreement; 2], VaultError> {
        let all = self.store().agreements(self.workspace()).await?;
        let latest = |kind: AgreementKind| {
            all.iter()
                .filter(|a| a.kind == kind && a.audience == audience)
                .max_by_key(|a| a.version)
                .cloned()
        };
        let nda = match latest(AgreementKind::Nda) {
            Some(a) => a,
            None => self.current_agreement(AgreementKind::Nda, audience).await?,
        };
        let handbook = match latest(AgreementKind::Handbook) {
            Some(a) => a,
            None => {
                self.current_agreement(AgreementKind::Handbook, audience)
                    .await?
            }
        };
        Ok([nda, handbook])
    }

    async fn latest_agreement(
        &self,
        kind: AgreementKind,
        audience: Role,
    ) -> Result<Option<Agreement>, VaultError> {
        Ok(self
            .store()
            .agreements(self.workspace())
            .await?
            .into_iter()
            .filter(|a| a.kind == kind && a.audience == audience)
            .max_by_key(|a| a.version))
    }

    /// Every version of every agreement (owner, admins and auditors), with
    /// the defaults published for every role that signs.
    pub async fn agreement_versions(&self, actor: &Actor) -> Result<Vec<Agreement>, VaultError> {
        self.require_reader(actor, "read the agreements")?;
        for role in [Role::Assistant, Role::Vendor, Role::Associate] {
            for kind in AgreementKind::ALL {
                self.current_agreement(kind, role).await?;
            }
        }
        Ok(self.store().agreements(self.workspace()).await?)
    }

    /// One version, by id: the owner's side reads any; a person reads the
    /// ones for their role.
    pub async fn agreement(&self, actor: &Actor, id: AgreementId) -> Result<Agreement, VaultError> {
        self.require_member(actor)?;
        let found = self
            .store()
            .agreements(self.workspace())
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .filter(|a| {
                a.audience == actor.role
                    || matches!(actor.role, Role::Owner | Role::Admin | Role::Auditor)
            });
        found.ok_or_else(|| {
            VaultError::NotFound(format!(
                "no agreement {id} for you: open Agreements to see the ones you sign"
            ))
        })
    }

    /// Publishes a new version (owner and admins). From now on people of
    /// its role sign this version; older signatures count for its grace
    /// period.
    pub async fn publish_agreement(
        &self,
        actor: &Actor,
        draft: &AgreementDraft,
    ) -> Result<Agreement, VaultError> {
        self.gate(actor, "publish an agreement", KnownAction::PublishAgreement)
            .await?;
        let text = draft.text.replace("\r\n", "\n");
        validate_agreement(
            draft.audience,
            &draft.title,
            &text,
            draft.valid_days,
            draft.grace_days,
        )
        .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let previous = self.latest_agreement(draft.kind, draft.audience).await?;
        let agreement = Agreement {
            id: AgreementId::random(&mut OsRng),
            workspace: self.workspace(),
            kind: draft.kind,
            audience: draft.audience,
            version: previous.map_or(1, |p| p.version + 1),
            title: draft.title.trim().to_owned(),
            text,
            covers: draft.covers,
            valid_days: draft.valid_days,
            grace_days: draft.grace_days,
            published_at: self.inner.clock.now(),
            published_by: Some(actor.person),
        };
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::PublishAgreement,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "{}: {} version {} for {}s, text sha256 {}",
            attempt.reason,
            agreement.kind,
            agreement.version,
            agreement.audience,
            hex(&text_sha256(&agreement.text))
        );
        self.record(&[attempt]).await?;
        self.store()
            .insert_agreement(&agreement)
            .await
            .map_err(VaultError::from)?;
        Ok(agreement)
    }

    /// The agreements `actor` signs, and where they stand with each.
    pub async fn my_agreements(&self, actor: &Actor) -> Result<Vec<AgreementDue>, VaultError> {
        self.require_member(actor)?;
        if !signs_agreements(actor.role) {
            return Ok(Vec::new());
        }
        let signatures = self
            .store()
            .signatures_of(self.workspace(), actor.person)
            .await?;
        let now = self.inner.clock.now();
        Ok(self
            .current_pair(actor.role)
            .await?
            .into_iter()
            .map(|agreement| AgreementDue {
                standing: standing(&agreement, &signatures, Label::Public, now),
                agreement,
            })
            .collect())
    }

    /// Signs (or acknowledges) the current version of an agreement for
    /// `actor`'s role: the record holds the text's SHA-256, the version,
    /// the typed name, time, client address and user agent, sealed with
    /// the workspace key, and goes to the ledger first.
    pub async fn sign_agreement(
        &self,
        actor: &Actor,
        id: AgreementId,
        signing: &Signing,
    ) -> Result<Signature, VaultError> {
        self.require_member(actor)?;
        if !signs_agreements(actor.role) {
            return Err(VaultError::InvalidInput(format!(
                "{} do not sign agreements: they are for assistants, vendors and associates",
                actor.role
            )));
        }
        let agreement = self.agreement(actor, id).await?;
        if agreement.audience != actor.role {
            return Err(VaultError::NotFound(format!(
                "no agreement {id} for you: open Agreements to see the ones you sign"
            )));
        }
        let current = self
            .current_agreement(agreement.kind, agreement.audience)
            .await?;
        if current.id != agreement.id {
            return Err(VaultError::Conflict(
                confidant_core::AgreementError::NotCurrent {
                    kind: agreement.kind,
                    signed: agreement.version,
                    current: current.version,
                }
                .to_string(),
            ));
        }
        let typed_name = validate_signing(&signing.typed_name, signing.consent)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let now = self.inner.clock.now();
        let mut signature = Signature {
            id: SignatureId::random(&mut OsRng),
            workspace: self.workspace(),
            person: actor.person,
            agreement: agreement.id,
            kind: agreement.kind,
            audience: agreement.audience,
            version: agreement.version,
            text_sha256: text_sha256(&agreement.text),
            covers: agreement.covers,
            typed_name,
            signed_at: now,
            expires_at: agreement
                .valid_days
                .map(|d| now + time::Duration::days(i64::from(d))),
            client: signing.client.map(|c| c.to_string()),
            user_agent: signing.user_agent.chars().take(512).collect(),
            seal: Vec::new(),
        };
        signature.seal = self
            .current_keys()
            .signing
            .sign(&signature.signed_bytes())
            .to_vec();
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::SignAgreement,
            Target::whole(TargetId::Person(actor.person)),
        );
        attempt.client = signing.client;
        attempt.reason = format!(
            "{} version {} signed (signature {}, text sha256 {})",
            agreement.kind,
            agreement.version,
            signature.id,
            hex(&signature.text_sha256)
        );
        self.record(&[attempt]).await?;
        self.store().insert_signature(&signature).await?;
        Ok(signature)
    }

    /// Whether a signature's seal verifies with the workspace key.
    pub fn seal_verifies(&self, signature: &Signature) -> bool {
        self.current_keys()
            .signing
            .verifying_key()
            .verify(&signature.signed_bytes(), &signature.seal)
            .is_ok()
    }

    /// Every signature with its signer (owner, admins and auditors).
    pub async fn signatures(&self, actor: &Actor) -> Result<Vec<SignatureView>, VaultError> {
        self.require_reader(actor, "read the signatures")?;
        let people = self.store().people(self.workspace()).await?;
        let agreements = self.store().agreements(self.workspace()).await?;
        let mut out = Vec::new();
        for signature in self.store().signatures(self.workspace()).await? {
            let person = people.iter().find(|p| p.id == signature.person);
            out.push(SignatureView {
                seal_ok: self.seal_verifies(&signature),
                email: person.map(|p| p.email.clone()).unwrap_or_default(),
                name: person.map(|p| p.name.clone()).unwrap_or_default(),
                title: agreements
                    .iter()
                    .find(|a| a.id == signature.agreement)
                    .map(|a| a.title.clone())
                    .unwrap_or_default(),
                signature,
            });
        }
        Ok(out)
    }

    /// Who cannot use their grants because of an agreement or of their
    /// devices, and why (owner, admins and auditors).
    pub async fn blocked_people(&self, actor: &Actor) -> Result<Vec<Blocked>, VaultError> {
        self.require_reader(actor, "see who is blocked")?;
        let now = self.inner.clock.now();
        // Read once for everyone: the posture policy and the devices.
        let policy = self.posture_policy().await?;
        let devices = self.store().devices(self.workspace()).await?;
        let mut out = Vec::new();
        for person in self.store().people(self.workspace()).await? {
            if person.status != PersonStatus::Active || !signs_agreements(person.role) {
                continue;
            }
            let mut reasons = self.agreement_blockers(&person, now).await?;
            // Their devices matter once they hold a live grant.
            let live = self
                .store()
                .grants_of(self.workspace(), person.id)
                .await?
                .iter()
                .any(|g| {
                    g.status == confidant_core::GrantStatus::Active
                        && g.ended_at.is_none()
                        && g.expires_at > now
                });
            if live {
                let gate =
                    crate::devices::DeviceGate::best_of(policy.clone(), now, person.id, &devices);
                if !gate.ok(Label::Confidential) {
                    reasons.extend(
                        gate.steps(Label::Confidential)
                            .into_iter()
                            .map(|step| format!("for Confidential items: {step}")),
                    );
                }
            }
            if !reasons.is_empty() {
                out.push(Blocked {
                    email: person.email.clone(),
                    name: person.name.clone(),
                    role: person.role,
                    reasons,
                });
            }
        }
        Ok(out)
    }

    async fn agreement_blockers(
        &self,
        person: &PersonRecord,
        now: time::OffsetDateTime,
    ) -> Result<Vec<String>, VaultError> {
        let signatures = self
            .store()
            .signatures_of(self.workspace(), person.id)
            .await?;
        Ok(self
            .current_pair(person.role)
            .await?
            .iter()
            .filter_map(|current| {
                standing(current, &signatures, Label::Public, now).blocker(current.kind)
            })
            .collect())
    }

    /// The PDF of one signature: the agreement's full text, then a
    /// signature certificate page (owner and admins).
    pub async fn signature_pdf(
        &self,
        actor: &Actor,
        id: SignatureId,
    ) -> Result<Vec<u8>, VaultError> {
        self.require_owner(actor, "download a signed agreement")?;
        let signature = self
            .store()
            .signatures(self.workspace())
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| VaultError::NotFound(format!("no signature {id}")))?;
        let agreement = self
            .store()
            .agreements(self.workspace())
            .await?
            .into_iter()
            .find(|a| a.id == signature.agreement)
            .ok_or_else(|| {
                VaultError::Integrity(format!(
                    "signature {id} names an agreement that is not stored"
                ))
            })?;
        let person = self
            .store()
            .person(self.workspace(), signature.person)
            .await?
            .ok_or_else(|| VaultError::Integrity(format!("signature {id} names no person")))?;
        if text_sha256(&agreement.text) != signature.text_sha256 {
            return Err(VaultError::Integrity(format!(
                "the stored text of {} version {} does not match the hash signature {id} names",
                agreement.kind, agreement.version
            )));
        }
        let certificate = certificate_lines(
            &self.inner.workspace_name,
            &agreement,
            &signature,
            &person,
            self.seal_verifies(&signature),
            &self.public_key(),
        );
        crate::pdf::agreement_pdf(&agreement.title, &agreement.text, &certificate)
    }

    /// The agreement gates of a person now: whether their signatures of
    /// the current NDA and handbook for their role count, per label.
    pub(crate) async fn agreement_gates(
        &self,
        person: PersonId,
        role: Role,
    ) -> Result<AgreementGates, VaultError> {
        if !signs_agreements(role) {
            return Ok(AgreementGates::default());
        }
        let signatures = self.store().signatures_of(self.workspace(), person).await?;
        let now = self.inner.clock.now();
        let [nda, handbook] = self.current_pair(role).await?;
        let nda_labels = [
            Label::Public,
            Label::Internal,
            Label::Confidential,
            Label::Restricted,
        ]
        .into_iter()
        .filter(|l| standing(&nda, &signatures, *l, now).is_signed())
        .collect();
        Ok(AgreementGates {
            nda_labels,
            handbook: standing(&handbook, &signatures, Label::Public, now).is_signed(),
        })
    }
}

/// Which labels a person's NDA signature covers now, and whether their
/// handbook acknowledgement counts.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgreementGates {
    pub nda_labels: BTreeSet<Label>,
    pub handbook: bool,
}

fn certificate_lines(
    business: &str,
    agreement: &Agreement,
    signature: &Signature,
    person: &PersonRecord,
    seal_ok: bool,
    public_key: &[u8; 32],
) -> Vec<String> {
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    let b64 = |bytes: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    vec![
        "SIGNATURE CERTIFICATE".to_owned(),
        String::new(),
        format!("Business: {business}"),
        format!(
            "Agreement: {} ({}, version {}, for {}s)",
            agreement.title, agreement.kind, agreement.version, agreement.audience
        ),
        format!("Covers items labelled up to: {}", agreement.covers),
        format!("Text SHA-256: {}", hex(&signature.text_sha256)),
        String::new(),
        format!("Signed by: {} <{}>", person.name, person.email),
        format!("Typed name: {}", signature.typed_name),
        format!("Signed at: {}", rfc3339(signature.signed_at)),
        format!(
            "Expires: {}",
            signature
                .expires_at
                .map_or_else(|| "with a new version of the agreement".to_owned(), rfc3339)
        ),
        format!(
            "Client address: {}",
            signature.client.as_deref().unwrap_or("unknown")
        ),
        format!("User agent: {}", signature.user_agent),
        String::new(),
        format!("Signature id: {}", signature.id),
        format!("Workspace key (Ed25519, base64): {}", b64(public_key)),
        format!(
            "Seal (Ed25519 over the record, base64): {}",
            b64(&signature.seal)
        ),
        format!(
            "Seal check when this file was made: {}",
            if seal_ok { "valid" } else { "INVALID" }
        ),
        String::new(),
        "The seal covers these lines of the signature record, one per line:".to_owned(),
        "id, workspace, person, agreement, kind, audience, version, text-sha256, covers,"
            .to_owned(),
        "typed-name, signed-at, expires-at, client, user-agent (see docs/agreements.md)."
            .to_owned(),
        "The record was appended to the workspace's tamper-evident access ledger when signed."
            .to_owned(),
    ]
}
