//! People end to end at the vault: invitations, the second factor,
//! sessions, offboarding and tenants, on SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};

use confidant_core::{Label, PersonStatus, Role};
use confidant_vault::{
    Clock, InitOptions, KdfParams, KeyFile, SessionRequest, SignIn, Tenants, Unlock, Vault,
    VaultError, code_at,
};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::Setup;

/// A clock the test moves.
#[derive(Debug)]
struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    fn new() -> Arc<TestClock> {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        Arc::new(TestClock(Mutex::new(now)))
    }

    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

const ALEX_PASSWORD: &str = "velvet lantern orbit mosaic";

async fn open_with(setup: &Setup, clock: Arc<TestClock>) -> Vault {
    let store = confidant_store::connect(&setup.url).await.unwrap();
    let unlock = Unlock::KeyFile(KeyFile::parse(&setup.key).unwrap());
    Vault::open(store, setup.blobs.clone(), clock, &unlock)
        .await
        .unwrap()
}

fn web() -> SessionRequest {
    SessionRequest::web("test browser")
}

async fn invitation_to_offboarding(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let clock = TestClock::new();
    let vault = open_with(&setup, clock.clone()).await;
    let owner = vault.owner().await.unwrap();

    let invitation = vault
        .invite(
            &owner,
            "Alex@Example.com",
            "Alex Doe",
            Role::Assistant,
            None,
        )
        .await
        .unwrap();
    assert_eq!(invitation.person.email, "alex@example.com");
    assert_eq!(invitation.person.status, PersonStatus::Invited);
    assert_eq!(invitation.expires_at, clock.now() + Duration::hours(72));
    let token = invitation.token;
    let view = vault.invitation(&token).await.unwrap();
    assert_eq!(
        (view.name.as_str(), view.role, view.invited_by.as_str()),
        ("Alex Doe", Role::Assistant, "Olivia")
    );

    // The authenticator app scans the setup; the test plays the app.
    let setup_totp = vault.new_totp_setup("alex@example.com").unwrap();
    let secret = setup_totp.secret.expose_secret().to_owned();
    let code = code_at(&secret, clock.now()).unwrap();

    // A weak password or a wrong code changes nothing.
    for (password, code, expected) in [
        ("password1234", code.as_str(), "too easy to guess"),
        ("short", code.as_str(), "at least 12"),
        (ALEX_PASSWORD, "000000", "does not match"),
    ] {
        let err = vault
            .accept_invitation(
                &token,
                &SecretString::from(password),
                &secret,
                code,
                None,
                &web(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VaultError::InvalidInput(m) if m.contains(expected)),
            "{password}: {err}"
        );
    }
    assert!(vault.invitation(&token).await.is_ok(), "still pending");

    let welcome = vault
        .accept_invitation(
            &token,
            &SecretString::from(ALEX_PASSWORD),
            &secret,
            &code,
            None,
            &web(),
        )
        .await
        .unwrap();
    assert_eq!(welcome.recovery_codes.len(), 10);
    let alex = vault
        .authenticate(&welcome.session.token, false)
        .await
        .unwrap();
    assert_eq!((alex.role, alex.has_second_factor), (Role::Assistant, true));

    // The link works once.
    let err = vault
        .accept_invitation(
            &token,
            &SecretString::from(ALEX_PASSWORD),
            &secret,
            &code,
            None,
            &web(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden(_)), "{err}");
    assert!(vault.invitation(&token).await.is_err());

    // Sign-in: the password, then a code; the code used at enrollment is
    // spent, so it is refused even inside its 30 s window.
    let password = SecretString::from(ALEX_PASSWORD);
    let pending = match vault
        .sign_in("alex@example.com", &password, None, &web())
        .await
        .unwrap()
    {
        SignIn::SecondFactor { pending } => pending,
        SignIn::Done(_) => panic!("an assistant always needs the second factor"),
    };
    assert!(
        vault.authenticate(&pending, false).await.is_err(),
        "a half-session opens nothing"
    );
    let err = vault
        .complete_sign_in(&pending, &code, None, &web())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("used already"), "{err}");
    clock.advance(Duration::seconds(30));
    let fresh = code_at(&secret, clock.now()).unwrap();
    let session = vault
        .complete_sign_in(&pending, &fresh, None, &web())
        .await
        .unwrap();
    assert_ne!(
        session.token.expose_secret(),
        pending.expose_secret(),
        "a new id at sign-in"
    );
    assert!(vault.authenticate(&session.token, false).await.is_ok());
    assert!(
        vault
            .complete_sign_in(&pending, &fresh, None, &web())
            .await
            .is_err(),
        "the half-session is gone"
    );

    // The same code again, at a second sign-in: refused.
    let SignIn::SecondFactor { pending } = vault
        .sign_in("alex@example.com", &password, None, &web())
        .await
        .unwrap()
    else {
        panic!("second factor expected")
    };
    assert!(
        vault
            .complete_sign_in(&pending, &fresh, None, &web())
            .await
            .is_err()
    );
    // A recovery code works, once.
    let recovery = welcome.recovery_codes[0].expose_secret().to_uppercase();
    let api = vault
        .complete_sign_in(&pending, &recovery, None, &SessionRequest::api("cli"))
        .await
        .unwrap();
    assert!(vault.authenticate(&api.token, true).await.is_ok());
    let SignIn::SecondFactor { pending } = vault
        .sign_in("alex@example.com", &password, None, &web())
        .await
        .unwrap()
    else {
        panic!("second factor expected")
    };
    assert!(
        vault
            .complete_sign_in(&pending, &recovery, None, &web())
            .await
            .is_err()
    );

    // The owner sees Alex, their sessions and codes left.
    let detail = vault
        .person_detail(&owner, "alex@example.com")
        .await
        .unwrap();
    assert_eq!(detail.person.status, PersonStatus::Active);
    assert_eq!(detail.recovery_codes_left, 9);
    assert_eq!(
        detail.sessions.len(),
        3,
        "two web sessions and the API token: {:#?}",
        detail.sessions
    );

    // Alex may not invite or offboard anyone.
    assert!(matches!(
        vault
            .invite(&alex, "eve@example.com", "Eve", Role::Vendor, None)
            .await,
        Err(VaultError::Forbidden(_))
    ));
    assert!(matches!(
        vault.offboard(&alex, "owner@example.com", "coup").await,
        Err(VaultError::Forbidden(_))
    ));

    // Offboarding: one step, effective at once, everywhere.
    let other_process = open_with(&setup, clock.clone()).await;
    let done = vault
        .offboard(&owner, "alex@example.com", "contract ended")
        .await
        .unwrap();
    assert_eq!(
        done.sessions_ended, 4,
        "three sessions and an unfinished sign-in"
    );
    assert_eq!(done.person.status, PersonStatus::Offboarded);
    for token in [&welcome.session.token, &session.token] {
        assert!(other_process.authenticate(token, false).await.is_err());
    }
    assert!(other_process.authenticate(&api.token, true).await.is_err());
    let offboarded = vault
        .sign_in("alex@example.com", &password, None, &web())
        .await
        .unwrap_err();
    let wrong = vault
        .sign_in(
            "owner@example.com",
            &SecretString::from("not the password at all"),
            None,
            &web(),
        )
        .await
        .unwrap_err();
    assert_eq!(offboarded.to_string(), wrong.to_string());
    assert!(matches!(
        vault.offboard(&owner, "alex@example.com", "again").await,
        Err(VaultError::Conflict(_))
    ));
    let err = vault
        .invite(
            &owner,
            "alex@example.com",
            "Alex Doe",
            Role::Assistant,
            None,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("offboarded"), "{err}");
    let people = vault.people(&owner).await.unwrap();
    // (The test clock starts on a whole second, so Alex may sort first.)
    let mut statuses: Vec<_> = people
        .iter()
        .map(|p| (p.email.as_str(), p.status))
        .collect();
    statuses.sort_by_key(|(email, _)| std::cmp::Reverse(*email));
    assert_eq!(
        statuses,
        [
            ("owner@example.com", PersonStatus::Active),
            ("alex@example.com", PersonStatus::Offboarded)
        ]
    );
    // All of it is on the record.
    let actions: Vec<String> = vault
        .ledger_log(&owner, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.action.to_string())
        .collect();
    for wanted in ["invite", "accept_invite", "sign_in", "offboard"] {
        assert!(actions.iter().any(|a| a == wanted), "{wanted}: {actions:?}");
    }
}

#[tokio::test]
async fn invitation_to_offboarding_sqlite() {
    invitation_to_offboarding(false).await;
}

#[tokio::test]
async fn invitation_to_offboarding_postgres() {
    invitation_to_offboarding(true).await;
}

#[tokio::test]
async fn invitations_expire_and_are_replaced() {
    let setup = Setup::new(false).await.unwrap();
    let clock = TestClock::new();
    let vault = open_with(&setup, clock.clone()).await;
    let owner = vault.owner().await.unwrap();
    let first = vault
        .invite(&owner, "bo@example.com", "Bo", Role::Vendor, None)
        .await
        .unwrap();
    let second = vault
        .invite(
            &owner,
            "bo@example.com",
            "Bo",
            Role::Vendor,
            Some(Duration::hours(1)),
        )
        .await
        .unwrap();
    assert!(vault.invitation(&first.token).await.is_err(), "replaced");
    assert!(vault.invitation(&second.token).await.is_ok());
    clock.advance(Duration::hours(1));
    assert!(vault.invitation(&second.token).await.is_err(), "expired");
    assert!(matches!(
        vault
            .invite(
                &owner,
                "bo@example.com",
                "Bo",
                Role::Vendor,
                Some(Duration::days(31))
            )
            .await,
        Err(VaultError::InvalidInput(_))
    ));
    // An admin invites assistants but not other admins.
    let admin = vault
        .invite(&owner, "ada@example.com", "Ada", Role::Admin, None)
        .await
        .unwrap();
    let totp = vault.new_totp_setup("ada@example.com").unwrap();
    let secret = totp.secret.expose_secret().to_owned();
    let welcome = vault
        .accept_invitation(
            &admin.token,
            &SecretString::from("tr0mbone-Glacier-47-quill"),
            &secret,
            &code_at(&secret, clock.now()).unwrap(),
            None,
            &web(),
        )
        .await
        .unwrap();
    let ada = welcome.session.actor;
    assert!(
        vault
            .invite(&ada, "cy@example.com", "Cy", Role::Assistant, None)
            .await
            .is_ok()
    );
    assert!(matches!(
        vault
            .invite(&ada, "di@example.com", "Di", Role::Admin, None)
            .await,
        Err(VaultError::Forbidden(_))
    ));
}

#[tokio::test]
async fn sessions_end_when_idle_or_old() {
    let setup = Setup::new(false).await.unwrap();
    let clock = TestClock::new();
    let vault = open_with(&setup, clock.clone()).await;
    let sign_in = |request: SessionRequest| {
        let vault = vault.clone();
        async move {
            match vault
                .sign_in(
                    "owner@example.com",
                    &SecretString::from("a long owner password"),
                    None,
                    &request,
                )
                .await
                .unwrap()
            {
                SignIn::Done(issued) => issued.token,
                SignIn::SecondFactor { .. } => panic!("no second factor enrolled"),
            }
        }
    };
    let busy = sign_in(web()).await;
    let idle = sign_in(web()).await;
    let api = sign_in(SessionRequest::api("cli")).await;
    // The busy session is used every 20 minutes for 11 hours.
    for _ in 0..33 {
        clock.advance(Duration::minutes(20));
        assert!(vault.authenticate(&busy, false).await.is_ok());
    }
    assert!(
        vault.authenticate(&idle, false).await.is_err(),
        "idle 30 min"
    );
    assert!(
        vault.authenticate(&api, true).await.is_ok(),
        "API tokens live longer"
    );
    clock.advance(Duration::hours(1));
    assert!(
        vault.authenticate(&busy, false).await.is_err(),
        "12 h absolute lifetime"
    );
}

#[tokio::test]
async fn workspaces_are_tenants() {
    let setup = Setup::new(false).await.unwrap();
    let store = confidant_store::connect(&setup.url).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(confidant_vault::SystemClock);
    let unlock = || Unlock::KeyFile(KeyFile::parse(&setup.key).unwrap());
    let beta = Vault::add_workspace(
        store.clone(),
        setup.blobs.clone(),
        clock.clone(),
        InitOptions {
            workspace_name: "Beta Dental".into(),
            // The same address as the first workspace's owner.
            owner_email: "owner@example.com".into(),
            owner_name: "Bea".into(),
            owner_password: SecretString::from("another owner passphrase"),
            unlock: unlock(),
            kdf: KdfParams::default(),
        },
    )
    .await
    .unwrap();
    let err = Vault::add_workspace(
        store.clone(),
        setup.blobs.clone(),
        clock.clone(),
        InitOptions {
            workspace_name: "beta dental".into(),
            owner_email: "x@example.com".into(),
            owner_name: "X".into(),
            owner_password: SecretString::from("another owner passphrase"),
            unlock: unlock(),
            kdf: KdfParams::default(),
        },
    )
    .await;
    assert!(err.is_err(), "names are unique");
    let beta_owner = beta.owner().await.unwrap();
    let doc = beta
        .add_document(
            &beta_owner,
            "beta.txt",
            Label::Confidential,
            &b"beta only"[..],
        )
        .await
        .unwrap();

    let vaults = Vault::open_all(store, setup.blobs.clone(), clock, &unlock())
        .await
        .unwrap();
    let tenants = Tenants::new(vaults).unwrap();
    assert_eq!(tenants.len(), 2);
    // One address, two workspaces: the password picks the account.
    for (password, workspace) in [
        ("a long owner password", "Test"),
        ("another owner passphrase", "Beta Dental"),
    ] {
        let (vault, outcome) = tenants
            .sign_in(
                "owner@example.com",
                &SecretString::from(password),
                None,
                &web(),
            )
            .await
            .unwrap();
        assert_eq!(vault.workspace_name(), workspace);
        let SignIn::Done(issued) = outcome else {
            panic!("no second factor")
        };
        let (found, actor) = tenants.authenticate(&issued.token, false).await.unwrap();
        assert_eq!(found.workspace(), vault.workspace());
        assert_eq!(actor.workspace, vault.workspace());
    }
    // The first workspace's owner cannot reach Beta's document, by id or
    // name, and an actor of one workspace is refused by the other's door.
    let test = tenants.first().clone();
    let test_owner = test.owner().await.unwrap();
    let by_id = confidant_vault::DocRef::Id(doc.id);
    assert!(matches!(
        test.open_document(&test_owner, &by_id).await,
        Err(VaultError::NotFound(_))
    ));
    assert!(matches!(
        beta.open_document(&test_owner, &by_id).await,
        Err(VaultError::Forbidden(_))
    ));
    assert!(test.documents(&test_owner).await.unwrap().is_empty());
    let err = tenants
        .sign_in(
            "owner@example.com",
            &SecretString::from("neither of the two passwords"),
            None,
            &web(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VaultError::Forbidden(_)));
}
