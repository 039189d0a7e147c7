//! The store contract, written once and run against every backend (see the
//! `conformance_suite!` list in `main.rs`). Each function gets an empty
//! store of its own.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, ensure};
use confidant_core::{
    Agreement, AgreementId, AgreementKind, DeviceId, GrantId, GrantStatus, ItemId, KeyId, Label,
    PasscodeId, PersonId, PersonStatus, RecordSetId, Role, Signature, SignatureId, WorkspaceId,
};
use confidant_store::{
    Acceptance, AcceptedReport, CheckpointRecord, DeviceRecord, EnrollmentRecord, GrantChange,
    GrantRecord, IncidentRecord, InviteRecord, KeyOwner, KeyRotation, LedgerHead, LedgerLeaf,
    LedgerRef, LinkRecord, NoticeRecord, NoticeStatus, PasscodeRecord, PasscodeScope,
    SecondFactorRecord, SessionKind, SessionRecord, Store, StoreError, UnlockRecord,
    WorkspaceRecord, WrappedKeyRecord,
};
use rand_core::OsRng;

use crate::fixtures::{self, T0, at, c0_hash, c1_hash, document, person_record, record_set, rows};

type Result = anyhow::Result<()>;

/// Asserts that `result` is a `Conflict` and returns its message.
fn conflict<T: std::fmt::Debug>(
    result: std::result::Result<T, StoreError>,
) -> anyhow::Result<String> {
    match result {
        Err(StoreError::Conflict(message)) => Ok(message),
        other => anyhow::bail!("expected a conflict, got {other:?}"),
    }
}

fn other_workspace() -> WorkspaceId {
    WorkspaceId::random(&mut OsRng)
}

pub async fn a_database_holds_workspaces_with_unique_names(store: Arc<dyn Store>) -> Result {
    assert_eq!(store.workspace().await?, None);
    assert_eq!(store.workspaces().await?, vec![]);
    let (ws, owner) = fixtures::workspace(&*store).await?;
    assert_eq!(store.workspace().await?, Some(ws.clone()));
    assert_eq!(store.owner(ws.id).await?, Some(owner.clone()));

    let mut second = fixtures::workspace_record();
    let second_owner = person_record(&second, "other@example.com", Role::Owner, T0);
    let message = conflict(store.create_workspace(&second, &second_owner).await)?;
    assert!(message.contains("workspace with this name"), "{message}");
    assert_eq!(
        store.people(second.id).await?,
        vec![],
        "the failed creation left no owner"
    );

    second.name = "Beta Dental".into();
    second.created_at = at(T0 + 5);
    // The same e-mail address may belong to people of different workspaces.
    let second_owner = person_record(&second, "owner@example.com", Role::Owner, T0 + 5);
    store.create_workspace(&second, &second_owner).await?;
    assert_eq!(store.workspace().await?, Some(ws.clone()), "the first one");
    assert_eq!(store.workspaces().await?, vec![ws.clone(), second.clone()]);
    assert_eq!(
        store.workspaces_of_email("owner@example.com").await?,
        vec![ws.id, second.id]
    );
    assert_eq!(
        store.workspaces_of_email("nobody@example.com").await?,
        vec![]
    );
    Ok(())
}

pub async fn one_of_concurrent_workspace_creations_wins(store: Arc<dyn Store>) -> Result {
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..6 {
        let store = store.clone();
        tasks.spawn(async move {
            let ws = fixtures::workspace_record();
            let owner = person_record(&ws, &format!("owner{n}@example.com"), Role::Owner, T0);
            store.create_workspace(&ws, &owner).await
        });
    }
    let mut created = 0;
    while let Some(result) = tasks.join_next().await {
        match result? {
            Ok(()) => created += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    assert_eq!(created, 1, "one workspace of the same name");
    let ws = store.workspace().await?.context("workspace")?;
    assert_eq!(store.people(ws.id).await?.len(), 1);
    Ok(())
}

pub async fn people_are_found_by_id_and_email(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 20);
    let bob = person_record(&ws, "bob@example.com", Role::Vendor, T0 + 10);
    store.insert_person(&ann).await?;
    store.insert_person(&bob).await?;

    assert_eq!(store.person(ws.id, ann.id).await?, Some(ann.clone()));
    assert_eq!(
        store.person_by_email(ws.id, "bob@example.com").await?,
        Some(bob.clone())
    );
    assert_eq!(
        store.person_by_email(ws.id, "carl@example.com").await?,
        None
    );
    assert_eq!(
        store.person(ws.id, PersonId::random(&mut OsRng)).await?,
        None
    );
    assert_eq!(
        store.people(ws.id).await?,
        vec![owner.clone(), bob, ann.clone()]
    );
    assert_eq!(store.owner(ws.id).await?, Some(owner));

    let twin = person_record(&ws, "ann@example.com", Role::Admin, T0 + 30);
    let message = conflict(store.insert_person(&twin).await)?;
    assert!(
        message.contains("e-mail address already exists"),
        "{message}"
    );
    assert_eq!(
        store.person_by_email(ws.id, "ann@example.com").await?,
        Some(ann)
    );
    Ok(())
}

fn session(ws: &WorkspaceRecord, person: PersonId, byte: u8, kind: SessionKind) -> SessionRecord {
    SessionRecord {
        hash: vec![byte; 32],
        workspace: ws.id,
        person,
        kind,
        label: format!("session {byte}"),
        created_at: at(T0 + i64::from(byte)),
        last_used_at: at(T0 + i64::from(byte)),
        expires_at: at(T0 + 86_400_000),
        device: None,
    }
}

fn invite(ws: &WorkspaceRecord, person: PersonId, by: PersonId, byte: u8) -> InviteRecord {
    InviteRecord {
        hash: vec![byte; 32],
        workspace: ws.id,
        person,
        invited_by: by,
        created_at: at(T0),
        expires_at: at(T0 + 72 * 3_600_000),
        used_at: None,
    }
}

fn factor(byte: u8, step: u64) -> SecondFactorRecord {
    SecondFactorRecord {
        totp_secret_ct: vec![byte; 40],
        confirmed_step: step,
        recovery_code_hashes: (0..10u8)
            .map(|n| [vec![byte], vec![n; 31]].concat())
            .collect(),
    }
}

pub async fn sessions_are_stored_found_renewed_and_ended(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let web = session(&ws, owner.id, 1, SessionKind::Web);
    let api = session(&ws, owner.id, 2, SessionKind::Api);
    store.insert_session(&web).await?;
    store.insert_session(&api).await?;
    assert_eq!(store.session(&web.hash).await?, Some(web.clone()));
    assert_eq!(store.session(&[0xcd; 32]).await?, None);
    conflict(store.insert_session(&web).await)?;
    assert_eq!(
        store.sessions_of(ws.id, owner.id).await?,
        vec![api.clone(), web.clone()],
        "newest first"
    );

    store.touch_session(&web.hash, at(T0 + 60_000)).await?;
    store.touch_session(&web.hash, at(T0 + 30_000)).await?; // Never backwards.
    let touched = store.session(&web.hash).await?.context("session")?;
    assert_eq!(touched.last_used_at, at(T0 + 60_000));

    let renewed = session(&ws, owner.id, 3, SessionKind::Web);
    assert!(store.replace_session(&web.hash, &renewed).await?);
    assert_eq!(store.session(&web.hash).await?, None);
    assert_eq!(store.session(&renewed.hash).await?, Some(renewed.clone()));
    let again = session(&ws, owner.id, 4, SessionKind::Web);
    assert!(
        !store.replace_session(&web.hash, &again).await?,
        "a session is renewed once"
    );
    assert_eq!(store.session(&again.hash).await?, None);

    store.delete_session(&renewed.hash).await?;
    assert_eq!(store.session(&renewed.hash).await?, None);
    store.delete_session(&renewed.hash).await?; // Deleting twice is fine.
    Ok(())
}

pub async fn an_invitation_is_accepted_once(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    let first = invite(&ws, ann.id, owner.id, 1);
    store.insert_invite(&first, Some(&ann)).await?;
    assert_eq!(store.invite(&first.hash).await?, Some(first.clone()));
    assert_eq!(store.person(ws.id, ann.id).await?, Some(ann.clone()));

    // A second invitation cancels the first.
    let second = invite(&ws, ann.id, owner.id, 2);
    store.insert_invite(&second, None).await?;
    assert_eq!(store.invite(&first.hash).await?, None);

    // Inviting someone whose address is taken changes nothing.
    let twin = person_record(&ws, "ann@example.com", Role::Vendor, T0 + 20);
    conflict(
        store
            .insert_invite(&invite(&ws, twin.id, owner.id, 3), Some(&twin))
            .await,
    )?;
    assert_eq!(store.invite(&[3; 32]).await?, None);

    let acceptance = |hash: Vec<u8>, at_ms: i64, byte: u8| Acceptance {
        invite_hash: hash,
        workspace: ws.id,
        person: ann.id,
        at: at(at_ms),
        password_hash: "$argon2id$ann".into(),
        second_factor: factor(byte, 100),
        session: session(&ws, ann.id, byte, SessionKind::Web),
    };
    // The cancelled link and an expired one are refused, changing nothing.
    conflict(
        store
            .accept_invite(&acceptance(first.hash.clone(), T0 + 1, 10))
            .await,
    )?;
    conflict(
        store
            .accept_invite(&acceptance(second.hash.clone(), T0 + 72 * 3_600_000, 11))
            .await,
    )?;
    let still = store.person(ws.id, ann.id).await?.context("ann")?;
    assert_eq!(still.status, PersonStatus::Invited);
    assert_eq!(still.password_hash, None);
    assert_eq!(store.session(&[10; 32]).await?, None);
    assert_eq!(store.recovery_codes_left(ws.id, ann.id).await?, 0);

    store
        .accept_invite(&acceptance(second.hash.clone(), T0 + 1000, 12))
        .await?;
    let active = store.person(ws.id, ann.id).await?.context("ann")?;
    assert_eq!(active.status, PersonStatus::Active);
    assert_eq!(active.password_hash.as_deref(), Some("$argon2id$ann"));
    assert_eq!(active.totp_secret_ct, Some(vec![12; 40]));
    assert_eq!(active.totp_last_step, Some(100));
    assert_eq!(store.recovery_codes_left(ws.id, ann.id).await?, 10);
    assert!(store.session(&[12; 32]).await?.is_some());
    let used = store.invite(&second.hash).await?.context("invite")?;
    assert_eq!(used.used_at, Some(at(T0 + 1000)));

    // Replayed: refused, and the first acceptance stands.
    conflict(
        store
            .accept_invite(&acceptance(second.hash.clone(), T0 + 2000, 13))
            .await,
    )?;
    assert_eq!(store.session(&[13; 32]).await?, None);
    conflict(
        store
            .insert_invite(&invite(&ws, ann.id, owner.id, 4), None)
            .await,
    )?;
    Ok(())
}

fn grant_record(
    ws: &WorkspaceRecord,
    person: PersonId,
    by: PersonId,
    status: GrantStatus,
    ms: i64,
) -> GrantRecord {
    GrantRecord {
        id: GrantId::random(&mut OsRng),
        workspace: ws.id,
        person,
        scope_ct: b"sealed scope".to_vec(),
        actions: "view,reveal".into(),
        purpose_ct: b"sealed purpose".to_vec(),
        status,
        requested_by: by,
        request_reason_ct: None,
        approved_by: (status == GrantStatus::Active).then_some(by),
        created_at: at(ms),
        expires_at: at(ms + 86_400_000),
        ended_at: None,
        end_reason: None,
        require_passcode: false,
    }
}

pub async fn grants_change_status_only_from_the_expected_one(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    store.insert_person(&ann).await?;
    let active = grant_record(&ws, ann.id, owner.id, GrantStatus::Active, T0 + 20);
    let mut requested = grant_record(&ws, ann.id, ann.id, GrantStatus::Requested, T0 + 30);
    requested.request_reason_ct = Some(b"sealed reason".to_vec());
    store.insert_grant(&active).await?;
    store.insert_grant(&requested).await?;
    conflict(store.insert_grant(&active).await)?;
    assert_eq!(store.grant(ws.id, active.id).await?, Some(active.clone()));
    assert_eq!(store.grant(other_workspace(), active.id).await?, None);
    assert_eq!(
        store.grants_of(ws.id, ann.id).await?,
        vec![requested.clone(), active.clone()],
        "newest first"
    );
    assert_eq!(store.grants(ws.id).await?.len(), 2);
    assert_eq!(store.grants_of(ws.id, owner.id).await?, vec![]);

    let approve = GrantChange {
        from: vec![GrantStatus::Requested],
        to: GrantStatus::Active,
        at: at(T0 + 40),
        by: Some(owner.id),
        reason: None,
        scope_ct: Some(b"resolved scope".to_vec()),
    };
    let approved = store
        .change_grant(ws.id, requested.id, &approve)
        .await?
        .context("approved")?;
    assert_eq!(approved.status, GrantStatus::Active);
    assert_eq!(approved.approved_by, Some(owner.id));
    // The item the request named, resolved on approval, replaces its scope.
    assert_eq!(approved.scope_ct, b"resolved scope".to_vec());
    conflict(store.change_grant(ws.id, requested.id, &approve).await)?;
    assert_eq!(
        store
            .change_grant(ws.id, GrantId::random(&mut OsRng), &approve)
            .await?,
        None
    );

    let end = GrantChange {
        from: vec![GrantStatus::Requested, GrantStatus::Active],
        to: GrantStatus::Ended,
        at: at(T0 + 50),
        by: None,
        reason: Some("job done".into()),
        scope_ct: None,
    };
    let ended = store
        .change_grant(ws.id, active.id, &end)
        .await?
        .context("ended")?;
    assert_eq!(ended.status, GrantStatus::Ended);
    assert_eq!(ended.ended_at, Some(at(T0 + 50)));
    assert_eq!(ended.end_reason.as_deref(), Some("job done"));
    assert_eq!(ended.scope_ct, active.scope_ct, "ending keeps the scope");
    conflict(store.change_grant(ws.id, active.id, &end).await)?;

    // Offboarding ends the rest in the same step.
    let done = store
        .offboard_person(ws.id, ann.id, at(T0 + 60), "left")
        .await?
        .context("ann")?;
    assert_eq!(done.grants_ended, 1);
    let after = store.grant(ws.id, requested.id).await?.context("grant")?;
    assert_eq!(after.status, GrantStatus::Ended);
    assert_eq!(after.end_reason.as_deref(), Some("offboarded: left"));
    Ok(())
}

pub async fn owner_policies_are_kept_per_workspace(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    assert_eq!(store.owner_policies(ws.id).await?, "");
    store
        .set_owner_policies(ws.id, "forbid (principal, action, resource);")
        .await?;
    assert_eq!(
        store.owner_policies(ws.id).await?,
        "forbid (principal, action, resource);"
    );
    conflict(store.set_owner_policies(other_workspace(), "x").await)?;
    assert_eq!(store.owner_policies(other_workspace()).await?, "");
    Ok(())
}

pub async fn the_business_day_is_kept_per_workspace(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    assert_eq!(
        store.business_day(ws.id).await?,
        ("UTC".to_owned(), 18 * 60)
    );
    store
        .set_business_day(ws.id, "Europe/Berlin", 17 * 60 + 30)
        .await?;
    assert_eq!(
        store.business_day(ws.id).await?,
        ("Europe/Berlin".to_owned(), 17 * 60 + 30)
    );
    conflict(store.set_business_day(other_workspace(), "UTC", 0).await)?;
    // So is whether the owner's own copies are stamped (on by default).
    assert!(store.owner_copies_stamped(ws.id).await?);
    store.set_owner_copies_stamped(ws.id, false).await?;
    assert!(!store.owner_copies_stamped(ws.id).await?);
    conflict(
        store
            .set_owner_copies_stamped(other_workspace(), true)
            .await,
    )?;
    conflict(store.owner_copies_stamped(other_workspace()).await)?;
    // View-only documents, per workspace.
    let doc = ItemId::random(&mut OsRng);
    assert!(!store.view_only(ws.id, doc).await?);
    store.set_view_only(ws.id, doc, true).await?;
    store.set_view_only(ws.id, doc, true).await?;
    assert!(store.view_only(ws.id, doc).await?);
    assert!(!store.view_only(other_workspace(), doc).await?);
    store.set_view_only(ws.id, doc, false).await?;
    assert!(!store.view_only(ws.id, doc).await?);
    Ok(())
}

fn agreement(ws: &WorkspaceRecord, version: u32, ms: i64) -> Agreement {
    Agreement {
        id: AgreementId::random(&mut OsRng),
        workspace: ws.id,
        kind: AgreementKind::Nda,
        audience: Role::Assistant,
        version,
        title: format!("NDA v{version}"),
        text: "Keep it secret. \u{1F512}".into(),
        covers: Label::Confidential,
        valid_days: Some(365),
        grace_days: 7,
        published_at: at(ms),
        published_by: None,
    }
}

pub async fn agreements_are_versioned_and_signatures_kept(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    store.insert_person(&ann).await?;
    let v1 = agreement(&ws, 1, T0 + 20);
    let mut v2 = agreement(&ws, 2, T0 + 30);
    v2.published_by = Some(owner.id);
    v2.valid_days = None;
    store.insert_agreement(&v2).await?;
    store.insert_agreement(&v1).await?;
    // The same version again (a second owner publishing at once).
    let mut again = agreement(&ws, 2, T0 + 31);
    conflict(store.insert_agreement(&again).await)?;
    again.audience = Role::Vendor;
    store.insert_agreement(&again).await?;
    assert_eq!(
        store.agreements(ws.id).await?,
        vec![v1.clone(), v2.clone(), again],
        "by kind, audience, version"
    );
    assert_eq!(store.agreements(other_workspace()).await?, vec![]);

    let signature = |a: &Agreement, ms: i64| Signature {
        id: SignatureId::random(&mut OsRng),
        workspace: ws.id,
        person: ann.id,
        agreement: a.id,
        kind: a.kind,
        audience: a.audience,
        version: a.version,
        text_sha256: [a.version as u8; 32],
        covers: a.covers,
        typed_name: "Ann Example".into(),
        signed_at: at(ms),
        expires_at: a.valid_days.map(|_| at(ms + 1000)),
        client: Some("192.0.2.7".into()),
        user_agent: "Mozilla/5.0".into(),
        seal: vec![9; 64],
    };
    let s1 = signature(&v1, T0 + 40);
    let s2 = signature(&v2, T0 + 50);
    store.insert_signature(&s1).await?;
    store.insert_signature(&s2).await?;
    conflict(store.insert_signature(&s2).await)?;
    assert_eq!(
        store.signatures_of(ws.id, ann.id).await?,
        vec![s2.clone(), s1.clone()]
    );
    assert_eq!(store.signatures_of(ws.id, owner.id).await?, vec![]);
    assert_eq!(store.signatures(ws.id).await?.len(), 2);
    Ok(())
}

pub async fn passcodes_are_revoked_counted_and_unlock_items(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    store.insert_person(&ann).await?;
    let grant = grant_record(&ws, ann.id, owner.id, GrantStatus::Active, T0 + 20);
    let mut other = grant_record(&ws, ann.id, owner.id, GrantStatus::Active, T0 + 21);
    other.require_passcode = true;
    store.insert_grant(&grant).await?;
    store.insert_grant(&other).await?;
    assert!(
        store
            .grant(ws.id, other.id)
            .await?
            .context("grant")?
            .require_passcode
    );
    let passcode = |g: GrantId, from: i64, until: i64| PasscodeRecord {
        id: PasscodeId::random(&mut OsRng),
        workspace: ws.id,
        person: ann.id,
        grant: g,
        hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA".into(),
        valid_from: at(from),
        valid_until: at(until),
        created_at: at(T0 + 22),
        revoked_at: None,
    };
    let yesterday = passcode(grant.id, T0, T0 + 100);
    let today = passcode(grant.id, T0 + 100, T0 + 200);
    let tomorrow = passcode(grant.id, T0 + 200, T0 + 300);
    let others = passcode(other.id, T0 + 100, T0 + 200);
    for p in [&today, &yesterday, &tomorrow, &others] {
        store.insert_passcode(p).await?;
    }
    conflict(store.insert_passcode(&today).await)?;
    assert_eq!(
        store
            .passcodes_of_grant(ws.id, grant.id, at(T0 + 150))
            .await?,
        vec![today.clone(), tomorrow.clone()],
        "the ones not over, oldest first"
    );
    assert!(today.is_live(at(T0 + 150)) && !tomorrow.is_live(at(T0 + 150)));

    // Wrong tries are counted per grant and day.
    for n in 1..=3 {
        assert_eq!(
            store
                .add_passcode_failure(ws.id, grant.id, at(T0 + 200))
                .await?,
            n
        );
    }
    assert_eq!(
        store
            .passcode_failures(ws.id, grant.id, at(T0 + 200))
            .await?,
        3
    );
    assert_eq!(
        store
            .passcode_failures(ws.id, grant.id, at(T0 + 300))
            .await?,
        0
    );
    assert_eq!(
        store
            .passcode_failures(ws.id, other.id, at(T0 + 200))
            .await?,
        0
    );

    // Unlocks last until their end and die with their passcode.
    let unlock = |p: &PasscodeRecord, item: &str| UnlockRecord {
        workspace: ws.id,
        person: ann.id,
        passcode: p.id,
        grant: p.grant,
        item: item.into(),
        until: p.valid_until,
    };
    store.insert_unlock(&unlock(&today, "doc-1")).await?;
    store.insert_unlock(&unlock(&today, "doc-1")).await?;
    store.insert_unlock(&unlock(&others, "doc-2")).await?;
    assert_eq!(
        store.unlocks_of(ws.id, ann.id, at(T0 + 150)).await?.len(),
        2
    );
    assert_eq!(store.unlocks_of(ws.id, ann.id, at(T0 + 200)).await?, vec![]);
    // One passcode alone (the schedule's, when its digest was not delivered).
    assert_eq!(
        store
            .revoke_passcodes(ws.id, PasscodeScope::One(tomorrow.id), at(T0 + 155))
            .await?,
        1
    );
    assert_eq!(
        store
            .revoke_passcodes(
                other_workspace(),
                PasscodeScope::One(today.id),
                at(T0 + 155)
            )
            .await?,
        0
    );
    assert_eq!(
        store
            .revoke_passcodes(ws.id, PasscodeScope::Grant(grant.id), at(T0 + 160))
            .await?,
        2
    );
    assert_eq!(
        store.unlocks_of(ws.id, ann.id, at(T0 + 150)).await?,
        vec![unlock(&others, "doc-2")]
    );
    // Offboarding revokes the rest.
    let done = store
        .offboard_person(ws.id, ann.id, at(T0 + 170), "left")
        .await?
        .context("ann")?;
    assert_eq!(done.passcodes_revoked, 1);
    assert_eq!(store.unlocks_of(ws.id, ann.id, at(T0 + 150)).await?, vec![]);
    Ok(())
}

pub async fn devices_enroll_once_report_forward_and_are_revoked(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    store.insert_person(&ann).await?;
    let enrollment = EnrollmentRecord {
        code_hash: vec![7; 32],
        workspace: ws.id,
        person: ann.id,
        created_by: owner.id,
        created_at: at(T0 + 20),
        expires_at: at(T0 + 1_000),
        used_at: None,
        device: None,
    };
    store.insert_enrollment(&enrollment).await?;
    conflict(store.insert_enrollment(&enrollment).await)?;
    assert_eq!(store.enrollment(&[7; 32]).await?, Some(enrollment.clone()));
    assert_eq!(store.enrollment(&[8; 32]).await?, None);
    let device = |key: u8, enrolled: i64| DeviceRecord {
        id: DeviceId::random(&mut OsRng),
        workspace: ws.id,
        person: ann.id,
        name: "laptop".into(),
        os: "linux".into(),
        public_key: vec![key; 32],
        enrolled_at: at(enrolled),
        revoked_at: None,
        revoke_reason: None,
        report_seq: 0,
        checked_at: None,
        received_at: None,
        report: None,
    };
    let laptop = device(1, T0 + 30);
    // An expired code enrolls nothing; a good one exactly once.
    assert!(
        !store
            .enroll_device(&[7; 32], &device(2, T0 + 1_000))
            .await?
    );
    assert!(store.enroll_device(&[7; 32], &laptop).await?);
    assert!(!store.enroll_device(&[7; 32], &device(3, T0 + 40)).await?);
    let used = store.enrollment(&[7; 32]).await?.context("enrollment")?;
    assert_eq!(
        (used.used_at, used.device),
        (Some(at(T0 + 30)), Some(laptop.id))
    );
    assert_eq!(store.device(laptop.id).await?, Some(laptop.clone()));
    assert_eq!(store.devices(ws.id).await?, vec![laptop.clone()]);
    assert_eq!(store.devices(other_workspace()).await?, vec![]);
    // The same key cannot enroll twice.
    let mut again = enrollment.clone();
    again.code_hash = vec![9; 32];
    store.insert_enrollment(&again).await?;
    let mut twin = device(1, T0 + 50);
    twin.id = DeviceId::random(&mut OsRng);
    conflict(store.enroll_device(&[9; 32], &twin).await)?;
    assert_eq!(
        store.enrollment(&[9; 32]).await?.context("code")?.used_at,
        None,
        "a failed enrollment leaves its code unused"
    );

    // Reports only move forward.
    let report = |seq: u64, checked: i64| AcceptedReport {
        seq,
        checked_at: at(checked),
        received_at: at(checked + 1),
        report: "{\"checks\":[]}",
    };
    assert!(
        store
            .accept_report(ws.id, laptop.id, &report(5, T0 + 60))
            .await?
    );
    assert!(
        !store
            .accept_report(ws.id, laptop.id, &report(5, T0 + 61))
            .await?
    );
    assert!(
        !store
            .accept_report(ws.id, laptop.id, &report(4, T0 + 62))
            .await?
    );
    assert!(
        !store
            .accept_report(other_workspace(), laptop.id, &report(9, T0 + 63))
            .await?
    );
    assert!(
        store
            .accept_report(ws.id, laptop.id, &report(6, T0 + 64))
            .await?
    );
    let kept = store.device(laptop.id).await?.context("laptop")?;
    assert_eq!(
        (
            kept.report_seq,
            kept.checked_at,
            kept.received_at,
            kept.report.as_deref()
        ),
        (
            6,
            Some(at(T0 + 64)),
            Some(at(T0 + 65)),
            Some("{\"checks\":[]}")
        )
    );

    // A session links to a device through a one-time link code.
    let session = session(&ws, ann.id, 3, SessionKind::Web);
    store.insert_session(&session).await?;
    let link = LinkRecord {
        code_hash: vec![4; 32],
        workspace: ws.id,
        session_hash: session.hash.clone(),
        person: ann.id,
        expires_at: at(T0 + 600),
    };
    store.insert_link(&link).await?;
    assert_eq!(store.take_link(&[4; 32]).await?, Some(link));
    assert_eq!(store.take_link(&[4; 32]).await?, None);
    assert!(store.link_session(ws.id, &session.hash, laptop.id).await?);
    assert!(!store.link_session(ws.id, &[99; 32], laptop.id).await?);
    assert_eq!(
        store
            .session(&session.hash)
            .await?
            .context("session")?
            .device,
        Some(laptop.id)
    );

    // The posture policy is the default until set.
    assert_eq!(store.posture_policy(ws.id).await?, (None, None));
    store
        .set_posture_policy(ws.id, "firewall=internal", 6)
        .await?;
    assert_eq!(
        store.posture_policy(ws.id).await?,
        (Some("firewall=internal".to_owned()), Some(6))
    );

    // Revoked once; a revoked device takes no reports; offboarding revokes
    // the rest.
    assert!(
        store
            .revoke_device(ws.id, laptop.id, at(T0 + 70), "lost")
            .await?
    );
    assert!(
        !store
            .revoke_device(ws.id, laptop.id, at(T0 + 71), "again")
            .await?
    );
    assert!(
        !store
            .accept_report(ws.id, laptop.id, &report(7, T0 + 72))
            .await?
    );
    let revoked = store.device(laptop.id).await?.context("laptop")?;
    assert_eq!(revoked.revoked_at, Some(at(T0 + 70)));
    assert_eq!(revoked.revoke_reason.as_deref(), Some("lost"));
    let mut third = enrollment.clone();
    third.code_hash = vec![10; 32];
    store.insert_enrollment(&third).await?;
    let desktop = device(11, T0 + 80);
    assert!(store.enroll_device(&[10; 32], &desktop).await?);
    let done = store
        .offboard_person(ws.id, ann.id, at(T0 + 90), "left")
        .await?
        .context("ann")?;
    assert_eq!(done.devices_revoked, 1);
    assert!(
        store
            .device(desktop.id)
            .await?
            .context("desktop")?
            .revoked_at
            .is_some()
    );
    Ok(())
}

pub async fn one_time_codes_are_used_once(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    store
        .set_second_factor(ws.id, owner.id, &factor(5, 50))
        .await?;
    let stored = store.person(ws.id, owner.id).await?.context("owner")?;
    assert_eq!(stored.totp_secret_ct, Some(vec![5; 40]));

    assert!(
        !store.claim_totp_step(ws.id, owner.id, 50).await?,
        "the enrolling code"
    );
    assert!(store.claim_totp_step(ws.id, owner.id, 51).await?);
    assert!(
        !store.claim_totp_step(ws.id, owner.id, 51).await?,
        "replayed"
    );
    assert!(!store.claim_totp_step(ws.id, owner.id, 49).await?, "older");
    assert!(store.claim_totp_step(ws.id, owner.id, 60).await?);

    let code = factor(5, 50).recovery_code_hashes[3].clone();
    assert!(
        store
            .use_recovery_code(ws.id, owner.id, &code, at(T0))
            .await?
    );
    assert!(
        !store
            .use_recovery_code(ws.id, owner.id, &code, at(T0))
            .await?
    );
    assert!(
        !store
            .use_recovery_code(ws.id, owner.id, &[0xee; 32], at(T0))
            .await?
    );
    assert_eq!(store.recovery_codes_left(ws.id, owner.id).await?, 9);

    // Re-enrolling replaces the codes.
    store
        .set_second_factor(ws.id, owner.id, &factor(6, 70))
        .await?;
    assert_eq!(store.recovery_codes_left(ws.id, owner.id).await?, 10);
    assert!(
        !store
            .use_recovery_code(ws.id, owner.id, &code, at(T0))
            .await?
    );

    // A code of one workspace's person means nothing in another.
    assert!(
        !store
            .claim_totp_step(other_workspace(), owner.id, 99)
            .await?
    );
    Ok(())
}

pub async fn offboarding_ends_every_session_at_once(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    let bob = person_record(&ws, "bob@example.com", Role::Vendor, T0 + 20);
    store
        .insert_invite(&invite(&ws, ann.id, owner.id, 1), Some(&ann))
        .await?;
    store
        .insert_invite(&invite(&ws, bob.id, owner.id, 2), Some(&bob))
        .await?;
    store
        .accept_invite(&Acceptance {
            invite_hash: vec![1; 32],
            workspace: ws.id,
            person: ann.id,
            at: at(T0 + 100),
            password_hash: "$argon2id$ann".into(),
            second_factor: factor(1, 10),
            session: session(&ws, ann.id, 10, SessionKind::Web),
        })
        .await?;
    store
        .insert_session(&session(&ws, ann.id, 11, SessionKind::Api))
        .await?;
    store
        .insert_session(&session(&ws, owner.id, 12, SessionKind::Web))
        .await?;

    let done = store
        .offboard_person(ws.id, ann.id, at(T0 + 500), "contract ended")
        .await?
        .context("ann exists")?;
    assert_eq!(done.sessions_ended, 2);
    assert_eq!(done.invites_cancelled, 0);
    assert_eq!(done.person.status, PersonStatus::Active);
    assert_eq!(store.session(&[10; 32]).await?, None);
    assert_eq!(store.session(&[11; 32]).await?, None);
    assert!(
        store.session(&[12; 32]).await?.is_some(),
        "others keep theirs"
    );
    let gone = store.person(ws.id, ann.id).await?.context("ann")?;
    assert_eq!(gone.status, PersonStatus::Offboarded);
    assert_eq!(gone.offboarded_at, Some(at(T0 + 500)));
    assert_eq!(gone.offboard_reason.as_deref(), Some("contract ended"));
    conflict(
        store
            .offboard_person(ws.id, ann.id, at(T0 + 600), "again")
            .await,
    )?;
    conflict(store.set_second_factor(ws.id, ann.id, &factor(3, 20)).await)?;

    // An invited person's link is cancelled.
    let done = store
        .offboard_person(ws.id, bob.id, at(T0 + 700), "no longer needed")
        .await?
        .context("bob exists")?;
    assert_eq!(done.invites_cancelled, 1);
    assert_eq!(store.invite(&[2; 32]).await?, None);
    assert_eq!(
        store
            .offboard_person(ws.id, PersonId::random(&mut OsRng), at(T0), "x")
            .await?,
        None
    );
    Ok(())
}

pub async fn documents_are_listed_oldest_first_and_found(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let newest = document(&ws, "c.pdf", T0 + 300);
    let oldest = document(&ws, "a.pdf", T0 + 100);
    let middle = document(&ws, "b.pdf", T0 + 200);
    for doc in [&newest, &oldest, &middle] {
        store.insert_document(doc).await?;
    }
    let listed = store.documents(ws.id).await?;
    assert_eq!(listed, vec![oldest.clone(), middle.clone(), newest.clone()]);
    assert_eq!(
        store.document(ws.id, middle.id).await?,
        Some(middle.clone())
    );
    assert_eq!(
        store.document(ws.id, ItemId::random(&mut OsRng)).await?,
        None
    );
    assert_eq!(
        store
            .document_by_name_index(ws.id, &oldest.name_index)
            .await?,
        Some(oldest.clone())
    );
    assert_eq!(
        store
            .document_by_name_index(ws.id, b"index of nothing")
            .await?,
        None
    );
    let blobs = store.referenced_blobs(ws.id).await?;
    assert_eq!(blobs, vec![oldest.blob, middle.blob, newest.blob]);
    Ok(())
}

pub async fn labels_change_and_scans_are_kept(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let mut doc = document(&ws, "a.pdf", T0);
    doc.scan = None;
    store.insert_document(&doc).await?;
    assert_eq!(store.document(ws.id, doc.id).await?, Some(doc.clone()));
    assert!(
        store
            .set_document_label(ws.id, doc.id, Label::Restricted)
            .await?
    );
    let stored = store.document(ws.id, doc.id).await?.context("document")?;
    assert_eq!(stored.label, Label::Restricted);
    assert!(
        !store
            .set_document_label(other_workspace(), doc.id, Label::Public)
            .await?,
        "another workspace's id changes nothing"
    );
    assert!(
        !store
            .set_document_label(ws.id, ItemId::random(&mut OsRng), Label::Public)
            .await?
    );
    // A new version brings its own scan.
    let mut next = stored.clone();
    next.version = 2;
    next.scan = Some(r#"{"kinds":{"card_number":2}}"#.into());
    store.replace_document(&next).await?;
    assert_eq!(store.document(ws.id, doc.id).await?, Some(next));
    Ok(())
}

pub async fn document_names_are_unique_per_workspace(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let first = document(&ws, "q3.pdf", T0);
    store.insert_document(&first).await?;
    let mut twin = document(&ws, "q3.pdf", T0 + 1);
    twin.name_ct = b"another ciphertext".to_vec();
    let message = conflict(store.insert_document(&twin).await)?;
    assert_eq!(message, "a document with this name already exists");
    assert_eq!(store.documents(ws.id).await?, vec![first]);
    Ok(())
}

pub async fn replacing_a_document_checks_its_version(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let v1 = document(&ws, "contract.pdf", T0);
    store.insert_document(&v1).await?;
    let other = document(&ws, "other.pdf", T0 + 1);
    store.insert_document(&other).await?;

    let mut v2 = v1.clone();
    v2.version = 2;
    v2.size = 999;
    v2.blob = confidant_store::BlobKey::document(ws.id, v1.id, "v2")?;
    v2.data_key_wrapped = b"second data key".to_vec();
    v2.updated_at = at(T0 + 5_000);
    // The creation time stays that of the first version, whatever is sent.
    v2.created_at = at(T0 + 5_000);
    assert_eq!(store.replace_document(&v2).await?, Some(v1.clone()));
    let stored = store
        .document(ws.id, v1.id)
        .await?
        .context("replaced document")?;
    assert_eq!(
        stored,
        confidant_store::DocumentRecord {
            created_at: v1.created_at,
            ..v2.clone()
        }
    );

    // Someone else read v1 and replaces it too: stale.
    conflict(store.replace_document(&v2).await)?;
    let mut skipping = v2.clone();
    skipping.version = 4;
    conflict(store.replace_document(&skipping).await)?;
    let mut zero = v2.clone();
    zero.version = 0;
    conflict(store.replace_document(&zero).await)?;

    // A new name may not take another document's.
    let mut renamed = stored.clone();
    renamed.version = 3;
    renamed.name_index = other.name_index.clone();
    assert_eq!(
        conflict(store.replace_document(&renamed).await)?,
        "a document with this name already exists"
    );
    assert_eq!(
        store.document(ws.id, v1.id).await?.map(|d| d.version),
        Some(2)
    );

    let mut gone = document(&ws, "gone.pdf", T0);
    gone.version = 2;
    assert_eq!(store.replace_document(&gone).await?, None);
    Ok(())
}

pub async fn deleting_a_document_returns_it_once(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let doc = document(&ws, "old.pdf", T0);
    store.insert_document(&doc).await?;
    assert_eq!(
        store.delete_document(ws.id, doc.id).await?,
        Some(doc.clone())
    );
    assert_eq!(store.delete_document(ws.id, doc.id).await?, None);
    assert_eq!(store.document(ws.id, doc.id).await?, None);
    assert_eq!(store.referenced_blobs(ws.id).await?, vec![]);
    // The name is free again.
    store
        .insert_document(&document(&ws, "old.pdf", T0 + 1))
        .await?;
    Ok(())
}

pub async fn an_import_is_invisible_until_committed(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 3);
    let mut import = store.begin_record_import(&set).await?;
    let (first, first_index) = rows(&set, 0..50, 3);
    let (second, second_index) = rows(&set, 50..120, 3);
    import.add_rows(&first, &first_index).await?;
    import.add_rows(&second, &second_index).await?;

    // Another connection sees nothing yet.
    assert_eq!(store.record_set_by_name(ws.id, "customers").await?, None);
    assert_eq!(store.record_set(ws.id, set.id).await?, None);
    assert_eq!(store.record_sets(ws.id).await?, vec![]);
    assert_eq!(store.rows(ws.id, set.id, 0, 1000).await?, vec![]);
    assert_eq!(
        store
            .rows_by_index(ws.id, set.id, "c0", &c0_hash(1))
            .await?,
        vec![]
    );

    let committed = import.commit().await?;
    assert_eq!(
        committed,
        confidant_store::RecordSetRecord {
            row_count: 120,
            ..set.clone()
        }
    );
    assert_eq!(
        store.record_set_by_name(ws.id, "customers").await?,
        Some(committed.clone())
    );
    assert_eq!(
        store.record_set(ws.id, set.id).await?,
        Some(committed.clone())
    );
    assert_eq!(store.record_sets(ws.id).await?, vec![committed]);
    let all: Vec<_> = first.into_iter().chain(second).collect();
    assert_eq!(store.rows(ws.id, set.id, 0, 1000).await?, all);
    Ok(())
}

pub async fn a_dropped_import_leaves_nothing(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let abandoned = record_set(&ws, "customers", 2);
    let mut import = store.begin_record_import(&abandoned).await?;
    let (batch, index) = rows(&abandoned, 0..10, 2);
    import.add_rows(&batch, &index).await?;
    drop(import);

    // The name is free again (this waits for the rollback if need be).
    let set = record_set(&ws, "customers", 2);
    let mut import = store.begin_record_import(&set).await?;
    let (batch, index) = rows(&set, 0..3, 2);
    import.add_rows(&batch, &index).await?;
    import.commit().await?;

    let sets = store.record_sets(ws.id).await?;
    assert_eq!(sets.iter().map(|s| s.id).collect::<Vec<_>>(), vec![set.id]);
    assert_eq!(store.record_set(ws.id, abandoned.id).await?, None);
    assert_eq!(store.rows(ws.id, abandoned.id, 0, 100).await?, vec![]);
    assert_eq!(
        store
            .rows_by_index(ws.id, abandoned.id, "c0", &c0_hash(1))
            .await?,
        vec![]
    );
    assert_eq!(store.rows(ws.id, set.id, 0, 100).await?, batch);
    Ok(())
}

pub async fn an_import_conflicts_early_on_a_taken_name(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 1);
    store.begin_record_import(&set).await?.commit().await?;
    let twin = record_set(&ws, "customers", 1);
    let message = conflict(store.begin_record_import(&twin).await.map(|_| ()))?;
    assert_eq!(message, "a record set with this name already exists");
    assert_eq!(store.record_sets(ws.id).await?.len(), 1);
    Ok(())
}

pub async fn a_failed_import_step_prevents_commit(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 2);
    let mut import = store.begin_record_import(&set).await?;
    let (batch, index) = rows(&set, 0..5, 2);
    import.add_rows(&batch, &index).await?;
    // The same positions again break the order's uniqueness.
    let (again, _) = rows(&set, 3..6, 2);
    conflict(import.add_rows(&again, &[]).await)?;
    conflict(import.commit().await)?;
    assert_eq!(store.record_sets(ws.id).await?, vec![]);
    assert_eq!(store.rows(ws.id, set.id, 0, 100).await?, vec![]);

    // Requests that are refused before touching the database do not spoil
    // the import.
    let mut import = store.begin_record_import(&set).await?;
    let (foreign, _) = rows(&record_set(&ws, "elsewhere", 2), 0..1, 2);
    conflict(import.add_rows(&foreign, &[]).await)?;
    let (batch, mut index) = rows(&set, 0..2, 2);
    index[0].column = "c9".into();
    let message = conflict(import.add_rows(&batch, &index).await)?;
    assert!(
        message.contains("\"c9\" is not an indexed column"),
        "{message}"
    );
    import.add_rows(&batch, &[]).await?;
    assert_eq!(import.commit().await?.row_count, 2);
    Ok(())
}

pub async fn rows_page_in_import_order(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 2);
    let mut import = store.begin_record_import(&set).await?;
    // Added out of order: the order is the ordinal's.
    let (late, late_index) = rows(&set, 60..100, 2);
    let (early, early_index) = rows(&set, 0..60, 2);
    import.add_rows(&late, &late_index).await?;
    import.add_rows(&early, &early_index).await?;
    import.commit().await?;

    let page = store.rows(ws.id, set.id, 55, 10).await?;
    assert_eq!(
        page.iter().map(|r| r.ordinal).collect::<Vec<_>>(),
        (55..65).collect::<Vec<_>>()
    );
    assert_eq!(page[0], early[55]);
    assert_eq!(page[9], late[4]);
    assert_eq!(store.rows(ws.id, set.id, 95, 10).await?.len(), 5);
    assert_eq!(store.rows(ws.id, set.id, 100, 10).await?, vec![]);
    assert_eq!(store.rows(ws.id, set.id, 0, 0).await?, vec![]);
    assert_eq!(store.rows(ws.id, set.id, 0, u64::MAX).await?.len(), 100);
    assert_eq!(store.rows(ws.id, set.id, u64::MAX, 10).await?, vec![]);
    assert_eq!(
        store
            .rows(ws.id, RecordSetId::random(&mut OsRng), 0, 10)
            .await?,
        vec![]
    );
    Ok(())
}

pub async fn rows_are_found_by_blind_index(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 3);
    let mut import = store.begin_record_import(&set).await?;
    let (batch, index) = rows(&set, (0..40).rev(), 3);
    import.add_rows(&batch, &index).await?;
    import.commit().await?;

    let found = store
        .rows_by_index(ws.id, set.id, "c0", &c0_hash(17))
        .await?;
    assert_eq!(
        found.iter().map(|r| r.ordinal).collect::<Vec<_>>(),
        vec![17]
    );
    assert_eq!(found[0].cells, batch[39 - 17].cells);
    let bucket = store
        .rows_by_index(ws.id, set.id, "c1", &c1_hash(3))
        .await?;
    assert_eq!(
        bucket.iter().map(|r| r.ordinal).collect::<Vec<_>>(),
        vec![3, 13, 23, 33]
    );
    // The hash of one column does not find rows through another.
    assert_eq!(
        store
            .rows_by_index(ws.id, set.id, "c1", &c0_hash(17))
            .await?,
        vec![]
    );
    assert_eq!(
        store
            .rows_by_index(ws.id, set.id, "c2", &c0_hash(17))
            .await?,
        vec![]
    );
    assert_eq!(
        store
            .rows_by_index(ws.id, set.id, "c0", b"no such hash")
            .await?,
        vec![]
    );
    Ok(())
}

pub async fn deleting_a_record_set_removes_its_rows(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 2);
    let kept = record_set(&ws, "suppliers", 2);
    for s in [&set, &kept] {
        let mut import = store.begin_record_import(s).await?;
        let (batch, index) = rows(s, 0..30, 2);
        import.add_rows(&batch, &index).await?;
        import.commit().await?;
    }

    let deleted = store
        .delete_record_set(ws.id, set.id)
        .await?
        .context("deleted set")?;
    assert_eq!((deleted.id, deleted.row_count), (set.id, 30));
    assert_eq!(store.delete_record_set(ws.id, set.id).await?, None);
    assert_eq!(store.record_set(ws.id, set.id).await?, None);
    assert_eq!(store.rows(ws.id, set.id, 0, 100).await?, vec![]);
    assert_eq!(
        store
            .rows_by_index(ws.id, set.id, "c0", &c0_hash(3))
            .await?,
        vec![]
    );
    // The other set is untouched and the name is free again.
    assert_eq!(store.rows(ws.id, kept.id, 0, 100).await?.len(), 30);
    assert_eq!(
        store
            .rows_by_index(ws.id, kept.id, "c0", &c0_hash(3))
            .await?
            .len(),
        1
    );
    store
        .begin_record_import(&record_set(&ws, "customers", 1))
        .await?
        .commit()
        .await?;
    Ok(())
}

/// A workspace with two documents and a record set.
async fn keyed_workspace(
    store: &dyn Store,
) -> anyhow::Result<(WorkspaceRecord, Vec<WrappedKeyRecord>)> {
    let (ws, _) = fixtures::workspace(store).await?;
    let a = document(&ws, "a.pdf", T0 + 1);
    let b = document(&ws, "b.pdf", T0 + 2);
    store.insert_document(&a).await?;
    store.insert_document(&b).await?;
    let set = record_set(&ws, "customers", 1);
    store.begin_record_import(&set).await?.commit().await?;
    let key = |owner, wrapped: &[u8]| WrappedKeyRecord {
        owner,
        kek_id: ws.kek_id,
        wrapped: wrapped.to_vec(),
    };
    let keys = vec![
        key(KeyOwner::Signing, &ws.signing_key_wrapped),
        key(KeyOwner::Names, &ws.names_key_wrapped),
        key(KeyOwner::Document(a.id), &a.data_key_wrapped),
        key(KeyOwner::Document(b.id), &b.data_key_wrapped),
        key(KeyOwner::RecordSet(set.id), &set.data_key_wrapped),
    ];
    Ok((ws, keys))
}

/// Every key of `keys` rewrapped under a new KEK.
fn rotation(ws: &WorkspaceRecord, keys: &[WrappedKeyRecord]) -> KeyRotation {
    let new_kek_id = KeyId::random(&mut OsRng);
    KeyRotation {
        old_kek_id: ws.kek_id,
        new_kek_id,
        new_kek_wrapped: b"new kek sealed by root".to_vec(),
        keys: keys
            .iter()
            .map(|k| WrappedKeyRecord {
                owner: k.owner,
                kek_id: new_kek_id,
                wrapped: [b"rewrapped ".as_slice(), &k.wrapped].concat(),
            })
            .collect(),
    }
}

pub async fn wrapped_keys_list_every_key(store: Arc<dyn Store>) -> Result {
    let (ws, keys) = keyed_workspace(&*store).await?;
    assert_eq!(store.wrapped_keys(ws.id).await?, keys);
    Ok(())
}

pub async fn keys_rotate_in_one_step(store: Arc<dyn Store>) -> Result {
    let (ws, keys) = keyed_workspace(&*store).await?;
    let rotation = rotation(&ws, &keys);
    store.rotate_keys(ws.id, &rotation).await?;

    assert_eq!(store.wrapped_keys(ws.id).await?, rotation.keys);
    let after = store.workspace().await?.context("workspace")?;
    assert_eq!(after.kek_id, rotation.new_kek_id);
    assert_eq!(after.kek_wrapped, rotation.new_kek_wrapped);
    assert_eq!(after.signing_key_wrapped, rotation.keys[0].wrapped);
    assert_eq!(after.names_key_wrapped, rotation.keys[1].wrapped);
    assert_eq!(after.signing_public_key, ws.signing_public_key);
    let docs = store.documents(ws.id).await?;
    ensure!(docs.iter().all(|d| d.kek_id == rotation.new_kek_id));

    // The same rotation again starts from a KEK that is no longer current.
    conflict(store.rotate_keys(ws.id, &rotation).await)?;
    Ok(())
}

pub async fn a_rotation_from_the_wrong_kek_changes_nothing(store: Arc<dyn Store>) -> Result {
    let (ws, keys) = keyed_workspace(&*store).await?;
    let mut wrong = rotation(&ws, &keys);
    wrong.old_kek_id = KeyId::random(&mut OsRng);
    conflict(store.rotate_keys(ws.id, &wrong).await)?;
    assert_eq!(store.wrapped_keys(ws.id).await?, keys);
    assert_eq!(store.workspace().await?, Some(ws));
    Ok(())
}

pub async fn a_rotation_missing_a_key_changes_nothing(store: Arc<dyn Store>) -> Result {
    let (ws, keys) = keyed_workspace(&*store).await?;
    for missing in [3, 4, 0] {
        let mut partial = rotation(&ws, &keys);
        partial.keys.remove(missing);
        let message = conflict(store.rotate_keys(ws.id, &partial).await)?;
        assert!(message.contains("nothing was changed"), "{message}");
        assert_eq!(store.wrapped_keys(ws.id).await?, keys);
        assert_eq!(store.workspace().await?, Some(ws.clone()));
    }
    // A key rewrapped under some third KEK is refused as well.
    let mut mixed = rotation(&ws, &keys);
    mixed.keys[2].kek_id = KeyId::random(&mut OsRng);
    conflict(store.rotate_keys(ws.id, &mixed).await)?;
    assert_eq!(store.wrapped_keys(ws.id).await?, keys);
    Ok(())
}

pub async fn keys_wrapped_under_a_retired_kek_are_refused(store: Arc<dyn Store>) -> Result {
    let (ws, keys) = keyed_workspace(&*store).await?;
    let rotation = rotation(&ws, &keys);
    store.rotate_keys(ws.id, &rotation).await?;

    // `ws` still names the old KEK, as a vault that read it before the
    // rotation would.
    conflict(
        store
            .insert_document(&document(&ws, "late.pdf", T0 + 9))
            .await,
    )?;
    conflict(
        store
            .begin_record_import(&record_set(&ws, "late", 1))
            .await
            .map(|_| ()),
    )?;
    let mut replaced = store.documents(ws.id).await?.remove(0);
    replaced.version += 1;
    replaced.kek_id = ws.kek_id;
    conflict(store.replace_document(&replaced).await)?;
    replaced.kek_id = rotation.new_kek_id;
    store
        .replace_document(&replaced)
        .await?
        .context("replaced")?;
    Ok(())
}

pub async fn rotations_racing_writers_leave_no_key_behind(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..3 {
        let store = store.clone();
        writers.spawn(async move {
            for n in 0..30 {
                // Like the vault: wrap under the KEK the workspace has now.
                let current = store.workspace().await?.context("workspace")?;
                let outcome = if n % 2 == 0 {
                    store
                        .insert_document(&document(&current, &format!("{writer}-{n}"), T0 + n))
                        .await
                } else {
                    let set = record_set(&current, &format!("s{writer}-{n}"), 1);
                    match store.begin_record_import(&set).await {
                        Ok(import) => import.commit().await.map(|_| ()),
                        Err(e) => Err(e),
                    }
                };
                match outcome {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(other) => return Err(other.into()),
                }
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            }
            anyhow::Ok(())
        });
    }
    let mut rotated = 0;
    while !writers.is_empty() {
        let current = store.workspace().await?.context("workspace")?;
        let keys = store.wrapped_keys(ws.id).await?;
        match store.rotate_keys(ws.id, &rotation(&current, &keys)).await {
            Ok(()) => rotated += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => return Err(other.into()),
        }
        while let Some(result) = writers.try_join_next() {
            result??;
        }
    }
    // INVARIANT under test: every key is wrapped by the current KEK.
    let kek = store.workspace().await?.context("workspace")?.kek_id;
    let keys = store.wrapped_keys(ws.id).await?;
    ensure!(keys.len() > 2, "no writer got through");
    for key in keys {
        ensure!(key.kek_id == kek, "{:?} is under a retired KEK", key.owner);
    }
    eprintln!("{rotated} rotations got through while writers ran");
    Ok(())
}

pub async fn another_workspace_id_sees_nothing(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let doc = document(&ws, "a.pdf", T0);
    store.insert_document(&doc).await?;
    let set = record_set(&ws, "customers", 2);
    let mut import = store.begin_record_import(&set).await?;
    let (batch, index) = rows(&set, 0..5, 2);
    import.add_rows(&batch, &index).await?;
    import.commit().await?;

    let other = other_workspace();
    assert_eq!(store.person(other, owner.id).await?, None);
    assert_eq!(store.person_by_email(other, &owner.email).await?, None);
    assert_eq!(store.owner(other).await?, None);
    assert_eq!(store.people(other).await?, vec![]);
    assert_eq!(store.document(other, doc.id).await?, None);
    assert_eq!(
        store.document_by_name_index(other, &doc.name_index).await?,
        None
    );
    assert_eq!(store.documents(other).await?, vec![]);
    assert_eq!(store.referenced_blobs(other).await?, vec![]);
    assert_eq!(store.record_sets(other).await?, vec![]);
    assert_eq!(store.record_set(other, set.id).await?, None);
    assert_eq!(store.record_set_by_name(other, "customers").await?, None);
    assert_eq!(store.rows(other, set.id, 0, 10).await?, vec![]);
    assert_eq!(
        store
            .rows_by_index(other, set.id, "c0", &c0_hash(1))
            .await?,
        vec![]
    );
    assert_eq!(store.wrapped_keys(other).await?, vec![]);

    // Writes aimed at another workspace change nothing.
    assert_eq!(store.delete_document(other, doc.id).await?, None);
    assert_eq!(store.delete_record_set(other, set.id).await?, None);
    let mut foreign = doc.clone();
    foreign.workspace = other;
    foreign.version = 2;
    assert_eq!(store.replace_document(&foreign).await?, None);
    let rotation = rotation(&ws, &store.wrapped_keys(ws.id).await?);
    conflict(store.rotate_keys(other, &rotation).await)?;
    assert_eq!(store.document(ws.id, doc.id).await?, Some(doc));
    assert_eq!(store.rows(ws.id, set.id, 0, 10).await?, batch);
    Ok(())
}

pub async fn concurrent_writers_all_succeed(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (store, ws) = (store.clone(), ws.clone());
        tasks.spawn(async move {
            for n in 0..10 {
                let mut doc = document(&ws, &format!("{writer}-{n}.pdf"), T0 + n);
                store.insert_document(&doc).await?;
                doc.version = 2;
                store.replace_document(&doc).await?.context("replaced")?;
                let set = record_set(&ws, &format!("set-{writer}-{n}"), 1);
                let mut import = store.begin_record_import(&set).await?;
                import.add_rows(&rows(&set, 0..3, 1).0, &[]).await?;
                import.commit().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    assert_eq!(store.documents(ws.id).await?.len(), 80);
    assert_eq!(store.record_sets(ws.id).await?.len(), 80);
    Ok(())
}

pub async fn large_imports_span_many_statements(store: Arc<dyn Store>) -> Result {
    // More rows and index entries than one statement carries on either
    // backend, in one call.
    import_rows(store, 15_000, 15_000).await.map(|_| ())
}

/// Imports `total` rows of 8 columns in calls of `per_call`; checks and
/// returns the time the import took.
async fn import_rows(
    store: Arc<dyn Store>,
    total: u64,
    per_call: u64,
) -> anyhow::Result<std::time::Duration> {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let set = record_set(&ws, "customers", 8);
    let batches: Vec<_> = (0..total)
        .step_by(usize::try_from(per_call)?)
        .map(|first| rows(&set, first..(first + per_call).min(total), 8))
        .collect();
    let start = Instant::now();
    let mut import = store.begin_record_import(&set).await?;
    for (batch, index) in &batches {
        import.add_rows(batch, index).await?;
    }
    let committed = import.commit().await?;
    let took = start.elapsed();
    assert_eq!(committed.row_count, total);
    let last = store.rows(ws.id, set.id, total - 1, 10).await?;
    assert_eq!(
        last.iter().map(|r| r.ordinal).collect::<Vec<_>>(),
        vec![total - 1]
    );
    let found = store
        .rows_by_index(ws.id, set.id, "c0", &c0_hash(total / 2))
        .await?;
    assert_eq!(found.len(), 1);
    Ok(took)
}

/// Ledger leaves `indexes`, as the ledger crate would hand them over.
fn leaves(indexes: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    indexes.map(|n| format!("entry {n}").into_bytes()).collect()
}

/// The stored form of `leaves(indexes)`.
fn stored_leaves(indexes: std::ops::Range<u64>) -> Vec<LedgerLeaf> {
    indexes
        .clone()
        .zip(leaves(indexes))
        .map(|(index, leaf)| LedgerLeaf { index, leaf })
        .collect()
}

fn ledger_head(size: u64) -> LedgerHead {
    LedgerHead {
        size,
        frontier: format!("frontier at {size}").into_bytes(),
    }
}

fn checkpoint(size: u64, ms: i64) -> CheckpointRecord {
    CheckpointRecord {
        size,
        note: format!("confidant.example/ledger\n{size}\nroot\n\n— sig {ms}\n"),
        created_at: at(ms),
    }
}

pub async fn ledger_appends_read_back_in_order(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    assert_eq!(store.ledger_head(ws.id).await?, LedgerHead::default());
    assert_eq!(store.ledger_leaves(ws.id, 0, 10).await?, vec![]);

    let append = store.begin_ledger_append(ws.id).await?;
    assert_eq!(append.head(), &LedgerHead::default());
    append.commit(&leaves(0..3), &ledger_head(3), None).await?;
    let append = store.begin_ledger_append(ws.id).await?;
    assert_eq!(append.head(), &ledger_head(3));
    append.commit(&leaves(3..5), &ledger_head(5), None).await?;

    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(5));
    assert_eq!(
        store.ledger_leaves(ws.id, 0, 10).await?,
        stored_leaves(0..5)
    );
    assert_eq!(store.ledger_leaves(ws.id, 2, 2).await?, stored_leaves(2..4));
    assert_eq!(
        store.ledger_leaves(ws.id, 4, u64::MAX).await?,
        stored_leaves(4..5)
    );
    assert_eq!(store.ledger_leaves(ws.id, 5, 10).await?, vec![]);
    assert_eq!(store.ledger_leaves(ws.id, u64::MAX, 10).await?, vec![]);

    // An append of no leaves may still store a new frontier.
    let append = store.begin_ledger_append(ws.id).await?;
    let same_size = LedgerHead {
        size: 5,
        frontier: b"re-encoded".to_vec(),
    };
    append.commit(&[], &same_size, None).await?;
    assert_eq!(store.ledger_head(ws.id).await?, same_size);
    Ok(())
}

pub async fn ledger_leaves_are_found_by_person_and_target(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let other = other_workspace();
    let rng = &mut OsRng;
    let (item, other_item) = (
        uuid::Uuid::from_bytes(rand_bytes(rng)),
        uuid::Uuid::from_bytes(rand_bytes(rng)),
    );
    let refs = [
        LedgerRef {
            actor: Some(owner.id),
            target: item,
        },
        LedgerRef {
            actor: None,
            target: item,
        },
        LedgerRef {
            actor: Some(owner.id),
            target: other_item,
        },
    ];
    // Refs that do not match the leaves one to one are refused whole.
    let append = store.begin_ledger_append(ws.id).await?;
    conflict(
        append
            .commit_indexed(&leaves(0..3), &refs[..2], &ledger_head(3), None)
            .await,
    )?;
    assert_eq!(store.ledger_head(ws.id).await?, LedgerHead::default());
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit_indexed(&leaves(0..3), &refs, &ledger_head(3), None)
        .await?;
    // An append without refs leaves the index short of the ledger.
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(3..4), &ledger_head(4), None)
        .await?;
    assert_eq!(store.ledger_refs_count(ws.id).await?, 3);
    assert_eq!(store.ledger_refs_count(other).await?, 0);
    let indexes = |found: Vec<LedgerLeaf>| found.iter().map(|l| l.index).collect::<Vec<_>>();
    assert_eq!(
        indexes(
            store
                .ledger_leaves_about(ws.id, Some(owner.id), None)
                .await?
        ),
        [0, 2]
    );
    assert_eq!(
        indexes(store.ledger_leaves_about(ws.id, None, Some(item)).await?),
        [0, 1]
    );
    assert_eq!(
        store
            .ledger_leaves_about(ws.id, Some(owner.id), Some(other_item))
            .await?,
        stored_leaves(2..3)
    );
    assert!(
        store
            .ledger_leaves_about(other, Some(owner.id), None)
            .await?
            .is_empty()
    );
    conflict(
        store
            .ledger_leaves_about(ws.id, None, None)
            .await
            .map(|_| ()),
    )?;
    Ok(())
}

fn rand_bytes(rng: &mut OsRng) -> [u8; 16] {
    use rand_core::RngCore;
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b
}

pub async fn a_dropped_ledger_append_leaves_nothing(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    drop(store.begin_ledger_append(ws.id).await?);
    assert_eq!(store.ledger_head(ws.id).await?, LedgerHead::default());

    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(0..2), &ledger_head(2), None)
        .await?;
    let append = store.begin_ledger_append(ws.id).await?;
    assert_eq!(append.head(), &ledger_head(2));
    drop(append);
    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(2));
    assert_eq!(
        store.ledger_leaves(ws.id, 0, 10).await?,
        stored_leaves(0..2)
    );
    // The lock went with the dropped append.
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(2..3), &ledger_head(3), None)
        .await?;
    assert_eq!(
        store.ledger_leaves(ws.id, 0, 10).await?,
        stored_leaves(0..3)
    );
    Ok(())
}

pub async fn a_ledger_append_of_the_wrong_size_stores_nothing(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(0..2), &ledger_head(2), None)
        .await?;
    for wrong in [0, 3, 5, u64::MAX] {
        let append = store.begin_ledger_append(ws.id).await?;
        let message = conflict(
            append
                .commit(&leaves(2..4), &ledger_head(wrong), None)
                .await,
        )?;
        assert!(message.contains("nothing was stored"), "{message}");
    }
    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(2));
    assert_eq!(
        store.ledger_leaves(ws.id, 0, 10).await?,
        stored_leaves(0..2)
    );
    Ok(())
}

pub async fn a_checkpoint_commits_with_its_append(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    let checkpoint = |size: u64| CheckpointRecord {
        size,
        note: format!("note of size {size}\n"),
        created_at: at(T0),
    };
    // A checkpoint for another size than the new head: nothing is stored.
    let message = conflict(
        store
            .begin_ledger_append(ws.id)
            .await?
            .commit(&leaves(0..2), &ledger_head(2), Some(&checkpoint(1)))
            .await,
    )?;
    assert!(message.contains("nothing was stored"), "{message}");
    assert_eq!(store.ledger_head(ws.id).await?, LedgerHead::default());
    assert_eq!(store.latest_checkpoint(ws.id).await?, None);
    // The right size: leaves, head and checkpoint land together.
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(0..2), &ledger_head(2), Some(&checkpoint(2)))
        .await?;
    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(2));
    assert_eq!(store.latest_checkpoint(ws.id).await?, Some(checkpoint(2)));
    Ok(())
}

pub async fn concurrent_ledger_appends_form_one_chain(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    // The first round races to create the ledger, the second to extend it.
    for round in 0..2_u64 {
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..2_u64 {
            let store = store.clone();
            tasks.spawn(async move {
                let append = store.begin_ledger_append(ws.id).await?;
                // Hold the lock for a while, so the other append must wait
                // for it rather than read the same head.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let size = append.head().size;
                let leaf = format!("round {round} writer {writer}").into_bytes();
                append.commit(&[leaf], &ledger_head(size + 1), None).await?;
                anyhow::Ok(size)
            });
        }
        let mut sizes = Vec::new();
        while let Some(result) = tasks.join_next().await {
            sizes.push(result??);
        }
        sizes.sort_unstable();
        let first = 2 * round;
        assert_eq!(
            sizes,
            vec![first, first + 1],
            "each append saw the other's head"
        );
    }
    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(4));
    let stored = store.ledger_leaves(ws.id, 0, 10).await?;
    assert_eq!(
        stored.iter().map(|l| l.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    let mut written: Vec<_> = stored.iter().map(|l| l.leaf.clone()).collect();
    written.sort();
    written.dedup();
    assert_eq!(written.len(), 4, "every append's leaf is there once");
    Ok(())
}

pub async fn another_workspace_sees_no_ledger(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(0..3), &ledger_head(3), None)
        .await?;
    store.insert_checkpoint(ws.id, &checkpoint(3, T0)).await?;

    let other = other_workspace();
    assert_eq!(store.ledger_head(other).await?, LedgerHead::default());
    assert_eq!(store.ledger_leaves(other, 0, 10).await?, vec![]);
    assert_eq!(store.latest_checkpoint(other).await?, None);
    assert_eq!(store.checkpoint_at_or_before(other, 10).await?, None);
    // There is no ledger to write to in a workspace that does not exist.
    conflict(store.begin_ledger_append(other).await.map(|_| ()))?;
    conflict(store.insert_checkpoint(other, &checkpoint(1, T0)).await)?;
    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(3));
    assert_eq!(
        store.ledger_leaves(ws.id, 0, 10).await?,
        stored_leaves(0..3)
    );
    Ok(())
}

pub async fn checkpoints_are_kept_once_per_size_and_found(store: Arc<dyn Store>) -> Result {
    let (ws, _) = fixtures::workspace(&*store).await?;
    assert_eq!(store.latest_checkpoint(ws.id).await?, None);
    let (two, five, nine) = (
        checkpoint(2, T0),
        checkpoint(5, T0 + 10),
        checkpoint(9, T0 + 5),
    );
    for c in [&five, &nine, &two] {
        store.insert_checkpoint(ws.id, c).await?;
    }
    // A second checkpoint for a size replaces nothing.
    store
        .insert_checkpoint(ws.id, &checkpoint(5, T0 + 99))
        .await?;

    assert_eq!(store.latest_checkpoint(ws.id).await?, Some(nine.clone()));
    let at_or_before = |size| store.checkpoint_at_or_before(ws.id, size);
    assert_eq!(at_or_before(1).await?, None);
    assert_eq!(at_or_before(2).await?, Some(two.clone()));
    assert_eq!(at_or_before(4).await?, Some(two));
    assert_eq!(at_or_before(5).await?, Some(five.clone()));
    assert_eq!(at_or_before(8).await?, Some(five));
    assert_eq!(at_or_before(9).await?, Some(nine.clone()));
    assert_eq!(at_or_before(u64::MAX).await?, Some(nine));
    Ok(())
}

pub async fn large_ledger_appends_span_many_statements(store: Arc<dyn Store>) -> Result {
    // More leaves than one statement carries on either backend.
    const TOTAL: u64 = 10_000;
    let (ws, _) = fixtures::workspace(&*store).await?;
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(0..2), &ledger_head(2), None)
        .await?;
    let start = Instant::now();
    store
        .begin_ledger_append(ws.id)
        .await?
        .commit(&leaves(2..TOTAL), &ledger_head(TOTAL), None)
        .await?;
    eprintln!("appended {} leaves in {:?}", TOTAL - 2, start.elapsed());

    assert_eq!(store.ledger_head(ws.id).await?, ledger_head(TOTAL));
    let all = store.ledger_leaves(ws.id, 0, u64::MAX).await?;
    assert_eq!(all.len(), usize::try_from(TOTAL)?);
    ensure!(
        all.iter().zip(0..).all(|(leaf, index)| leaf.index == index),
        "the indexes run from 0 without a gap"
    );
    assert_eq!(all, stored_leaves(0..TOTAL));
    Ok(())
}

pub async fn scheduled_runs_are_claimed_once_per_period(store: Arc<dyn Store>) -> Result {
    use confidant_store::RunStatus;
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let job = "passcode_digest";
    let lease = 300_000; // five minutes, in ms
    let claim = |token: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .claim_run(ws.id, job, "2026-12-01", token, at(now), at(now - lease))
                .await
        }
    };
    ensure!(claim("a", T0).await?, "the first claim wins");
    ensure!(!claim("b", T0 + 1).await?, "a live claim is not taken over");
    let run = store
        .schedule_run(ws.id, job, "2026-12-01")
        .await?
        .context("the claimed run")?;
    assert_eq!((run.status, run.attempts), (RunStatus::Running, 1));
    assert_eq!(store.schedule_run(ws.id, job, "2026-12-02").await?, None);

    // A failure: claimable again only from its retry time, by a new token.
    ensure!(
        !store
            .run_failed(ws.id, job, "2026-12-01", "b", "x", at(T0 + 60_000))
            .await?,
        "only the claim's holder records its outcome"
    );
    ensure!(
        store
            .run_failed(
                ws.id,
                job,
                "2026-12-01",
                "a",
                "mail server down",
                at(T0 + 60_000)
            )
            .await?
    );
    ensure!(!claim("c", T0 + 59_999).await?, "not due yet");
    ensure!(claim("c", T0 + 60_000).await?, "due again");
    ensure!(
        !store
            .run_done(ws.id, job, "2026-12-01", "a", at(T0 + 60_001), "1 sent")
            .await?,
        "the old token is void"
    );
    ensure!(
        store
            .run_done(
                ws.id,
                job,
                "2026-12-01",
                "c",
                at(T0 + 60_001),
                "3 passcodes"
            )
            .await?
    );
    ensure!(
        !claim("d", T0 + 10 * lease).await?,
        "a done run is never claimed again"
    );
    let run = store
        .schedule_run(ws.id, job, "2026-12-01")
        .await?
        .context("the run")?;
    assert_eq!(run.status, RunStatus::Done);
    assert_eq!(run.attempts, 2);
    assert_eq!(run.detail.as_deref(), Some("3 passcodes"));
    assert_eq!(run.finished_at, Some(at(T0 + 60_001)));

    // A process that stopped before handing anything over: its claim is
    // taken over once stale. One that stopped after: never run again.
    let other = |period: &'static str, token: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .claim_run(
                    ws.id,
                    "checkpoint_mail",
                    period,
                    token,
                    at(now),
                    at(now - lease),
                )
                .await
        }
    };
    ensure!(other("p1", "e", T0).await?);
    ensure!(!other("p1", "f", T0 + lease - 1).await?, "not stale yet");
    ensure!(other("p1", "f", T0 + lease).await?, "stale: taken over");
    ensure!(other("p2", "g", T0).await?);
    ensure!(
        store
            .run_handed(ws.id, "checkpoint_mail", "p2", "g", at(T0 + 1))
            .await?
    );
    ensure!(!other("p2", "h", T0 + 10 * lease).await?);
    let run = store
        .schedule_run(ws.id, "checkpoint_mail", "p2")
        .await?
        .context("the run")?;
    assert_eq!(run.status, RunStatus::Uncertain);
    assert_eq!(run.handed_at, Some(at(T0 + 1)));

    let runs = store.schedule_runs(ws.id, 10).await?;
    assert_eq!(runs.len(), 3);
    ensure!(runs.iter().all(|r| !r.sealed));
    assert_eq!(runs[0].period, "p1", "newest claim first");
    assert_eq!(store.schedule_runs(ws.id, 1).await?.len(), 1);
    assert!(store.schedule_runs(other_workspace(), 10).await?.is_empty());

    // A sealed payload is kept with a claimed run and taken once.
    let seal = |token: &'static str| {
        let store = store.clone();
        async move {
            store
                .seal_run(ws.id, job, "2026-12-03", token, b"ciphertext")
                .await
        }
    };
    ensure!(
        store
            .claim_run(ws.id, job, "2026-12-03", "s", at(T0), at(T0 - lease))
            .await?
    );
    ensure!(!seal("t").await?, "only the claim's holder");
    ensure!(seal("s").await?);
    let run = store
        .schedule_run(ws.id, job, "2026-12-03")
        .await?
        .context("the run")?;
    ensure!(run.sealed);
    assert_eq!(
        store
            .take_sealed(other_workspace(), job, "2026-12-03")
            .await?,
        None
    );
    assert_eq!(
        store.take_sealed(ws.id, job, "2026-12-03").await?,
        Some(b"ciphertext".to_vec())
    );
    assert_eq!(
        store.take_sealed(ws.id, job, "2026-12-03").await?,
        None,
        "once"
    );
    let run = store
        .schedule_run(ws.id, job, "2026-12-03")
        .await?
        .context("the run")?;
    ensure!(!run.sealed);

    // Grants locked for a day: five wrong tries or more.
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    store.insert_person(&ann).await?;
    let locked = grant_record(&ws, ann.id, owner.id, GrantStatus::Active, T0 + 20);
    let trying = grant_record(&ws, ann.id, owner.id, GrantStatus::Active, T0 + 21);
    store.insert_grant(&locked).await?;
    store.insert_grant(&trying).await?;
    for _ in 0..5 {
        store
            .add_passcode_failure(ws.id, locked.id, at(T0 + 200))
            .await?;
    }
    store
        .add_passcode_failure(ws.id, trying.id, at(T0 + 200))
        .await?;
    store
        .add_passcode_failure(ws.id, trying.id, at(T0 + 300))
        .await?;
    assert_eq!(
        store.locked_grants(ws.id, at(T0 + 200), 5).await?,
        vec![locked.id]
    );
    assert!(
        store
            .locked_grants(ws.id, at(T0 + 300), 5)
            .await?
            .is_empty()
    );
    assert!(
        store
            .locked_grants(other_workspace(), at(T0 + 200), 5)
            .await?
            .is_empty()
    );
    Ok(())
}

fn notice_record(
    ws: &WorkspaceRecord,
    incident: confidant_core::IncidentId,
    set: RecordSetId,
    row: u8,
    status: NoticeStatus,
) -> anyhow::Result<NoticeRecord> {
    Ok(NoticeRecord {
        id: confidant_core::NoticeId::random(&mut OsRng),
        workspace: ws.id,
        incident,
        set,
        row: format!("00000000-0000-7000-8000-0000000000{row:02x}").parse()?,
        status,
        attempts: 0,
        next_attempt_at: at(T0),
        claim_token: None,
        claimed_at: None,
        handed_at: None,
        sent_at: None,
        last_error: None,
        created_at: at(T0),
    })
}

pub async fn notices_bounce_and_become_letters_only_from_the_expected_states(
    store: Arc<dyn Store>,
) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let incident = IncidentRecord {
        id: confidant_core::IncidentId::random(&mut OsRng),
        workspace: ws.id,
        person: owner.id,
        since: at(T0),
        until: at(T0 + 1000),
        aware_at: at(T0 + 1000),
        opened_at: at(T0 + 1000),
        opened_by: owner.id,
        reason_ct: vec![1, 2, 3],
        offboarded: false,
        item: Some(confidant_store::IncidentItem::RecordSet(
            RecordSetId::random(&mut OsRng),
        )),
    };
    store.insert_incident(&incident).await?;
    assert_eq!(
        store.incident(ws.id, incident.id).await?.as_ref(),
        Some(&incident),
        "an item incident reads back with its item"
    );
    let set = RecordSetId::random(&mut OsRng);
    let queued = notice_record(&ws, incident.id, set, 1, NoticeStatus::Queued)?;
    let sent = notice_record(&ws, incident.id, set, 2, NoticeStatus::Queued)?;
    store
        .insert_notices(&[queued.clone(), sent.clone()])
        .await?;
    ensure!(
        store
            .claim_notice(ws.id, sent.id, "t", at(T0 + 1), at(T0 + 1))
            .await?
    );
    ensure!(store.notice_sent(ws.id, sent.id, "t", at(T0 + 2)).await?);

    // Only a sent (or uncertain) notice bounces.
    ensure!(
        !store
            .notice_bounced(ws.id, queued.id, "5.1.1", at(T0 + 3))
            .await?
    );
    ensure!(
        store
            .notice_bounced(ws.id, sent.id, "5.1.1", at(T0 + 3))
            .await?
    );
    ensure!(
        !store
            .notice_bounced(ws.id, sent.id, "5.1.1", at(T0 + 4))
            .await?
    );
    let bounced = store.notice(ws.id, sent.id).await?.context("the notice")?;
    assert_eq!(bounced.status, NoticeStatus::Bounced);
    assert_eq!(bounced.last_error.as_deref(), Some("5.1.1"));
    assert_eq!(store.notice(other_workspace(), sent.id).await?, None);
    ensure!(
        !store
            .claim_notice(ws.id, sent.id, "u", at(T0 + 5), at(T0 + 5))
            .await?
    );

    // Letters: the bounced one and the queued one change, a new customer
    // gets a notice, and a second export changes nothing.
    let fresh = notice_record(&ws, incident.id, set, 3, NoticeStatus::Letter)?;
    let mut letters = vec![queued.clone(), sent.clone(), fresh.clone()];
    for l in &mut letters {
        l.created_at = at(T0 + 10);
    }
    letters[0].id = confidant_core::NoticeId::random(&mut OsRng);
    assert_eq!(store.mark_letters(&letters).await?, 3);
    assert_eq!(store.mark_letters(&letters).await?, 0);
    let all = store.notices(ws.id, incident.id).await?;
    assert_eq!(all.len(), 3);
    for n in &all {
        assert_eq!(n.status, NoticeStatus::Letter, "{n:?}");
        assert_eq!(n.sent_at, Some(at(T0 + 10)));
    }
    assert!(all.iter().any(|n| n.id == queued.id), "the stored id stays");
    // A letter is never claimed for e-mail, and a new queue skips it.
    ensure!(
        !store
            .claim_notice(ws.id, queued.id, "v", at(T0 + 20), at(T0 + 20))
            .await?
    );
    assert_eq!(
        store.insert_notices(std::slice::from_ref(&queued)).await?,
        0
    );
    Ok(())
}

pub async fn an_incident_and_its_offboarding_commit_together(store: Arc<dyn Store>) -> Result {
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let ann = person_record(&ws, "ann@example.com", Role::Assistant, T0 + 10);
    store
        .insert_invite(&invite(&ws, ann.id, owner.id, 1), Some(&ann))
        .await?;
    let incident = |person: PersonId| IncidentRecord {
        id: confidant_core::IncidentId::random(&mut OsRng),
        workspace: ws.id,
        person,
        since: at(T0),
        until: at(T0 + 1000),
        aware_at: at(T0 + 1000),
        opened_at: at(T0 + 1000),
        opened_by: owner.id,
        reason_ct: vec![7],
        offboarded: true,
        item: None,
    };
    let opened = confidant_store::IncidentStep {
        at: at(T0 + 1000),
        kind: "opened".into(),
        detail: "3 customers".into(),
    };
    let first = incident(ann.id);
    let done = store
        .insert_incident_offboarding(&first, &opened, "incident")
        .await?
        .context("ann exists")?;
    assert_eq!(done.invites_cancelled, 1);
    let gone = store.person(ws.id, ann.id).await?.context("ann")?;
    assert_eq!(gone.status, PersonStatus::Offboarded);
    assert_eq!(store.incident(ws.id, first.id).await?, Some(first.clone()));
    assert_eq!(
        store.incident_steps(ws.id, first.id).await?,
        std::slice::from_ref(&opened)
    );

    // Offboarded already: a conflict, and no second incident.
    let second = incident(ann.id);
    conflict(
        store
            .insert_incident_offboarding(&second, &opened, "again")
            .await,
    )?;
    assert_eq!(store.incident(ws.id, second.id).await?, None);
    assert!(store.incident_steps(ws.id, second.id).await?.is_empty());
    // Nobody: nothing.
    let third = incident(PersonId::random(&mut OsRng));
    assert_eq!(
        store
            .insert_incident_offboarding(&third, &opened, "x")
            .await?,
        None
    );
    assert_eq!(store.incidents(ws.id).await?.len(), 1);
    Ok(())
}

pub async fn break_glass_grants_are_approved_and_ended_once(store: Arc<dyn Store>) -> Result {
    use confidant_core::BreakGlassId;
    use confidant_store::BreakGlassRecord;
    let (ws, owner) = fixtures::workspace(&*store).await?;
    let admin = person_record(&ws, "ada@example.com", Role::Admin, T0);
    store.insert_person(&admin).await?;
    ensure!(
        store.break_glass_needs_approval(ws.id).await?,
        "a second approval is required by default"
    );
    store.set_break_glass_needs_approval(ws.id, false).await?;
    ensure!(!store.break_glass_needs_approval(ws.id).await?);
    store.set_break_glass_needs_approval(ws.id, true).await?;
    ensure!(store.break_glass_needs_approval(ws.id).await?);
    ensure!(
        store.break_glass_needs_approval(other_workspace()).await?,
        "settings are per workspace"
    );
    let grant = BreakGlassRecord {
        id: BreakGlassId::random(&mut OsRng),
        workspace: ws.id,
        person: admin.id,
        reason: "quarterly restore test".into(),
        issued_by: owner.id,
        issued_at: at(T0),
        expires_at: at(T0 + 3_600_000),
        needs_approval: true,
        approved_by: None,
        approved_at: None,
        ended_by: None,
        ended_at: None,
    };
    store.insert_break_glass(&grant).await?;
    ensure!(store.break_glass(ws.id, grant.id).await? == Some(grant.clone()));
    ensure!(
        store
            .break_glass(other_workspace(), grant.id)
            .await?
            .is_none(),
        "not found from another workspace"
    );
    // Not after it expired; once before.
    ensure!(
        !store
            .approve_break_glass(ws.id, grant.id, owner.id, at(T0 + 3_600_000))
            .await?
    );
    ensure!(
        store
            .approve_break_glass(ws.id, grant.id, owner.id, at(T0 + 10))
            .await?
    );
    ensure!(
        !store
            .approve_break_glass(ws.id, grant.id, owner.id, at(T0 + 20))
            .await?
    );
    ensure!(
        store
            .end_break_glass(ws.id, grant.id, admin.id, at(T0 + 30))
            .await?
    );
    ensure!(
        !store
            .end_break_glass(ws.id, grant.id, admin.id, at(T0 + 40))
            .await?
    );
    let stored = store
        .break_glass(ws.id, grant.id)
        .await?
        .context("the grant")?;
    ensure!(stored.approved_by == Some(owner.id) && stored.approved_at == Some(at(T0 + 10)));
    ensure!(stored.ended_by == Some(admin.id) && stored.ended_at == Some(at(T0 + 30)));
    let later = BreakGlassRecord {
        id: BreakGlassId::random(&mut OsRng),
        issued_at: at(T0 + 50),
        ..grant.clone()
    };
    store.insert_break_glass(&later).await?;
    let all = store.break_glass_grants(ws.id).await?;
    ensure!(
        all.iter().map(|g| g.id).collect::<Vec<_>>() == vec![later.id, grant.id],
        "newest first"
    );
    ensure!(
        store
            .break_glass_grants(other_workspace())
            .await?
            .is_empty()
    );
    Ok(())
}
