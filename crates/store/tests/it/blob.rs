//! The blob store on a local folder (and, for the generic path, in memory).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use confidant_core::{ItemId, WorkspaceId};
use confidant_store::{BlobKey, BlobStore, StoreError};
use futures::TryStreamExt;
use rand_core::OsRng;

fn key(blob: &str) -> BlobKey {
    BlobKey::document(
        WorkspaceId::random(&mut OsRng),
        ItemId::random(&mut OsRng),
        blob,
    )
    .expect("valid key")
}

/// `len` bytes that differ from position to position.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

async fn read_all(blobs: &BlobStore, key: &BlobKey) -> Result<Vec<u8>, StoreError> {
    let chunks: Vec<Bytes> = blobs.read(key).await?.try_collect().await?;
    Ok(chunks.concat())
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(
                    path.strip_prefix(dir)
                        .expect("under dir")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    found.sort();
    found
}

/// Writes `data` in pieces of the given sizes, cycling through them.
async fn write_in_pieces(
    blobs: &BlobStore,
    key: &BlobKey,
    data: &[u8],
    sizes: &[usize],
) -> anyhow::Result<confidant_store::BlobWriter> {
    let mut writer = blobs.writer(key).await?;
    let mut at = 0;
    for size in sizes.iter().cycle() {
        if at >= data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        writer.write(Bytes::copy_from_slice(&data[at..end])).await?;
        at = end;
    }
    Ok(writer)
}

#[tokio::test]
async fn a_blob_round_trips_through_many_writes() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::local(&dir.path().join("blobs"))?;
    let key = key("v1");
    // Over 7 MiB in odd pieces, some larger than an upload part.
    let data = pattern(7 * 1024 * 1024 + 12_345, 0x5a);
    let writer = write_in_pieces(&blobs, &key, &data, &[1, 65_536, 3 * 1024 * 1024, 777]).await?;
    writer.finish().await?;

    assert_eq!(read_all(&blobs, &key).await?, data);
    assert_eq!(blobs.list("").await?, vec![key.clone()]);
    assert_eq!(files(&dir.path().join("blobs")), vec![key.to_string()]);

    blobs.delete(&key).await?;
    let gone = read_all(&blobs, &key).await;
    assert!(matches!(gone, Err(StoreError::BlobNotFound(k)) if k == key.as_str()));
    blobs.delete(&key).await?; // Deleting a missing blob is fine.
    assert_eq!(
        files(&dir.path().join("blobs")),
        Vec::<String>::new(),
        "empty folders go too"
    );
    Ok(())
}

#[tokio::test]
async fn an_empty_blob_is_a_blob() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::local(dir.path())?;
    let key = key("empty");
    blobs.writer(&key).await?.finish().await?;
    assert_eq!(read_all(&blobs, &key).await?, Vec::<u8>::new());
    Ok(())
}

#[tokio::test]
async fn an_unfinished_blob_is_never_visible() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::local(dir.path())?;
    let old = key("v1");
    let mut writer = blobs.writer(&old).await?;
    writer.write(Bytes::from(pattern(1024, 1))).await?;
    writer.finish().await?;

    // A replacement in progress: readers still get the old content, and
    // listings show only finished blobs.
    let data = pattern(3 * 1024 * 1024, 2);
    let writer = write_in_pieces(&blobs, &old, &data, &[500_000]).await?;
    assert_eq!(read_all(&blobs, &old).await?, pattern(1024, 1));
    let fresh = key("v2");
    let unfinished = write_in_pieces(&blobs, &fresh, &data, &[500_000]).await?;
    assert!(matches!(
        read_all(&blobs, &fresh).await,
        Err(StoreError::BlobNotFound(_))
    ));
    assert_eq!(blobs.list("").await?, vec![old.clone()]);

    writer.abort().await;
    unfinished.abort().await;
    assert_eq!(read_all(&blobs, &old).await?, pattern(1024, 1));
    assert_eq!(blobs.list("").await?, vec![old.clone()]);
    assert_eq!(
        files(dir.path()),
        vec![old.to_string()],
        "no staged files are left"
    );
    Ok(())
}

#[tokio::test]
async fn a_dropped_writer_leaves_nothing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::local(dir.path())?;
    let key = key("v1");
    let writer = write_in_pieces(&blobs, &key, &pattern(2 * 1024 * 1024, 3), &[100_000]).await?;
    drop(writer);
    // The staged file is removed in the background.
    for _ in 0..100 {
        if files(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(files(dir.path()), Vec::<String>::new());
    assert!(matches!(
        read_all(&blobs, &key).await,
        Err(StoreError::BlobNotFound(_))
    ));
    Ok(())
}

#[tokio::test]
async fn reading_a_missing_blob_says_so() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::local(dir.path())?;
    let missing = key("nope");
    match blobs.read(&missing).await.map(|_| ()) {
        Err(StoreError::BlobNotFound(k)) => assert_eq!(k, missing.to_string()),
        other => anyhow::bail!("expected BlobNotFound, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn listing_matches_whole_segments() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let blobs = BlobStore::local(dir.path())?;
    let keys = ["ws/a/docs/x/v1", "ws/a/docs/y/v1", "ws/ab/docs/z/v1"]
        .map(|k| BlobKey::parse(k).expect("key"));
    for key in &keys {
        blobs.writer(key).await?.finish().await?;
    }
    assert_eq!(blobs.list("ws/a").await?, keys[..2].to_vec());
    assert_eq!(blobs.list("ws/a/").await?, keys[..2].to_vec());
    assert_eq!(blobs.list("ws/a/docs/y").await?, keys[1..2].to_vec());
    assert_eq!(blobs.list("ws/nobody").await?, vec![]);
    assert_eq!(blobs.list("").await?, keys.to_vec());
    assert!(blobs.list("../etc").await.is_err());
    // A stray file that is not a valid key is skipped, not an error.
    std::fs::write(dir.path().join("ws/a/stray file.txt"), b"x")?;
    assert_eq!(blobs.list("ws/a").await?, keys[..2].to_vec());
    Ok(())
}

#[test]
fn keys_cannot_leave_the_store() {
    for bad in [
        "../x",
        "ws/../../etc/passwd",
        "/etc/passwd",
        "ws//x",
        "ws/./x",
        "ws\\..\\x",
        "",
    ] {
        assert!(
            matches!(BlobKey::parse(bad), Err(StoreError::Corrupt(_))),
            "{bad:?} must be refused"
        );
    }
    let ws = WorkspaceId::random(&mut OsRng);
    let item = ItemId::random(&mut OsRng);
    assert!(BlobKey::document(ws, item, "..").is_err());
    assert!(BlobKey::document(ws, item, "../../x").is_err());
}

#[tokio::test]
async fn any_object_store_works() -> anyhow::Result<()> {
    same_contract(BlobStore::new(Arc::new(
        object_store::memory::InMemory::new(),
    )))
    .await
}

#[tokio::test]
async fn the_memory_store_keeps_the_same_contract() -> anyhow::Result<()> {
    let blobs = BlobStore::memory();
    same_contract(blobs.clone()).await?;
    assert!(matches!(
        read_all(&blobs, &key("gone")).await,
        Err(StoreError::BlobNotFound(_))
    ));
    let prefix_twin = BlobKey::parse("wsx/a")?;
    blobs.writer(&prefix_twin).await?.finish().await?;
    assert_eq!(
        blobs.list("ws").await?,
        vec![],
        "prefixes match whole segments"
    );
    Ok(())
}

async fn same_contract(blobs: BlobStore) -> anyhow::Result<()> {
    let key = key("v1");
    let data = pattern(6 * 1024 * 1024, 9);
    write_in_pieces(&blobs, &key, &data, &[1024 * 1024])
        .await?
        .finish()
        .await?;
    assert_eq!(read_all(&blobs, &key).await?, data);
    assert_eq!(blobs.list("ws").await?, vec![key.clone()]);
    let unfinished =
        write_in_pieces(&blobs, &BlobKey::parse("ws/x/v1")?, &data, &[1 << 20]).await?;
    assert_eq!(blobs.list("ws").await?, vec![key.clone()]);
    unfinished.abort().await;
    blobs.delete(&key).await?;
    assert_eq!(blobs.list("").await?, vec![]);
    Ok(())
}
