//! The async handle: a dedicated thread owns the database.

use std::path::{Path, PathBuf};
use std::thread;

use redb::{Database, ReadOnlyDatabase, ReadableDatabase};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError};
use crate::key::{self, StorageKey, Unlock};
use crate::migrate;
use crate::schema;
use crate::tx::{ReadTx, WriteTx};

/// File name of the database inside the store directory.
pub const DATABASE_FILE_NAME: &str = "wren.redb";

/// Requests waiting for the store thread. Bounded: a flood of requests
/// waits in `send().await` instead of growing memory.
const QUEUE_DEPTH: usize = 64;

/// How long the store thread keeps polling for the next request after
/// finishing one, before it sleeps. Requests come in bursts (a history page
/// after a scroll, the engine's writes); catching the next one without a
/// sleep and wake-up halves the round trip. Costs at most this much CPU per
/// request.
const SPIN: std::time::Duration = std::time::Duration::from_micros(50);

/// The next request: polled for up to [`SPIN`], then waited for.
fn next_request(inbox: &mut mpsc::Receiver<Request>) -> Option<Request> {
    let start = std::time::Instant::now();
    while start.elapsed() < SPIN {
        match inbox.try_recv() {
            Ok(request) => return Some(request),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    inbox.blocking_recv()
}

/// The database and its key, owned by the store thread.
struct Inner {
    db: Database,
    key: StorageKey,
}

type Job = Box<dyn FnOnce(&Inner) + Send>;

enum Request {
    Run(Job),
    Close(oneshot::Sender<()>),
}

/// A handle to an open store. Cheap to clone; every clone talks to the same
/// store thread. The thread stops when [`Store::close`] is called or every
/// handle is dropped.
#[derive(Clone, Debug)]
pub struct Store {
    requests: mpsc::Sender<Request>,
}

impl Store {
    /// Opens the store in `dir` (creating the directory, the database and,
    /// for [`Unlock::KeyFile`], the key file if absent).
    ///
    /// An existing store's key is checked before anything is written, from
    /// the unlock file `store.unlock` (a copy of the wrapped key kept beside
    /// the database): a wrong passphrase or a missing key file returns an
    /// error and changes nothing on disk, even when the database needs
    /// crash recovery. A newer schema is refused before any write when the
    /// database opens read-only (a cleanly closed one); after a crash, redb's
    /// own recovery (which restores the last commit) runs first. Runs on
    /// the store thread: argon2id is deliberately slow.
    pub async fn open(dir: impl Into<PathBuf>, unlock: Unlock) -> Result<Store> {
        let dir = dir.into();
        let (requests, mut inbox) = mpsc::channel::<Request>(QUEUE_DEPTH);
        let (opened, on_open) = oneshot::channel::<Result<()>>();
        thread::Builder::new()
            .name("wren-store".to_owned())
            .spawn(move || {
                let inner = match open_blocking(&dir, &unlock) {
                    Ok(inner) => {
                        drop(unlock);
                        let _ = opened.send(Ok(()));
                        inner
                    }
                    Err(error) => {
                        let _ = opened.send(Err(error));
                        return;
                    }
                };
                while let Some(request) = next_request(&mut inbox) {
                    match request {
                        Request::Run(job) => job(&inner),
                        Request::Close(done) => {
                            drop(inner);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })?;
        on_open.await.map_err(|_| StoreError::Closed)??;
        Ok(Store { requests })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |inner| {
            // A panicking closure must not take the store thread down: its
            // transaction is dropped (aborted) while unwinding, and the
            // caller gets a typed error.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(inner)))
                .unwrap_or(Err(StoreError::Panicked));
            let _ = reply.send(result);
        });
        self.requests
            .send(Request::Run(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` in a read transaction (a consistent snapshot) on the store
    /// thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTx<'_>) -> Result<T> + Send + 'static,
    {
        self.run(move |inner| {
            let txn = inner.db.begin_read()?;
            f(&ReadTx {
                txn: &txn,
                key: &inner.key,
            })
        })
        .await
    }

    /// Runs `f` in a write transaction on the store thread. Commits
    /// durably (`Durability::Immediate`: the data is on disk when this
    /// returns `Ok`) if `f` returns `Ok`; aborts, changing nothing, if it
    /// returns `Err`.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T> + Send + 'static,
    {
        self.write_then(f, |_| ()).await.map(|(value, ())| value)
    }

    /// Like [`Store::write`], and once the commit is durable runs
    /// `committed` on the store thread with the transaction's result, before
    /// the caller is woken. For handing a durable result to another owner
    /// without a hop back through the caller: the engine acknowledges a
    /// received batch to the network this way. `committed` must be quick
    /// and must not block (it delays every queued request). It does not
    /// run if the transaction aborts or the commit fails.
    pub async fn write_then<T, U, F, C>(&self, f: F, committed: C) -> Result<(T, U)>
    where
        T: Send + 'static,
        U: Send + 'static,
        F: FnOnce(&mut WriteTx<'_>) -> Result<T> + Send + 'static,
        C: FnOnce(&T) -> U + Send + 'static,
    {
        self.run(move |inner| {
            let txn = inner.db.begin_write()?;
            let result = {
                let mut tx = WriteTx::new(&txn, &inner.key);
                f(&mut tx).and_then(|value| tx.finish().map(|()| value))
            };
            match result {
                Ok(value) => {
                    txn.commit()?;
                    let after = committed(&value);
                    Ok((value, after))
                }
                Err(error) => {
                    txn.abort()?;
                    Err(error)
                }
            }
        })
        .await
    }

    /// Stops the store thread and closes the database once queued requests
    /// are done; other handles then get [`StoreError::Closed`]. After this
    /// returns, the store can be opened again.
    pub async fn close(self) -> Result<()> {
        let (done, closed) = oneshot::channel();
        self.requests
            .send(Request::Close(done))
            .await
            .map_err(|_| StoreError::Closed)?;
        closed.await.map_err(|_| StoreError::Closed)
    }
}

/// What an existing database's `meta` says, read without writing.
struct Meta {
    /// The encoded `key_wrap` record.
    wrap: Vec<u8>,
    /// The stored version, if older than the current one.
    needs_migration: Option<u32>,
}

/// Reads `meta` and checks the schema version. `Ok(None)` if the database
/// has no metadata (created but never initialised).
fn read_meta(txn: &redb::ReadTransaction) -> Result<Option<Meta>> {
    let meta = match txn.open_table(schema::META) {
        Ok(meta) => meta,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let Some(version) = meta.get(schema::META_SCHEMA_VERSION)? else {
        return Err(StoreError::MissingMeta);
    };
    let version = migrate::decode_version(version.value())?;
    let needs_migration = migrate::check(version)?.then_some(version);
    let wrap = meta
        .get(schema::META_KEY_WRAP)?
        .ok_or(StoreError::MissingMeta)?
        .value()
        .to_vec();
    Ok(Some(Meta {
        wrap,
        needs_migration,
    }))
}

fn initialise(db: &Database, dir: &Path, unlock: &Unlock) -> Result<StorageKey> {
    let (key, wrap) = key::create(dir, unlock)?;
    key::write_unlock_file(dir, &wrap)?;
    let txn = db.begin_write()?;
    migrate::create_tables(&txn)?;
    txn.open_table(schema::META)?
        .insert(schema::META_KEY_WRAP, wrap.as_slice())?;
    txn.commit()?;
    Ok(key)
}

/// Opens or creates the store. For an existing store, the key is checked
/// before anything is written: from the unlock file when present (which
/// works even when the database needs crash recovery), else from a
/// read-only view of `meta`.
fn open_blocking(dir: &Path, unlock: &Unlock) -> Result<Inner> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(DATABASE_FILE_NAME);
    if !path.exists() {
        let db = Database::create(&path)?;
        let key = initialise(&db, dir, unlock)?;
        return Ok(Inner { db, key });
    }
    let unlock_file = key::read_unlock_file(dir)?;
    let mut key = match &unlock_file {
        Some(wrap) => Some(key::unlock(dir, unlock, wrap)?),
        None => None,
    };
    // A read-only view, when redb allows one (not after a crash: redb then
    // needs recovery, which writes).
    let readonly_meta = match ReadOnlyDatabase::open(&path) {
        Ok(readonly) => {
            let txn = readonly.begin_read()?;
            let meta = read_meta(&txn)?;
            drop(txn);
            drop(readonly);
            Some(meta)
        }
        Err(_) => None,
    };
    if key.is_none()
        && let Some(Some(meta)) = &readonly_meta
    {
        key = Some(key::unlock(dir, unlock, &meta.wrap)?);
    }
    let db = Database::open(&path)?;
    let meta = match readonly_meta {
        Some(meta) => meta,
        None => read_meta(&db.begin_read()?)?,
    };
    let Some(Meta {
        wrap,
        needs_migration,
    }) = meta
    else {
        // A database file without metadata holds nothing: initialise it.
        let key = initialise(&db, dir, unlock)?;
        return Ok(Inner { db, key });
    };
    match &unlock_file {
        // The unlock file must be this database's.
        Some(copy) if *copy != wrap => return Err(StoreError::UnlockFileMismatch),
        Some(_) => {}
        None => key::write_unlock_file(dir, &wrap)?,
    }
    let key = match key {
        Some(key) => key,
        None => key::unlock(dir, unlock, &wrap)?,
    };
    if let Some(from) = needs_migration {
        let txn = db.begin_write()?;
        migrate::migrate(&txn, from, &key)?;
        txn.commit()?;
    }
    Ok(Inner { db, key })
}
