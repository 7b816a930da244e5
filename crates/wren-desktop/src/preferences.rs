//! The desktop app's own settings, kept in `desktop.toml` in the profile
//! home: listen addresses, notifications and the theme.
//!
//! The node keeps everything else (name, relays) in its store. This file is
//! plain TOML so it can be edited by hand; a missing file gives the
//! defaults, and a malformed one gives the defaults with a warning (the
//! app still opens). Writes go to a temporary file that is then renamed
//! over the old one, so a crash never leaves half a file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wren_core::Multiaddr;

/// The settings file's name in the profile home.
pub const FILE_NAME: &str = "desktop.toml";

/// The largest settings file read (a hand-edited file larger than this is
/// not ours).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Most listen addresses kept.
pub const MAX_LISTEN_ADDRS: usize = 16;

/// Light or dark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeChoice {
    /// Follow the system's light/dark preference.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl ThemeChoice {
    /// Every choice, in the order the settings screen offers them.
    pub const ALL: [ThemeChoice; 3] = [Self::System, Self::Light, Self::Dark];
}

impl std::fmt::Display for ThemeChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::System => "Follow the system",
            Self::Light => "Light",
            Self::Dark => "Dark",
        })
    }
}

/// The desktop settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// Listen addresses (multiaddrs) used at the next start; empty: the
    /// node's defaults. `--listen` on the command line overrides them.
    pub listen: Vec<String>,
    /// Desktop notifications for messages arriving while the window is not
    /// focused.
    pub notifications: bool,
    /// Light, dark, or the system's choice.
    pub theme: ThemeChoice,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            notifications: true,
            theme: ThemeChoice::System,
        }
    }
}

/// Why the settings could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PreferencesError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{0}: larger than {MAX_FILE_BYTES} bytes")]
    TooLarge(PathBuf),
    /// The file is not valid settings TOML.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The settings could not be written as TOML.
    #[error("the settings cannot be written: {0}")]
    Encode(String),
}

impl Preferences {
    /// The settings file in `home`.
    pub fn path(home: &Path) -> PathBuf {
        home.join(FILE_NAME)
    }

    /// Reads the settings in `home`: the defaults when there is no file.
    pub fn read(home: &Path) -> Result<Self, PreferencesError> {
        let path = Self::path(home);
        let io = |source| PreferencesError::Io {
            path: path.clone(),
            source,
        };
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(error) => return Err(io(error)),
        };
        // Read at most one byte past the limit, whatever the file's size
        // says (it may change between a check and the read).
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(PreferencesError::TooLarge(path));
        }
        let mut preferences: Self =
            toml::from_str(&text).map_err(|error| PreferencesError::Malformed {
                path: path.clone(),
                message: error.message().to_owned(),
            })?;
        preferences.listen.truncate(MAX_LISTEN_ADDRS);
        Ok(preferences)
    }

    /// Reads the settings in `home`; on any error, warns and gives the
    /// defaults (the app must open even with a broken file).
    pub fn load(home: &Path) -> Self {
        Self::read(home).unwrap_or_else(|error| {
            tracing::warn!(%error, "desktop settings unreadable; using the defaults");
            Self::default()
        })
    }

    /// Writes the settings to `home` atomically: a temporary file in the
    /// same directory, flushed, then renamed over the old file.
    pub fn save(&self, home: &Path) -> Result<(), PreferencesError> {
        let path = Self::path(home);
        let text = toml::to_string(self).map_err(|e| PreferencesError::Encode(e.to_string()))?;
        let io = |source| PreferencesError::Io {
            path: path.clone(),
            source,
        };
        // A temporary file of its own (two saves in flight never share one),
        // flushed, then renamed over the settings.
        let mut file = tempfile::NamedTempFile::new_in(home).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(&path).map(drop).map_err(|e| io(e.error))
    }

    /// The listen addresses that parse (the settings screen only stores
    /// valid ones; a hand-edited bad one is skipped with a warning).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.listen
            .iter()
            .filter_map(|addr| match addr.parse() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    tracing::warn!("skipping an invalid listen address in the desktop settings");
                    None
                }
            })
            .collect()
    }
}

/// Parses listen addresses typed by the user, separated by spaces, commas
/// or new lines. Fails with the first address that is not a
/// multiaddr, or when there are more than [`MAX_LISTEN_ADDRS`].
pub fn parse_listen(input: &str) -> Result<Vec<String>, String> {
    let addrs: Vec<&str> = input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
    if addrs.len() > MAX_LISTEN_ADDRS {
        return Err(format!("at most {MAX_LISTEN_ADDRS} listen addresses"));
    }
    addrs
        .into_iter()
        .map(|addr| {
            addr.parse::<Multiaddr>()
                .map(|parsed| parsed.to_string())
                .map_err(|_| {
                    let shown: String = addr.chars().take(60).collect();
                    format!("not a multiaddr: {shown} (e.g. /ip4/0.0.0.0/tcp/4001)")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn missing_file_gives_the_defaults() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(
            Preferences::read(home.path()).unwrap(),
            Preferences::default()
        );
        assert!(Preferences::default().notifications);
        assert_eq!(Preferences::default().theme, ThemeChoice::System);
    }

    #[test]
    fn round_trip() {
        let home = tempfile::tempdir().unwrap();
        let preferences = Preferences {
            listen: vec![
                "/ip4/0.0.0.0/tcp/4001".into(),
                "/ip6/::/udp/4001/quic-v1".into(),
            ],
            notifications: false,
            theme: ThemeChoice::Dark,
        };
        preferences.save(home.path()).unwrap();
        assert_eq!(Preferences::read(home.path()).unwrap(), preferences);
        assert_eq!(preferences.listen_addrs().len(), 2);
        // Saving again replaces the file; no temporary file stays behind.
        let lighter = Preferences {
            theme: ThemeChoice::Light,
            ..preferences
        };
        lighter.save(home.path()).unwrap();
        assert_eq!(Preferences::load(home.path()), lighter);
        let names: Vec<_> = std::fs::read_dir(home.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn malformed_files_fall_back_to_the_defaults() {
        let home = tempfile::tempdir().unwrap();
        let path = Preferences::path(home.path());
        for bad in [
            "this is not toml = = =",
            "theme = \"purple\"",
            "notifications = \"yes\"",
            "listen = 5",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(Preferences::read(home.path()).is_err(), "{bad}");
            assert_eq!(Preferences::load(home.path()), Preferences::default());
        }
        // Binary garbage, and a file over the size limit.
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x12]).unwrap();
        assert_eq!(Preferences::load(home.path()), Preferences::default());
        std::fs::write(&path, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            Preferences::read(home.path()),
            Err(PreferencesError::TooLarge(_))
        ));
    }

    #[test]
    fn partial_files_keep_the_other_defaults() {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(Preferences::path(home.path()), "theme = \"dark\"\n").unwrap();
        let preferences = Preferences::read(home.path()).unwrap();
        assert_eq!(preferences.theme, ThemeChoice::Dark);
        assert!(preferences.notifications);
        assert!(preferences.listen.is_empty());
    }

    #[test]
    fn hand_edited_bad_addresses_are_skipped() {
        let preferences = Preferences {
            listen: vec!["nonsense".into(), "/ip4/127.0.0.1/tcp/0".into()],
            ..Preferences::default()
        };
        assert_eq!(preferences.listen_addrs().len(), 1);
    }

    #[test]
    fn typed_listen_addresses_are_checked() {
        assert_eq!(
            parse_listen("/ip4/0.0.0.0/tcp/4001\n /ip4/0.0.0.0/udp/4001/quic-v1 ,").unwrap(),
            vec!["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
        );
        assert_eq!(parse_listen("  \n").unwrap(), Vec::<String>::new());
        assert!(parse_listen("/ip4/0.0.0.0/tcp/4001 localhost:4001").is_err());
        let many = "/ip4/0.0.0.0/tcp/0 ".repeat(MAX_LISTEN_ADDRS + 1);
        assert!(parse_listen(&many).is_err());
    }
}
