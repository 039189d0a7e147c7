//! The store's integration tests: the conformance suite, run against SQLite
//! and PostgreSQL alike, and the blob store.
//!
//! PostgreSQL comes from `CONFIDANT_TEST_DATABASE_URL` (see
//! `confidant-testkit`); each test gets a fresh database, or a fresh SQLite
//! file, because a database holds one workspace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod blob;
mod conformance;
mod fixtures;

/// Runs every listed function of [`conformance`] once per backend, as
/// `sqlite::NAME` and `postgres::NAME`.
macro_rules! conformance_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() -> anyhow::Result<()> {
                    let db = crate::fixtures::sqlite().await?;
                    crate::conformance::$case(db.store.clone()).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() -> anyhow::Result<()> {
                    let Some(db) = crate::fixtures::postgres().await? else { return Ok(()) };
                    crate::conformance::$case(db.store.clone()).await
                }
            )*
        }
    };
}

conformance_suite!(
    a_database_holds_workspaces_with_unique_names,
    one_of_concurrent_workspace_creations_wins,
    people_are_found_by_id_and_email,
    sessions_are_stored_found_renewed_and_ended,
    an_invitation_is_accepted_once,
    one_time_codes_are_used_once,
    grants_change_status_only_from_the_expected_one,
    owner_policies_are_kept_per_workspace,
    the_business_day_is_kept_per_workspace,
    agreements_are_versioned_and_signatures_kept,
    passcodes_are_revoked_counted_and_unlock_items,
    devices_enroll_once_report_forward_and_are_revoked,
    offboarding_ends_every_session_at_once,
    documents_are_listed_oldest_first_and_found,
    labels_change_and_scans_are_kept,
    document_names_are_unique_per_workspace,
    replacing_a_document_checks_its_version,
    deleting_a_document_returns_it_once,
    an_import_is_invisible_until_committed,
    a_dropped_import_leaves_nothing,
    an_import_conflicts_early_on_a_taken_name,
    a_failed_import_step_prevents_commit,
    rows_page_in_import_order,
    rows_are_found_by_blind_index,
    deleting_a_record_set_removes_its_rows,
    wrapped_keys_list_every_key,
    keys_rotate_in_one_step,
    a_rotation_from_the_wrong_kek_changes_nothing,
    a_rotation_missing_a_key_changes_nothing,
    keys_wrapped_under_a_retired_kek_are_refused,
    rotations_racing_writers_leave_no_key_behind,
    another_workspace_id_sees_nothing,
    concurrent_writers_all_succeed,
    large_imports_span_many_statements,
    ledger_appends_read_back_in_order,
    ledger_leaves_are_found_by_person_and_target,
    a_dropped_ledger_append_leaves_nothing,
    a_ledger_append_of_the_wrong_size_stores_nothing,
    a_checkpoint_commits_with_its_append,
    concurrent_ledger_appends_form_one_chain,
    another_workspace_sees_no_ledger,
    checkpoints_are_kept_once_per_size_and_found,
    large_ledger_appends_span_many_statements,
    scheduled_runs_are_claimed_once_per_period,
    break_glass_grants_are_approved_and_ended_once,
    notices_bounce_and_become_letters_only_from_the_expected_states,
    an_incident_and_its_offboarding_commit_together,
);

/// What only one backend can show.
mod backend_specific {
    use std::sync::Arc;

    use confidant_store::{SqliteStore, Store};
    use sqlx::Connection;

    use crate::fixtures::{self, T0};

    /// A deleted wrapped key is overwritten in the database file, not left
    /// in a free page (`secure_delete`).
    #[tokio::test]
    async fn sqlite_wipes_deleted_keys() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("confidant.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await?;
        let (ws, _) = fixtures::workspace(&store).await?;
        let marker = b"WRAPPED-KEY-MARKER".repeat(4);
        let mut doc = fixtures::document(&ws, "a.pdf", T0);
        doc.data_key_wrapped = marker.clone();
        store.insert_document(&doc).await?;
        store
            .insert_document(&fixtures::document(&ws, "b.pdf", T0))
            .await?;
        store.delete_document(ws.id, doc.id).await?;

        // Move everything from the WAL into the database file.
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let file = std::fs::read(&path)?;
        assert!(
            !file.windows(marker.len()).any(|w| w == marker),
            "the deleted key is still in the file"
        );
        Ok(())
    }

    /// A ledger written before migration 0015 is indexed by it: the
    /// leaves' actor and target ids, read from their JSON.
    async fn ledger_refs_are_backfilled(url: &str) -> anyhow::Result<()> {
        let old = confidant_store::connect_for_load(url, 14).await?;
        let (ws, owner) = fixtures::workspace(&*old).await?;
        let item = "0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";
        let leaf = |actor: &str| {
            format!(
                "{{\"v\":1,\"time\":\"1970-01-01T00:00:01.234Z\",\"workspace\":\"{}\",\
                 \"actor\":{actor},\"device\":null,\"client\":null,\"action\":\"view\",\
                 \"target\":{{\"kind\":\"document\",\"id\":\"{item}\",\"rows\":[],\"columns\":[]}},\
                 \"decision\":\"allow\",\"reason\":\"r\",\"categories\":[],\"delivery\":null,\"keyed\":{{}}}}",
                ws.id
            )
            .into_bytes()
        };
        let leaves = vec![leaf(&format!("\"{}\"", owner.id)), leaf("null")];
        old.begin_ledger_append(ws.id)
            .await?
            .commit(
                &leaves,
                &confidant_store::LedgerHead {
                    size: 2,
                    frontier: vec![1],
                },
                None,
            )
            .await?;
        drop(old);
        let store = confidant_store::connect(url).await?;
        assert_eq!(store.ledger_refs_count(ws.id).await?, 2);
        let mine = store
            .ledger_leaves_about(ws.id, Some(owner.id), None)
            .await?;
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].leaf, leaves[0]);
        let about = store
            .ledger_leaves_about(ws.id, None, Some(item.parse()?))
            .await?;
        assert_eq!(about.len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn sqlite_ledger_refs_are_backfilled() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        ledger_refs_are_backfilled(&format!("sqlite://{}", dir.path().join("m.db").display())).await
    }

    #[tokio::test]
    async fn postgres_ledger_refs_are_backfilled() -> anyhow::Result<()> {
        let Some(url) = confidant_testkit::postgres_url().await? else {
            eprintln!("SKIPPED: PostgreSQL test (CONFIDANT_SKIP_POSTGRES=1)");
            return Ok(());
        };
        ledger_refs_are_backfilled(&url).await
    }

    /// pg_dump works on the test databases (tests above the store use it to
    /// look for plaintext).
    #[tokio::test]
    async fn postgres_databases_can_be_dumped() -> anyhow::Result<()> {
        let Some(url) = confidant_testkit::postgres_url().await? else {
            eprintln!("SKIPPED: PostgreSQL test (CONFIDANT_SKIP_POSTGRES=1)");
            return Ok(());
        };
        let store: Arc<dyn Store> = confidant_store::connect(&url).await?;
        let (ws, _) = fixtures::workspace(&*store).await?;
        let dump = confidant_testkit::pg_dump(&url)?;
        let dump = String::from_utf8_lossy(&dump);
        assert!(dump.contains("CREATE TABLE public.documents"), "{dump}");
        assert!(dump.contains(&ws.id.to_string()));
        Ok(())
    }
}
