//! Opening, creating, reopening and unlocking.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};
use wren_store::{DATABASE_FILE_NAME, KEY_FILE_NAME, Store, StoreError, Unlock, schema};

use common::*;

fn hash_dir(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let bytes = fs::read(entry.path()).unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                Sha256::digest(&bytes).to_vec(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn create_write_close_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let conv = conversation(&store, key).await;
    send(&store, conv, book, key, 1, "hello").await;
    store.close().await.unwrap();

    let mode = fs::metadata(dir.path().join(KEY_FILE_NAME)).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    let store = open_keyfile(dir.path()).await;
    let message = store
        .read(|tx| tx.message_by_id(&id_of(1)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.content, text_frame(id_of(1), "hello"));
    assert_eq!(message.seq, 1);
    let session = store
        .read(move |tx| tx.session(&key))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.remote_identity().to_bytes(), key);
}

#[tokio::test]
async fn wrong_passphrase_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), passphrase("correct horse"))
        .await
        .unwrap();
    let (book, key) = contact();
    let conv = conversation(&store, key).await;
    send(&store, conv, book, key, 1, "secret").await;
    store.close().await.unwrap();

    let before = hash_dir(dir.path());
    let error = Store::open(dir.path(), passphrase("battery staple"))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::WrongPassphrase), "{error:?}");
    let error = Store::open(dir.path(), Unlock::KeyFile).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::UnlockMismatch {
                expected: "passphrase"
            }
        ),
        "{error:?}"
    );
    assert_eq!(before, hash_dir(dir.path()));

    let store = Store::open(dir.path(), passphrase("correct horse"))
        .await
        .unwrap();
    assert!(
        store
            .read(|tx| tx.message_by_id(&id_of(1)))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn copied_without_key_file_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (book, key) = contact();
    let conv = conversation(&store, key).await;
    send(&store, conv, book, key, 1, "secret").await;
    store.close().await.unwrap();

    let elsewhere = tempfile::tempdir().unwrap();
    fs::copy(
        dir.path().join(DATABASE_FILE_NAME),
        elsewhere.path().join(DATABASE_FILE_NAME),
    )
    .unwrap();
    let error = Store::open(elsewhere.path(), Unlock::KeyFile)
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::KeyFileMissing { .. }),
        "{error:?}"
    );
    // No key file was created as a side effect.
    assert!(!elsewhere.path().join(KEY_FILE_NAME).exists());

    // Another store's key file does not open it either.
    let other = tempfile::tempdir().unwrap();
    open_keyfile(other.path()).await.close().await.unwrap();
    fs::copy(
        other.path().join(KEY_FILE_NAME),
        elsewhere.path().join(KEY_FILE_NAME),
    )
    .unwrap();
    let error = Store::open(elsewhere.path(), Unlock::KeyFile)
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::WrongKeyFile), "{error:?}");

    // The plaintext is nowhere in the file.
    let bytes = fs::read(dir.path().join(DATABASE_FILE_NAME)).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"secret"));
}

#[tokio::test]
async fn newer_schema_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    open_keyfile(dir.path()).await.close().await.unwrap();
    {
        let db = redb::Database::open(dir.path().join(DATABASE_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META)
            .unwrap()
            .insert(
                "schema_version",
                [schema::SCHEMA_VERSION as u8 + 1].as_slice(),
            )
            .unwrap();
        txn.commit().unwrap();
    }
    let before = hash_dir(dir.path());
    let error = Store::open(dir.path(), Unlock::KeyFile).await.unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::NewerSchema { found, supported }
                if found == schema::SCHEMA_VERSION + 1 && supported == schema::SCHEMA_VERSION
        ),
        "{error:?}"
    );
    assert_eq!(before, hash_dir(dir.path()));
}

#[tokio::test]
async fn closed_store_reports_closed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let other = store.clone();
    store.close().await.unwrap();
    let error = other.read(|tx| tx.conversations(10)).await.unwrap_err();
    assert!(matches!(error, StoreError::Closed), "{error:?}");
}

#[tokio::test]
async fn identity_contacts_and_settings_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let identity = wren_crypto::IdentityKeyPair::generate(&mut rand::rng());
    let public = *identity.public();
    store
        .write(move |tx| tx.set_identity(&identity, "Ada"))
        .await
        .unwrap();
    let contact_record = wren_store::Contact {
        alias: "Bob".to_owned(),
        verification: wren_store::Verification::Verified,
        addresses: vec!["/ip4/127.0.0.1/tcp/1".to_owned()],
        relays: vec![],
        blocked: false,
        added_at: 5,
    };
    let stored = contact_record.clone();
    store
        .write(move |tx| {
            tx.put_contact(&[9; 32], &stored)?;
            tx.set_setting("theme", b"dark")
        })
        .await
        .unwrap();
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let (identity, name) = store.read(|tx| tx.identity()).await.unwrap().unwrap();
    assert_eq!(*identity.public(), public);
    assert_eq!(name, "Ada");
    assert_eq!(
        store.read(|tx| tx.contact(&[9; 32])).await.unwrap(),
        Some(contact_record)
    );
    assert_eq!(
        store.read(|tx| tx.setting("theme")).await.unwrap(),
        Some(b"dark".to_vec())
    );
}

/// A copy taken while the store is open looks like a crashed database:
/// redb cannot open it read-only and would run its recovery (a write). The
/// key is checked from `store.unlock` first, so a wrong passphrase still
/// changes nothing.
#[tokio::test]
async fn wrong_passphrase_after_crash_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), passphrase("right")).await.unwrap();
    let (book, key) = contact();
    let conv = conversation(&store, key).await;
    send(&store, conv, book, key, 1, "kept").await;

    let crashed = tempfile::tempdir().unwrap();
    for name in [DATABASE_FILE_NAME, wren_store::UNLOCK_FILE_NAME] {
        fs::copy(dir.path().join(name), crashed.path().join(name)).unwrap();
    }
    store.close().await.unwrap();
    assert!(redb::ReadOnlyDatabase::open(crashed.path().join(DATABASE_FILE_NAME)).is_err());

    let before = hash_dir(crashed.path());
    let error = Store::open(crashed.path(), passphrase("wrong"))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::WrongPassphrase), "{error:?}");
    assert_eq!(before, hash_dir(crashed.path()));

    let store = Store::open(crashed.path(), passphrase("right"))
        .await
        .unwrap();
    assert!(
        store
            .read(|tx| tx.message_by_id(&id_of(1)))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn unlock_file_is_restored_and_must_match() {
    let dir = tempfile::tempdir().unwrap();
    open_keyfile(dir.path()).await.close().await.unwrap();
    let unlock_path = dir.path().join(wren_store::UNLOCK_FILE_NAME);
    let original = fs::read(&unlock_path).unwrap();
    fs::remove_file(&unlock_path).unwrap();
    open_keyfile(dir.path()).await.close().await.unwrap();
    assert_eq!(fs::read(&unlock_path).unwrap(), original);

    // Another store's unlock file (same key file) is refused.
    let other = tempfile::tempdir().unwrap();
    fs::copy(
        dir.path().join(KEY_FILE_NAME),
        other.path().join(KEY_FILE_NAME),
    )
    .unwrap();
    open_keyfile(other.path()).await.close().await.unwrap();
    fs::copy(
        other.path().join(wren_store::UNLOCK_FILE_NAME),
        &unlock_path,
    )
    .unwrap();
    let error = Store::open(dir.path(), Unlock::KeyFile).await.unwrap_err();
    assert!(matches!(error, StoreError::UnlockFileMismatch), "{error:?}");
}

#[tokio::test]
async fn prekeys_and_contact_requests_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let identity = wren_crypto::IdentityKeyPair::generate(&mut rand::rng());
    let signed = wren_crypto::SignedPrekeys::new(&identity, 1_000, &mut rand::rng());
    let signed_public = signed.current().public().public_bytes();
    let one_time = wren_crypto::OneTimePrekeyPair::generate(5, &mut rand::rng());
    let one_time_public = one_time.public().public_bytes();
    let request = wren_store::StoredContactRequest {
        payload: vec![1, 2, 3],
        received_at: 9,
    };
    let stored = request.clone();
    store
        .write(move |tx| {
            tx.set_signed_prekeys(&signed)?;
            tx.put_one_time_prekey(5, &one_time)?;
            tx.put_contact_request(&[4; 32], &stored)
        })
        .await
        .unwrap();
    store.close().await.unwrap();

    let store = open_keyfile(dir.path()).await;
    let signed = store.read(|tx| tx.signed_prekeys()).await.unwrap().unwrap();
    assert_eq!(signed.current().public().public_bytes(), signed_public);
    let peek = store
        .read(|tx| tx.one_time_prekey(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peek.public().public_bytes(), one_time_public);
    let taken = store
        .write(|tx| tx.take_one_time_prekey(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.public().public_bytes(), one_time_public);
    assert!(
        store
            .write(|tx| tx.take_one_time_prekey(5))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.read(|tx| tx.contact_request(&[4; 32])).await.unwrap(),
        Some(request)
    );
    assert!(
        store
            .write(|tx| tx.remove_contact_request(&[4; 32]))
            .await
            .unwrap()
    );
    assert!(
        store
            .read(|tx| tx.contact_request(&[4; 32]))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_panicking_closure_aborts_and_the_store_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let error = store
        .write(|tx| {
            tx.set_setting("half", b"written")?;
            panic!("closure bug");
            #[allow(unreachable_code)]
            Ok(())
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Panicked), "{error:?}");
    assert!(store.read(|tx| tx.setting("half")).await.unwrap().is_none());
    let (_, key) = contact();
    let conv = conversation(&store, key).await;
    store
        .write(move |tx| tx.update_conversation(conv, "Bob", true))
        .await
        .unwrap();
    let c = store
        .read(move |tx| tx.conversation(conv))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.title.as_str(), c.muted), ("Bob", true));
}

#[tokio::test]
async fn the_commit_hook_runs_once_committed_and_never_after_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_keyfile(dir.path()).await;
    let (seen, hook) = std::sync::mpsc::channel::<Vec<u8>>();

    // Committed: the hook sees the transaction's result before the caller
    // is woken, and what it returns comes back with the result.
    let (value, len) = store
        .write_then(
            |tx| {
                tx.set_setting("greeting", b"hello")?;
                Ok(b"hello".to_vec())
            },
            move |value: &Vec<u8>| {
                seen.send(value.clone()).unwrap();
                value.len()
            },
        )
        .await
        .unwrap();
    assert_eq!((value.as_slice(), len), (&b"hello"[..], 5));
    assert_eq!(hook.try_recv().unwrap(), b"hello");
    let stored = store.read(|tx| tx.setting("greeting")).await.unwrap();
    assert_eq!(stored.as_deref(), Some(&b"hello"[..]));

    // Aborted: nothing written and the hook never runs.
    let (seen, hook) = std::sync::mpsc::channel::<()>();
    let aborted = store
        .write_then(
            |tx| {
                tx.set_setting("greeting", b"bye")?;
                Err::<(), _>(StoreError::MissingMeta)
            },
            move |()| seen.send(()).unwrap(),
        )
        .await;
    assert!(matches!(aborted, Err(StoreError::MissingMeta)));
    assert!(
        hook.try_recv().is_err(),
        "the hook ran for an aborted transaction"
    );
    let stored = store.read(|tx| tx.setting("greeting")).await.unwrap();
    assert_eq!(stored.as_deref(), Some(&b"hello"[..]));
}
