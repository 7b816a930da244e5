//! All sessions with one contact: the active one and a bounded archive.
//!
//! The book decides which session is active so that both sides converge on
//! one session even when both initiate at the same time (docs/protocol.md,
//! "Simultaneous initiation"):
//!
//! 1. A prekey message for a session we already have goes to that session.
//! 2. A prekey message that starts a new session makes it active, unless our
//!    active session is one we initiated that the peer has not yet answered
//!    and our identity key is the smaller: then ours stays active and the new
//!    one is archived (still able to decrypt what the peer sent on it).
//! 3. A normal message that decrypts with an archived session promotes that
//!    session: the peer has confirmed it and is using it.

use std::collections::VecDeque;

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::message::{OutboundMessage, PrekeyMessage};
use super::session::Session;
use crate::bytes::{Put, Reader};
use crate::error::{DecodeError, SessionError};
use crate::identity::{IdentityKey, IdentityKeyPair};
use crate::limits::MAX_ARCHIVED_SESSIONS;
use crate::prekey::{OneTimePrekeyPair, SignedPrekeyPair, VerifiedBundle};

/// Version byte of a serialized session book.
const BOOK_VERSION: u8 = 1;

/// The sessions with one contact.
#[derive(Debug)]
pub struct SessionBook {
    remote: IdentityKey,
    active: Option<Session>,
    /// Most recently archived first.
    archived: VecDeque<Session>,
}

/// The result of accepting a prekey message.
pub struct PrekeyOutcome {
    /// The decrypted plaintext.
    pub plaintext: Vec<u8>,
    /// Whether a new session was created (so a named one-time prekey was
    /// consumed and must now be deleted by the caller).
    pub new_session: bool,
}

impl std::fmt::Debug for PrekeyOutcome {
    /// The plaintext's length only: plaintext never goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrekeyOutcome")
            .field("plaintext_len", &self.plaintext.len())
            .field("new_session", &self.new_session)
            .finish()
    }
}

impl SessionBook {
    /// An empty book for a contact.
    pub fn new(remote: IdentityKey) -> Self {
        Self {
            remote,
            active: None,
            archived: VecDeque::new(),
        }
    }

    /// The contact's identity.
    pub fn remote_identity(&self) -> &IdentityKey {
        &self.remote
    }

    /// The session used for sending, if any.
    pub fn active(&self) -> Option<&Session> {
        self.active.as_ref()
    }

    /// Number of archived sessions.
    pub fn archived_len(&self) -> usize {
        self.archived.len()
    }

    /// Whether a message can be sent now (there is an active session).
    pub fn has_session(&self) -> bool {
        self.active.is_some()
    }

    /// Starts a new outbound session with the contact's verified bundle and
    /// makes it active (the previous active session is archived).
    pub fn initiate<R: CryptoRng + ?Sized>(
        &mut self,
        ours: &IdentityKeyPair,
        bundle: &VerifiedBundle,
        rng: &mut R,
    ) -> Result<(), SessionError> {
        if bundle.identity() != &self.remote {
            return Err(SessionError::WrongIdentity);
        }
        let session = Session::initiate(ours, bundle, rng)?;
        self.activate(session);
        Ok(())
    }

    fn activate(&mut self, session: Session) {
        if let Some(old) = self.active.replace(session) {
            self.archive(old);
        }
    }

    fn archive(&mut self, session: Session) {
        self.archived.push_front(session);
        self.archived.truncate(MAX_ARCHIVED_SESSIONS);
    }

    /// Encrypts with the active session.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<OutboundMessage, SessionError> {
        match self.active.as_mut() {
            Some(s) => s.encrypt(plaintext, rng),
            None => Err(SessionError::AuthenticationFailed),
        }
    }

    /// Reserves sending keys on the active session (see
    /// [`Session::reserve_sending_keys`]); `false` without an active
    /// session or sending chain.
    pub fn reserve_sending_keys(&mut self, count: u32) -> bool {
        self.active
            .as_mut()
            .is_some_and(|s| s.reserve_sending_keys(count))
    }

    /// How many messages the active session can send before its state must
    /// be stored again (see [`Session::reserved_sending_keys`]).
    pub fn reserved_sending_keys(&self) -> u32 {
        self.active
            .as_ref()
            .map_or(0, Session::reserved_sending_keys)
    }

    /// Takes a pending sending DH step on the active session now (see
    /// [`Session::prepare_sending_chain`]).
    pub fn prepare_sending_chain<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<bool, SessionError> {
        match self.active.as_mut() {
            Some(s) => s.prepare_sending_chain(rng),
            None => Ok(false),
        }
    }

    /// Accepts a prekey message from the contact. The caller looked up the
    /// signed prekey (and one-time prekey) the message names.
    pub fn receive_prekey(
        &mut self,
        ours: &IdentityKeyPair,
        signed_prekey: Option<&SignedPrekeyPair>,
        one_time_prekey: Option<&OneTimePrekeyPair>,
        message: &PrekeyMessage,
    ) -> Result<PrekeyOutcome, SessionError> {
        if message.identity() != &self.remote {
            return Err(SessionError::WrongIdentity);
        }
        // Rule 1: a session we already have. Its prekey ids must match: they
        // are outside the AEAD, so this check is what authenticates them.
        let existing = self
            .active
            .iter_mut()
            .chain(self.archived.iter_mut())
            .find(|s| s.base_key() == message.base_key());
        if let Some(s) = existing {
            if !s.started_with(message) {
                return Err(SessionError::PrekeyMismatch);
            }
            let plaintext = s.decrypt(message.message())?;
            return Ok(PrekeyOutcome {
                plaintext,
                new_session: false,
            });
        }
        // Rule 2: a new session.
        let signed_prekey = signed_prekey.ok_or(SessionError::UnknownSignedPrekey(
            message.signed_prekey_id(),
        ))?;
        let (session, plaintext) = Session::respond(ours, signed_prekey, one_time_prekey, message)?;
        let keep_ours = self
            .active
            .as_ref()
            .is_some_and(|a| a.is_initiator() && !a.is_confirmed() && ours.public() < &self.remote);
        if keep_ours {
            self.archive(session);
        } else {
            self.activate(session);
        }
        Ok(PrekeyOutcome {
            plaintext,
            new_session: true,
        })
    }

    /// Decrypts a normal message from the contact, trying the active session
    /// first and then the archive (rule 3 promotes an archived session).
    pub fn decrypt(&mut self, message: &[u8]) -> Result<Vec<u8>, SessionError> {
        let mut last = SessionError::AuthenticationFailed;
        if let Some(active) = self.active.as_mut() {
            match active.decrypt(message) {
                Ok(p) => return Ok(p),
                Err(
                    e @ (SessionError::Replay
                    | SessionError::TooFarAhead { .. }
                    | SessionError::Malformed(_)),
                ) => {
                    return Err(e);
                }
                Err(e) => last = e,
            }
        }
        for i in 0..self.archived.len() {
            let Some(s) = self.archived.get_mut(i) else {
                break;
            };
            match s.decrypt(message) {
                Ok(p) => {
                    if let Some(promoted) = self.archived.remove(i)
                        && let Some(old) = self.active.replace(promoted)
                    {
                        self.archive(old);
                    }
                    return Ok(p);
                }
                Err(e @ (SessionError::Replay | SessionError::TooFarAhead { .. })) => {
                    return Err(e);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Serializes the book, secrets included, for sealed storage:
    /// version (1) ‖ remote identity (32) ‖ has_active (1) [‖ len (4) ‖ session]
    /// ‖ archived count (1) ‖ { len (4) ‖ session }*.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        out.put_u8(BOOK_VERSION);
        out.put(self.remote.as_bytes());
        let put_session = |out: &mut Vec<u8>, s: &Session| {
            let bytes = s.to_bytes();
            out.put_u32(bytes.len() as u32);
            out.put(&bytes);
        };
        match &self.active {
            Some(s) => {
                out.put_u8(1);
                put_session(&mut out, s);
            }
            None => out.put_u8(0),
        }
        out.put_u8(self.archived.len() as u8);
        for s in &self.archived {
            put_session(&mut out, s);
        }
        out
    }

    /// Restores from [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.version(BOOK_VERSION)?;
        let remote = IdentityKey::from_bytes(&r.array()?)?;
        let read_session = |r: &mut Reader<'_>| -> Result<Session, DecodeError> {
            let len = r.u32()? as usize;
            let s = Session::from_bytes(r.take(len)?)?;
            if s.remote_identity() != &remote {
                return Err(DecodeError::InvalidField(
                    "session belongs to another contact",
                ));
            }
            Ok(s)
        };
        let active = match r.u8()? {
            0 => None,
            1 => Some(read_session(&mut r)?),
            _ => return Err(DecodeError::InvalidField("active session flag")),
        };
        let n = usize::from(r.u8()?);
        if n > MAX_ARCHIVED_SESSIONS {
            return Err(DecodeError::TooLong {
                field: "archived sessions",
                len: n,
                max: MAX_ARCHIVED_SESSIONS,
            });
        }
        let mut archived = VecDeque::with_capacity(n);
        for _ in 0..n {
            archived.push_back(read_session(&mut r)?);
        }
        r.finish()?;
        Ok(Self {
            remote,
            active,
            archived,
        })
    }
}
