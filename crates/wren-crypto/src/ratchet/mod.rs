//! The double ratchet: sessions, their messages, and the per-contact book
//! of sessions that resolves simultaneous initiation.

mod book;
mod message;
mod session;

pub use book::{PrekeyOutcome, SessionBook};
pub use message::{
    HEADER_LEN, MAX_PREKEY_MESSAGE_BYTES, MAX_RATCHET_MESSAGE_BYTES, OutboundMessage, PrekeyMessage,
};
pub use session::Session;
