//! The relay's persistent identity: an Ed25519 key pair in a file readable
//! by its owner only (mode 0600).
//!
//! The file holds the key pair in libp2p's protobuf encoding (68 bytes for
//! Ed25519). Losing it changes the relay's peer id, which invalidates the
//! relay code users added; back it up.

use std::io;
use std::path::{Path, PathBuf};

use libp2p::identity::Keypair;
use zeroize::Zeroizing;

use crate::fsutil;

/// The key file's name inside the relay directory.
pub const KEY_FILE: &str = "key";

/// Largest key file read, in bytes (an Ed25519 key pair is 68).
pub const MAX_KEY_FILE_BYTES: u64 = 1_024;

/// Loading or creating the key failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The directory already holds a key (`init` never replaces one).
    #[error("{0} already exists; the relay is already initialised")]
    Exists(PathBuf),
    /// No key: the directory was not initialised.
    #[error("no key at {0}; run `wren-relay init` first")]
    Missing(PathBuf),
    /// Others may read the key.
    #[error("{path} is readable by other users (mode {mode:o}); run chmod 600 on it")]
    TooOpen {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold an Ed25519 key pair.
    #[error("{0} does not hold an Ed25519 key pair")]
    Invalid(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Creates a new key in `dir` (mode 0600). Fails if one exists.
pub fn create(dir: &Path) -> Result<Keypair, KeyFileError> {
    let path = dir.join(KEY_FILE);
    let keypair = Keypair::generate_ed25519();
    let bytes = Zeroizing::new(
        keypair
            .to_protobuf_encoding()
            .map_err(|_| KeyFileError::Invalid(path.clone()))?,
    );
    let io_err = |source| KeyFileError::Io {
        path: path.clone(),
        source,
    };
    let mut file = match fsutil::open_new(&path, 0o600, false) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(KeyFileError::Exists(path));
        }
        Err(e) => return Err(io_err(e)),
    };
    use std::io::Write;
    file.write_all(&bytes).map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    fsutil::sync_dir(dir).map_err(io_err)?;
    Ok(keypair)
}

/// Loads the key from `dir`, refusing a file that others can read.
pub fn load(dir: &Path) -> Result<Keypair, KeyFileError> {
    let path = dir.join(KEY_FILE);
    let io_err = |source| KeyFileError::Io {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(KeyFileError::Missing(path)),
        Err(e) => return Err(io_err(e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::TooOpen { path, mode });
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let bytes = Zeroizing::new(fsutil::read_bounded(&path, MAX_KEY_FILE_BYTES).map_err(io_err)?);
    let keypair =
        Keypair::from_protobuf_encoding(&bytes).map_err(|_| KeyFileError::Invalid(path.clone()))?;
    if keypair.clone().try_into_ed25519().is_err() {
        return Err(KeyFileError::Invalid(path));
    }
    Ok(keypair)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn created_key_is_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let key = create(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.public(), key.public());
        assert!(matches!(create(dir.path()), Err(KeyFileError::Exists(_))));
    }

    #[test]
    fn missing_open_and_garbage_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(dir.path()), Err(KeyFileError::Missing(_))));
        create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                load(dir.path()),
                Err(KeyFileError::TooOpen { .. })
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        std::fs::write(&path, [1, 2, 3]).unwrap();
        assert!(matches!(load(dir.path()), Err(KeyFileError::Invalid(_))));
        // Larger than the bound: refused before reading.
        std::fs::write(&path, vec![0u8; MAX_KEY_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(load(dir.path()), Err(KeyFileError::Io { .. })));
    }
}
