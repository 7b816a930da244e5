//! Who may use the relay: the access mode, the owner and the authorised
//! users, and the `users` file that holds the users.
//!
//! **Design.** redb lets one process open a database at a time, so the
//! users do not live in the relay's database: they live in a small text
//! file, `users` in the relay directory (one peer id per line, `#`
//! comments). `wren-relay users add|remove` edits it under an advisory lock
//! (`users.lock`) and replaces it atomically; the running relay notices the
//! change within [`USERS_RELOAD_INTERVAL`](crate::limits::USERS_RELOAD_INTERVAL)
//! (or at once on SIGHUP) and reloads it. The owner's users ops over
//! `/wren/mailbox/1` go through the same locked edit. Every process that
//! writes takes the lock first, so edits from the CLI and from the owner's
//! node never overwrite each other.

use std::collections::{BTreeSet, HashSet};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use libp2p::PeerId;
use wren_crypto::PairingCode;

use crate::config::Mode;
use crate::fsutil;
use crate::limits::{MAX_USERS, MAX_USERS_FILE_BYTES};

/// The users file's name inside the relay directory.
pub const USERS_FILE: &str = "users";
/// The lock file taken while the users file is edited.
pub const USERS_LOCK_FILE: &str = "users.lock";

const USERS_HEADER: &str = "# Users authorised on this Wren relay: one peer id per line.\n\
# Edit with `wren-relay users add|remove`; the running relay reloads this\n\
# file within seconds (or at once on SIGHUP).\n";

/// The access rules the swarm consults on every reservation and mailbox
/// request.
#[derive(Debug, Clone)]
pub struct AccessList {
    /// Restricted or open.
    pub mode: Mode,
    /// The owner, if any: always authorised, and the only peer allowed the
    /// users ops.
    pub owner: Option<PeerId>,
    /// The authorised users.
    pub users: HashSet<PeerId>,
}

impl AccessList {
    /// Whether `peer` may reserve a circuit and own a mailbox (fetch, ack,
    /// receive deposits).
    pub fn is_authorised(&self, peer: &PeerId) -> bool {
        match self.mode {
            Mode::Open => true,
            Mode::Restricted => self.is_owner(peer) || self.users.contains(peer),
        }
    }

    /// Whether `peer` is the owner.
    pub fn is_owner(&self, peer: &PeerId) -> bool {
        self.owner.as_ref() == Some(peer)
    }
}

/// The access list shared between the swarm, the reservation gate and the
/// users reloader.
pub type SharedAccess = Arc<RwLock<AccessList>>;

/// Reads `shared`, surviving a poisoned lock (the list is replaced whole,
/// so it is never half-written).
pub fn read_access<R>(shared: &SharedAccess, f: impl FnOnce(&AccessList) -> R) -> R {
    match shared.read() {
        Ok(guard) => f(&guard),
        Err(poisoned) => f(&poisoned.into_inner()),
    }
}

/// Replaces the users of `shared`.
pub fn set_users(shared: &SharedAccess, users: &BTreeSet<PeerId>) {
    let users: HashSet<PeerId> = users.iter().copied().collect();
    match shared.write() {
        Ok(mut guard) => guard.users = users,
        Err(poisoned) => poisoned.into_inner().users = users,
    }
}

/// A users file problem.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// A line is not a peer id.
    #[error("{path} line {line}: not a peer id")]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// Adding would exceed [`MAX_USERS`].
    #[error("at most {max} users can be authorised")]
    TooMany {
        /// The bound.
        max: usize,
    },
    /// The argument is neither a peer id nor a Wren pairing code.
    #[error("not a peer id or a Wren pairing code: {0}")]
    BadUser(String),
    /// Reading, writing or locking failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// Parses a user given as a peer id or a Wren pairing code (`wren:1/…`,
/// whose identity key is the libp2p key, hence the peer id).
pub fn parse_user(text: &str) -> Result<PeerId, UsersError> {
    let text = text.trim();
    if text.len() >= 5
        && text
            .get(..5)
            .is_some_and(|s| s.eq_ignore_ascii_case("wren:"))
    {
        let code = PairingCode::parse(text).map_err(|e| UsersError::BadUser(e.to_string()))?;
        return Ok(code.identity().peer_id());
    }
    text.parse::<PeerId>()
        .map_err(|_| UsersError::BadUser(shorten(text)))
}

fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// Identifies one version of the users file, to notice changes cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

/// The users file of one relay directory.
#[derive(Debug, Clone)]
pub struct UsersFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl UsersFile {
    /// The users file in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(USERS_FILE),
            lock_path: dir.join(USERS_LOCK_FILE),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current version's stamp (`None` when there is no file).
    pub fn stamp(&self) -> Option<FileStamp> {
        let meta = std::fs::metadata(&self.path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(FileStamp {
            inode,
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// Reads the users (a missing file is an empty list).
    pub fn read(&self) -> Result<BTreeSet<PeerId>, UsersError> {
        let bytes = match fsutil::read_bounded(&self.path, MAX_USERS_FILE_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
            Err(source) => {
                return Err(UsersError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut users = BTreeSet::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let peer = line.parse::<PeerId>().map_err(|_| UsersError::BadLine {
                path: self.path.clone(),
                line: index + 1,
            })?;
            users.insert(peer);
            if users.len() > MAX_USERS {
                return Err(UsersError::TooMany { max: MAX_USERS });
            }
        }
        Ok(users)
    }

    /// Creates an empty users file if there is none.
    pub fn create_if_missing(&self) -> Result<(), UsersError> {
        if self.path.exists() {
            return Ok(());
        }
        self.write(&BTreeSet::new())
    }

    /// Under the lock: reads the users, lets `edit` change them, and writes
    /// them back if it returns `true`. Returns the resulting users.
    pub fn edit(
        &self,
        edit: impl FnOnce(&mut BTreeSet<PeerId>) -> Result<bool, UsersError>,
    ) -> Result<BTreeSet<PeerId>, UsersError> {
        let _lock = self.lock()?;
        let mut users = self.read()?;
        if edit(&mut users)? {
            if users.len() > MAX_USERS {
                return Err(UsersError::TooMany { max: MAX_USERS });
            }
            self.write(&users)?;
        }
        Ok(users)
    }

    /// Adds `peer`; returns whether it was new.
    pub fn add(&self, peer: PeerId) -> Result<bool, UsersError> {
        let mut added = false;
        self.edit(|users| {
            if users.contains(&peer) {
                return Ok(false);
            }
            if users.len() >= MAX_USERS {
                return Err(UsersError::TooMany { max: MAX_USERS });
            }
            added = users.insert(peer);
            Ok(added)
        })?;
        Ok(added)
    }

    /// Removes `peer`; returns whether it was there.
    pub fn remove(&self, peer: &PeerId) -> Result<bool, UsersError> {
        let mut removed = false;
        self.edit(|users| {
            removed = users.remove(peer);
            Ok(removed)
        })?;
        Ok(removed)
    }

    fn lock(&self) -> Result<File, UsersError> {
        let io_err = |source| UsersError::Io {
            path: self.lock_path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(io_err)?;
        file.lock().map_err(io_err)?;
        Ok(file)
    }

    fn write(&self, users: &BTreeSet<PeerId>) -> Result<(), UsersError> {
        let mut text = String::from(USERS_HEADER);
        for user in users {
            text.push_str(&user.to_string());
            text.push('\n');
        }
        fsutil::replace_file(&self.path, text.as_bytes(), 0o600).map_err(|source| UsersError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = UsersFile::new(dir.path());
        assert!(file.read().unwrap().is_empty());
        let a = PeerId::random();
        let b = PeerId::random();
        assert!(file.add(a).unwrap());
        assert!(!file.add(a).unwrap());
        assert!(file.add(b).unwrap());
        let stamp = file.stamp();
        assert_eq!(file.read().unwrap(), BTreeSet::from([a, b]));
        assert!(file.remove(&a).unwrap());
        assert!(!file.remove(&a).unwrap());
        assert_ne!(file.stamp(), stamp);
        assert_eq!(file.read().unwrap(), BTreeSet::from([b]));
    }

    #[test]
    fn users_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = UsersFile::new(dir.path());
        file.edit(|users| {
            users.extend((0..MAX_USERS).map(|_| PeerId::random()));
            Ok(true)
        })
        .unwrap();
        assert_eq!(file.read().unwrap().len(), MAX_USERS);
        assert!(matches!(
            file.add(PeerId::random()),
            Err(UsersError::TooMany { .. })
        ));
        assert_eq!(file.read().unwrap().len(), MAX_USERS);
    }

    #[test]
    fn bad_lines_and_users_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = UsersFile::new(dir.path());
        std::fs::write(file.path(), "# c\n\nnot-a-peer\n").unwrap();
        assert!(matches!(
            file.read(),
            Err(UsersError::BadLine { line: 3, .. })
        ));
        assert!(parse_user("nonsense").is_err());
        assert!(parse_user("wren:1/AAAA").is_err());
        let peer = PeerId::random();
        assert_eq!(parse_user(&format!("  {peer} ")).unwrap(), peer);
    }

    #[test]
    fn a_pairing_code_names_its_identity() {
        let mut rng = rand::rng();
        let identity = wren_crypto::IdentityKeyPair::generate(&mut rng);
        let prekey = wren_crypto::SignedPrekeyPair::generate(&identity, 1, 0, &mut rng);
        let code = PairingCode::new(&identity, prekey.public(), "Ann", Vec::new()).unwrap();
        assert_eq!(
            parse_user(&code.to_uri()).unwrap(),
            identity.public().peer_id()
        );
    }

    #[test]
    fn access_rules() {
        let owner = PeerId::random();
        let user = PeerId::random();
        let stranger = PeerId::random();
        let mut list = AccessList {
            mode: Mode::Restricted,
            owner: Some(owner),
            users: HashSet::from([user]),
        };
        assert!(list.is_authorised(&owner));
        assert!(list.is_authorised(&user));
        assert!(!list.is_authorised(&stranger));
        assert!(list.is_owner(&owner) && !list.is_owner(&user));
        list.mode = Mode::Open;
        assert!(list.is_authorised(&stranger));
    }

    #[test]
    fn users_file_at_its_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = UsersFile::new(dir.path());
        let peer = PeerId::random().to_string();
        let pad = MAX_USERS_FILE_BYTES as usize - peer.len() - 3;
        let text = format!("#{}\n{peer}\n", "x".repeat(pad));
        assert_eq!(text.len() as u64, MAX_USERS_FILE_BYTES);
        std::fs::write(file.path(), &text).unwrap();
        assert_eq!(file.read().unwrap().len(), 1);
        std::fs::write(file.path(), format!("#{text}")).unwrap();
        assert!(matches!(file.read(), Err(UsersError::Io { .. })));
    }
}
