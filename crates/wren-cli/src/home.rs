//! Where a profile lives.

use std::path::PathBuf;

use anyhow::{Context, Result};
use wren_core::Unlock;

/// The profile directory: `--home`, else `WREN_HOME` (both through clap),
/// else the OS data directory for Wren.
pub(crate) fn resolve(home: Option<PathBuf>) -> Result<PathBuf> {
    match home {
        Some(home) => Ok(home),
        None => directories::ProjectDirs::from("org", "Wren", "wren")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .context("no home directory: pass --home DIR or set WREN_HOME"),
    }
}

/// How to unlock the store: with the passphrase in `WREN_PASSPHRASE` if
/// set, else with the key file beside the database.
pub(crate) fn unlock() -> Unlock {
    match std::env::var("WREN_PASSPHRASE") {
        Ok(passphrase) => Unlock::passphrase(zeroize::Zeroizing::new(passphrase).as_str()),
        Err(_) => Unlock::KeyFile,
    }
}
