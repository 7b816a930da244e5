//! A user's self-chosen display name, bounded and free of control characters.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codec::{CodecError, check_max, check_min};
use crate::limits::MAX_DISPLAY_NAME_BYTES;

/// A display name: 1 to [`MAX_DISPLAY_NAME_BYTES`] bytes of UTF-8 without
/// control characters (no newlines, no escape sequences), so it can be shown
/// on one line in any UI or log.
///
/// The name is chosen by its owner and proves nothing about identity; UIs
/// show it next to the verified fingerprint. It cannot be built or decoded
/// in an invalid state: deserializing checks the same rules as
/// [`DisplayName::new`] (a bad name fails with [`CodecError::Invalid`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// Checks `name` and wraps it.
    pub fn new(name: impl Into<String>) -> Result<Self, CodecError> {
        let name = name.into();
        Self::check(&name)?;
        Ok(Self(name))
    }

    fn check(name: &str) -> Result<(), CodecError> {
        check_min("DisplayName", name.len(), 1)?;
        check_max("DisplayName", name.len(), MAX_DISPLAY_NAME_BYTES)?;
        if name.chars().any(char::is_control) {
            return Err(CodecError::InvalidField {
                field: "DisplayName",
                reason: "contains a control character",
            });
        }
        Ok(())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = CodecError;

    fn try_from(name: String) -> Result<Self, CodecError> {
        Self::new(name)
    }
}

impl From<DisplayName> for String {
    fn from(name: DisplayName) -> Self {
        name.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DisplayName").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode};

    #[test]
    fn display_name_at_limit_accepted_one_over_refused() {
        let at_limit = "a".repeat(MAX_DISPLAY_NAME_BYTES);
        assert_eq!(
            DisplayName::new(at_limit.clone()).unwrap().as_str(),
            at_limit
        );
        assert_eq!(
            DisplayName::new("a".repeat(MAX_DISPLAY_NAME_BYTES + 1)),
            Err(CodecError::FieldTooLong {
                field: "DisplayName",
                len: MAX_DISPLAY_NAME_BYTES + 1,
                max: MAX_DISPLAY_NAME_BYTES
            })
        );
        // Counted in bytes, not characters: 32 two-byte characters fit, 33 do not.
        assert!(DisplayName::new("é".repeat(32)).is_ok());
        assert!(DisplayName::new("é".repeat(33)).is_err());
    }

    #[test]
    fn display_name_rules() {
        assert!(matches!(
            DisplayName::new(""),
            Err(CodecError::FieldTooShort { .. })
        ));
        assert!(matches!(
            DisplayName::new("a\nb"),
            Err(CodecError::InvalidField { .. })
        ));
        assert!(matches!(
            DisplayName::new("\u{1b}[31m"),
            Err(CodecError::InvalidField { .. })
        ));
        assert!(DisplayName::new("Zoë 🐦").is_ok());
    }

    #[test]
    fn display_name_decoding_checks_rules() {
        let name = DisplayName::new("Wren").unwrap();
        let bytes = encode(&name).unwrap();
        assert_eq!(bytes, [4, b'W', b'r', b'e', b'n']);
        assert_eq!(decode::<DisplayName, 128>(&bytes).unwrap(), name);
        let over = encode(&"a".repeat(MAX_DISPLAY_NAME_BYTES + 1)).unwrap();
        assert!(matches!(
            decode::<DisplayName, 128>(&over),
            Err(CodecError::Invalid { .. })
        ));
    }
}
