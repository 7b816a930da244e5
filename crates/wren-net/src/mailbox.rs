//! `/wren/mailbox/1`: offline delivery through a relay's mailboxes.
//!
//! A Wren node (the client, outbound only) deposits envelopes for a
//! recipient on a relay, and fetches and acknowledges the items of its own
//! mailbox; the relay's owner also manages who may use it. The relay (the
//! server, inbound only) lives in another crate and uses this codec too.
//!
//! The byte layouts are specified in docs/protocol.md, Part VII. In short
//! (all integers big-endian; a peer id is `len: u8 (1..=64) || bytes`):
//!
//! ```text
//! request  = 0x01 || op: u8 || body
//!   0x01 deposit       recipient || count: u16 (1..=256) || count × ( len: u32 || envelope[len] )
//!   0x02 fetch         after: u64 || limit: u16 (1..=256)
//!   0x03 ack           up_to: u64
//!   0x10 users_list
//!   0x11 users_add     peer id
//!   0x12 users_remove  peer id
//! response = 0x01 || kind: u8 || body
//!   0x00 refused       code: u16 (non-zero)
//!   0x01 deposited     count: u16 (1..=256) || count × code: u16 (0 = stored)
//!   0x02 page          count: u16 (0..=256) || count × ( seq: u64 || deposited_at: u64
//!                                      || depositor || len: u32 || envelope[len] ) || more: u8
//!   0x03 acked         removed: u32
//!   0x04 users         count: u16 (0..=4096) || count × peer id
//!   0x05 done
//! ```
//!
//! On the stream each frame is preceded by its length as a `u32`; the
//! reader refuses a length above the frame maximum (1 MiB each way) before
//! allocating.
//!
//! The encoding and decoding functions are public so that the relay, fuzz
//! targets and tests can use them; they never panic and allocate at most
//! the size of their (already bounded) input.

use std::fmt;
use std::io;
use std::num::NonZeroU16;

use futures::{AsyncRead, AsyncWrite};
use libp2p::request_response;
use libp2p::{PeerId, StreamProtocol};

use crate::error::FrameError;
use crate::frame::{self, Reader};
use crate::limits::{
    MAX_DEPOSIT_BATCH, MAX_ENVELOPE_BYTES, MAX_FETCH_ITEMS, MAX_MAILBOX_REQUEST_BYTES,
    MAX_MAILBOX_RESPONSE_BYTES, MAX_PEER_ID_BYTES, MAX_USERS_LISTED,
};

/// The protocol name negotiated on the stream.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/wren/mailbox/1");

/// Version byte of both frames.
pub const VERSION: u8 = 0x01;

const OP_DEPOSIT: u8 = 0x01;
const OP_FETCH: u8 = 0x02;
const OP_ACK: u8 = 0x03;
const OP_USERS_LIST: u8 = 0x10;
const OP_USERS_ADD: u8 = 0x11;
const OP_USERS_REMOVE: u8 = 0x12;

const KIND_REFUSED: u8 = 0x00;
const KIND_DEPOSITED: u8 = 0x01;
const KIND_PAGE: u8 = 0x02;
const KIND_ACKED: u8 = 0x03;
const KIND_USERS: u8 = 0x04;
const KIND_DONE: u8 = 0x05;

/// Bytes of a page response besides its items: version, kind, count and
/// the `more` flag. A relay fills a page while
/// `PAGE_OVERHEAD_BYTES + Σ page_item_len(..)` stays within
/// [`MAX_MAILBOX_RESPONSE_BYTES`].
pub const PAGE_OVERHEAD_BYTES: usize = 1 + 1 + 2 + 1;

/// The encoded size of one page item holding an envelope of
/// `envelope_len` bytes deposited by `depositor`: seq, deposited_at, the
/// depositor's peer id, length and the envelope.
pub fn page_item_len(depositor: &PeerId, envelope_len: usize) -> usize {
    (8 + 8 + 4usize)
        .saturating_add(peer_len(depositor))
        .saturating_add(envelope_len)
}

/// Why a relay refused a request or one envelope of a deposit.
///
/// Codes are stable on the wire ([`RefusalCode::as_u16`]); a code this node
/// does not know is preserved as [`RefusalCode::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// 1: the request or envelope exceeds a limit.
    TooLarge,
    /// 2: the recipient's mailbox (or the relay) is full.
    QuotaExceeded,
    /// 3: the requester sends too much; retry later.
    RateLimited,
    /// 4: the requester may not use this relay or operation.
    NotAllowed,
    /// 5: the request is malformed or inconsistent.
    BadRequest,
    /// 6: the relay's storage failed; retry later.
    Unavailable,
    /// A code this version does not know (never 0: 0 means "stored").
    Unknown(NonZeroU16),
}

impl RefusalCode {
    /// The code on the wire.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::TooLarge => 1,
            Self::QuotaExceeded => 2,
            Self::RateLimited => 3,
            Self::NotAllowed => 4,
            Self::BadRequest => 5,
            Self::Unavailable => 6,
            Self::Unknown(code) => code.get(),
        }
    }

    /// The refusal a wire code stands for; `None` for 0, which is not a
    /// refusal ("stored" in a deposit's results).
    pub const fn from_u16(code: u16) -> Option<Self> {
        Some(match code {
            1 => Self::TooLarge,
            2 => Self::QuotaExceeded,
            3 => Self::RateLimited,
            4 => Self::NotAllowed,
            5 => Self::BadRequest,
            6 => Self::Unavailable,
            other => match NonZeroU16::new(other) {
                Some(code) => Self::Unknown(code),
                None => return None,
            },
        })
    }

    /// A short stable name, for logs and user interfaces: `too_large`,
    /// `quota_exceeded`, `rate_limited`, `not_allowed`, `bad_request`,
    /// `unavailable`, or `unknown`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::RateLimited => "rate_limited",
            Self::NotAllowed => "not_allowed",
            Self::BadRequest => "bad_request",
            Self::Unavailable => "unavailable",
            Self::Unknown(_) => "unknown",
        }
    }

    /// Whether retrying the same request later may succeed
    /// (`rate_limited`, `unavailable`, `quota_exceeded`).
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Unavailable | Self::QuotaExceeded
        )
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(code) => write!(f, "unknown({code})"),
            known => f.write_str(known.name()),
        }
    }
}

/// The relay's verdict on one envelope of a deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepositOutcome {
    /// Stored durably (code 0): the sender may forget the envelope.
    Stored,
    /// Not stored, for this reason.
    Refused(RefusalCode),
}

impl DepositOutcome {
    /// The code on the wire: 0 for stored, else the refusal code.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::Stored => 0,
            Self::Refused(code) => code.as_u16(),
        }
    }

    /// The outcome a wire code stands for.
    pub const fn from_u16(code: u16) -> Self {
        match RefusalCode::from_u16(code) {
            Some(refusal) => Self::Refused(refusal),
            None => Self::Stored,
        }
    }
}

/// One item of a mailbox, as a page returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredItem {
    /// Its sequence number: strictly increasing in deposit order within one
    /// mailbox. Acknowledge up to it to delete it.
    pub seq: u64,
    /// When the relay stored it, in seconds since the Unix epoch, by the
    /// relay's clock (informative).
    pub deposited_at: u64,
    /// Who deposited it: the authenticated peer of the deposit's connection.
    /// The recipient processes the envelope as if that peer had sent it
    /// directly (its session must then decrypt it).
    pub depositor: PeerId,
    /// The envelope exactly as deposited (1 to 65 536 bytes, an encoded
    /// Envelope): process it like one received directly.
    pub envelope: Vec<u8>,
}

/// A request from a node to a relay.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxRequest {
    /// Store envelopes in `recipient`'s mailbox (1 to
    /// [`MAX_DEPOSIT_BATCH`] envelopes of 1 to 65 536 bytes, the frame at
    /// most [`MAX_MAILBOX_REQUEST_BYTES`]). Answered with
    /// [`MailboxResponse::Deposited`] or [`MailboxResponse::Refused`].
    Deposit {
        /// Whose mailbox.
        recipient: PeerId,
        /// Encoded envelopes, as a `/wren/dm/1` batch would carry them.
        envelopes: Vec<Vec<u8>>,
    },
    /// Read the requester's own mailbox: items with `seq > after`, in
    /// order, at most `limit` (1 to [`MAX_FETCH_ITEMS`]). Answered with
    /// [`MailboxResponse::Page`].
    Fetch {
        /// Last sequence number already seen (0 = from the start).
        after: u64,
        /// Most items wanted.
        limit: u16,
    },
    /// Delete every item of the requester's own mailbox with
    /// `seq <= up_to`. Answered with [`MailboxResponse::Acked`].
    Ack {
        /// The highest sequence number processed.
        up_to: u64,
    },
    /// List the users the relay serves (owner only). Answered with
    /// [`MailboxResponse::Users`].
    UsersList,
    /// Authorise a user (owner only). Answered with
    /// [`MailboxResponse::Done`].
    UsersAdd {
        /// The user.
        user: PeerId,
    },
    /// Withdraw a user's authorisation (owner only). Answered with
    /// [`MailboxResponse::Done`].
    UsersRemove {
        /// The user.
        user: PeerId,
    },
}

/// A relay's answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MailboxResponse {
    /// The whole request was refused; nothing happened.
    Refused(RefusalCode),
    /// One outcome per deposited envelope, in order, sent once the stored
    /// ones are durable.
    Deposited(Vec<DepositOutcome>),
    /// Items of the requester's mailbox, in sequence order.
    Page {
        /// At most the fetch's limit, and at most
        /// [`MAX_MAILBOX_RESPONSE_BYTES`] encoded.
        items: Vec<StoredItem>,
        /// Whether further items exist after the last one.
        more: bool,
    },
    /// How many items an ack deleted.
    Acked {
        /// Items removed.
        removed: u32,
    },
    /// The users the relay serves (at most [`MAX_USERS_LISTED`]).
    Users(Vec<PeerId>),
    /// A users change was applied.
    Done,
}

/// The encoded length of `request`'s frame (version byte included, the
/// stream's length prefix excluded), whether or not it is within the
/// limits. A sender uses it to split a deposit into requests of at most
/// [`MAX_MAILBOX_REQUEST_BYTES`].
pub fn request_frame_len(request: &MailboxRequest) -> usize {
    let body = match request {
        MailboxRequest::Deposit {
            recipient,
            envelopes,
        } => envelopes
            .iter()
            .fold(peer_len(recipient).saturating_add(2), |len, e| {
                len.saturating_add(4).saturating_add(e.len())
            }),
        MailboxRequest::Fetch { .. } => 8 + 2,
        MailboxRequest::Ack { .. } => 8,
        MailboxRequest::UsersList => 0,
        MailboxRequest::UsersAdd { user } | MailboxRequest::UsersRemove { user } => peer_len(user),
    };
    body.saturating_add(2)
}

/// The encoded length of `response`'s frame, whether or not it is within
/// the limits.
pub fn response_frame_len(response: &MailboxResponse) -> usize {
    let body = match response {
        MailboxResponse::Refused(_) => 2,
        MailboxResponse::Deposited(outcomes) => outcomes.len().saturating_mul(2).saturating_add(2),
        MailboxResponse::Page { items, .. } => {
            items.iter().fold(PAGE_OVERHEAD_BYTES - 2, |len, item| {
                len.saturating_add(page_item_len(&item.depositor, item.envelope.len()))
            })
        }
        MailboxResponse::Acked { .. } => 4,
        MailboxResponse::Users(users) => users
            .iter()
            .fold(2usize, |len, user| len.saturating_add(peer_len(user))),
        MailboxResponse::Done => 0,
    };
    body.saturating_add(2)
}

/// Checks that `request` can be encoded: every count, length and the whole
/// frame within its bounds.
pub fn validate_request(request: &MailboxRequest) -> Result<(), FrameError> {
    match request {
        MailboxRequest::Deposit {
            recipient,
            envelopes,
        } => {
            check_peer(recipient)?;
            if envelopes.is_empty() || envelopes.len() > MAX_DEPOSIT_BATCH {
                return Err(FrameError::BatchCount {
                    count: envelopes.len(),
                    max: MAX_DEPOSIT_BATCH,
                });
            }
            if let Some(bad) = envelopes.iter().find(|e| !envelope_len_ok(e.len())) {
                return Err(envelope_size(bad.len()));
            }
        }
        MailboxRequest::Fetch { limit, .. } => {
            fetch_limit(usize::from(*limit))?;
        }
        MailboxRequest::UsersAdd { user } | MailboxRequest::UsersRemove { user } => {
            check_peer(user)?;
        }
        MailboxRequest::Ack { .. } | MailboxRequest::UsersList => {}
    }
    let len = request_frame_len(request);
    if len > MAX_MAILBOX_REQUEST_BYTES {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_MAILBOX_REQUEST_BYTES,
        });
    }
    Ok(())
}

/// Checks that `response` can be encoded: every count, length and the whole
/// frame within its bounds.
pub fn validate_response(response: &MailboxResponse) -> Result<(), FrameError> {
    match response {
        MailboxResponse::Deposited(outcomes) => {
            deposit_results(outcomes.len())?;
        }
        MailboxResponse::Page { items, .. } => {
            page_count(items.len())?;
            if let Some(bad) = items.iter().find(|i| !envelope_len_ok(i.envelope.len())) {
                return Err(envelope_size(bad.envelope.len()));
            }
        }
        MailboxResponse::Users(users) => {
            users_count(users.len())?;
            for user in users {
                check_peer(user)?;
            }
        }
        MailboxResponse::Refused(_) | MailboxResponse::Acked { .. } | MailboxResponse::Done => {}
    }
    let len = response_frame_len(response);
    if len > MAX_MAILBOX_RESPONSE_BYTES {
        return Err(FrameError::TooLarge {
            len,
            max: MAX_MAILBOX_RESPONSE_BYTES,
        });
    }
    Ok(())
}

/// Encodes a request frame, after [`validate_request`].
pub fn encode_request(request: &MailboxRequest) -> Result<Vec<u8>, FrameError> {
    validate_request(request)?;
    let mut out = Vec::with_capacity(request_frame_len(request));
    out.push(VERSION);
    match request {
        MailboxRequest::Deposit {
            recipient,
            envelopes,
        } => {
            out.push(OP_DEPOSIT);
            put_peer(&mut out, recipient)?;
            put_u16(&mut out, envelopes.len())?;
            for envelope in envelopes {
                put_u32(&mut out, envelope.len())?;
                out.extend_from_slice(envelope);
            }
        }
        MailboxRequest::Fetch { after, limit } => {
            out.push(OP_FETCH);
            out.extend_from_slice(&after.to_be_bytes());
            out.extend_from_slice(&limit.to_be_bytes());
        }
        MailboxRequest::Ack { up_to } => {
            out.push(OP_ACK);
            out.extend_from_slice(&up_to.to_be_bytes());
        }
        MailboxRequest::UsersList => out.push(OP_USERS_LIST),
        MailboxRequest::UsersAdd { user } => {
            out.push(OP_USERS_ADD);
            put_peer(&mut out, user)?;
        }
        MailboxRequest::UsersRemove { user } => {
            out.push(OP_USERS_REMOVE);
            put_peer(&mut out, user)?;
        }
    }
    Ok(out)
}

/// Decodes a request frame.
pub fn decode_request(frame: &[u8]) -> Result<MailboxRequest, FrameError> {
    let mut r = frame::open(frame, MAX_MAILBOX_REQUEST_BYTES, VERSION)?;
    let request = match r.u8()? {
        OP_DEPOSIT => {
            let recipient = read_peer(&mut r)?;
            let count = usize::from(r.u16()?);
            if count == 0 || count > MAX_DEPOSIT_BATCH {
                return Err(FrameError::BatchCount {
                    count,
                    max: MAX_DEPOSIT_BATCH,
                });
            }
            let mut envelopes = Vec::with_capacity(count);
            for _ in 0..count {
                envelopes.push(read_envelope(&mut r)?);
            }
            MailboxRequest::Deposit {
                recipient,
                envelopes,
            }
        }
        OP_FETCH => {
            let after = r.u64()?;
            let limit = r.u16()?;
            fetch_limit(usize::from(limit))?;
            MailboxRequest::Fetch { after, limit }
        }
        OP_ACK => MailboxRequest::Ack { up_to: r.u64()? },
        OP_USERS_LIST => MailboxRequest::UsersList,
        OP_USERS_ADD => MailboxRequest::UsersAdd {
            user: read_peer(&mut r)?,
        },
        OP_USERS_REMOVE => MailboxRequest::UsersRemove {
            user: read_peer(&mut r)?,
        },
        other => return Err(FrameError::UnknownOperation(other)),
    };
    r.finish()?;
    Ok(request)
}

/// Encodes a response frame, after [`validate_response`].
pub fn encode_response(response: &MailboxResponse) -> Result<Vec<u8>, FrameError> {
    validate_response(response)?;
    let mut out = Vec::with_capacity(response_frame_len(response));
    out.push(VERSION);
    match response {
        MailboxResponse::Refused(code) => {
            out.push(KIND_REFUSED);
            out.extend_from_slice(&code.as_u16().to_be_bytes());
        }
        MailboxResponse::Deposited(outcomes) => {
            out.push(KIND_DEPOSITED);
            put_u16(&mut out, outcomes.len())?;
            for outcome in outcomes {
                out.extend_from_slice(&outcome.as_u16().to_be_bytes());
            }
        }
        MailboxResponse::Page { items, more } => {
            out.push(KIND_PAGE);
            put_u16(&mut out, items.len())?;
            for item in items {
                out.extend_from_slice(&item.seq.to_be_bytes());
                out.extend_from_slice(&item.deposited_at.to_be_bytes());
                put_peer(&mut out, &item.depositor)?;
                put_u32(&mut out, item.envelope.len())?;
                out.extend_from_slice(&item.envelope);
            }
            out.push(u8::from(*more));
        }
        MailboxResponse::Acked { removed } => {
            out.push(KIND_ACKED);
            out.extend_from_slice(&removed.to_be_bytes());
        }
        MailboxResponse::Users(users) => {
            out.push(KIND_USERS);
            put_u16(&mut out, users.len())?;
            for user in users {
                put_peer(&mut out, user)?;
            }
        }
        MailboxResponse::Done => out.push(KIND_DONE),
    }
    Ok(out)
}

/// Decodes a response frame. It does not know the request: the caller
/// checks that the kind (and a deposit's result count) fits what it asked.
pub fn decode_response(frame: &[u8]) -> Result<MailboxResponse, FrameError> {
    let mut r = frame::open(frame, MAX_MAILBOX_RESPONSE_BYTES, VERSION)?;
    let response = match r.u8()? {
        KIND_REFUSED => MailboxResponse::Refused(
            RefusalCode::from_u16(r.u16()?).ok_or(FrameError::InvalidValue("refusal code"))?,
        ),
        KIND_DEPOSITED => {
            let count = deposit_results(usize::from(r.u16()?))?;
            let mut outcomes = Vec::with_capacity(count);
            for _ in 0..count {
                outcomes.push(DepositOutcome::from_u16(r.u16()?));
            }
            MailboxResponse::Deposited(outcomes)
        }
        KIND_PAGE => {
            let count = page_count(usize::from(r.u16()?))?;
            let mut items = Vec::with_capacity(count);
            for _ in 0..count {
                let seq = r.u64()?;
                let deposited_at = r.u64()?;
                let depositor = read_peer(&mut r)?;
                let envelope = read_envelope(&mut r)?;
                items.push(StoredItem {
                    seq,
                    deposited_at,
                    depositor,
                    envelope,
                });
            }
            let more = match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(FrameError::InvalidValue("more")),
            };
            MailboxResponse::Page { items, more }
        }
        KIND_ACKED => MailboxResponse::Acked { removed: r.u32()? },
        KIND_USERS => {
            let count = users_count(usize::from(r.u16()?))?;
            let mut users = Vec::with_capacity(count);
            for _ in 0..count {
                users.push(read_peer(&mut r)?);
            }
            MailboxResponse::Users(users)
        }
        KIND_DONE => MailboxResponse::Done,
        other => return Err(FrameError::UnknownStatus(other)),
    };
    r.finish()?;
    Ok(response)
}

/// Encodes a peer id as on the wire: `len: u8 (1..=64) || bytes`.
pub(crate) fn put_peer(out: &mut Vec<u8>, peer: &PeerId) -> Result<(), FrameError> {
    let bytes = peer.to_bytes();
    let len = u8::try_from(bytes.len()).map_err(|_| FrameError::InvalidPeerId)?;
    if bytes.is_empty() || bytes.len() > MAX_PEER_ID_BYTES {
        return Err(FrameError::InvalidPeerId);
    }
    out.push(len);
    out.extend_from_slice(&bytes);
    Ok(())
}

/// Reads a peer id as on the wire; only its canonical encoding is accepted.
pub(crate) fn read_peer(r: &mut Reader<'_>) -> Result<PeerId, FrameError> {
    let len = usize::from(r.u8()?);
    if len == 0 || len > MAX_PEER_ID_BYTES {
        return Err(FrameError::InvalidPeerId);
    }
    let bytes = r.take(len)?;
    let peer = PeerId::from_bytes(bytes).map_err(|_| FrameError::InvalidPeerId)?;
    if peer.to_bytes() != bytes {
        return Err(FrameError::InvalidPeerId);
    }
    Ok(peer)
}

/// The encoded length of a peer id (length byte included).
pub(crate) fn peer_len(peer: &PeerId) -> usize {
    1 + peer.to_bytes().len()
}

fn check_peer(peer: &PeerId) -> Result<(), FrameError> {
    let len = peer.to_bytes().len();
    if len == 0 || len > MAX_PEER_ID_BYTES {
        return Err(FrameError::InvalidPeerId);
    }
    Ok(())
}

fn read_envelope(r: &mut Reader<'_>) -> Result<Vec<u8>, FrameError> {
    let len = usize::try_from(r.u32()?).unwrap_or(usize::MAX);
    if !envelope_len_ok(len) {
        return Err(envelope_size(len));
    }
    Ok(r.take(len)?.to_vec())
}

fn envelope_len_ok(len: usize) -> bool {
    (1..=MAX_ENVELOPE_BYTES).contains(&len)
}

fn envelope_size(len: usize) -> FrameError {
    FrameError::EnvelopeSize {
        len,
        max: MAX_ENVELOPE_BYTES,
    }
}

fn count(field: &'static str, count: usize, min: usize, max: usize) -> Result<usize, FrameError> {
    if (min..=max).contains(&count) {
        Ok(count)
    } else {
        Err(FrameError::Count {
            field,
            count,
            min,
            max,
        })
    }
}

fn fetch_limit(limit: usize) -> Result<usize, FrameError> {
    count("fetch limit", limit, 1, MAX_FETCH_ITEMS)
}

fn deposit_results(n: usize) -> Result<usize, FrameError> {
    count("deposit results", n, 1, MAX_DEPOSIT_BATCH)
}

fn page_count(n: usize) -> Result<usize, FrameError> {
    count("page items", n, 0, MAX_FETCH_ITEMS)
}

fn users_count(n: usize) -> Result<usize, FrameError> {
    count("users", n, 0, MAX_USERS_LISTED)
}

fn put_u16(out: &mut Vec<u8>, n: usize) -> Result<(), FrameError> {
    let n = u16::try_from(n).map_err(|_| FrameError::TooLarge {
        len: n,
        max: usize::from(u16::MAX),
    })?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

fn put_u32(out: &mut Vec<u8>, n: usize) -> Result<(), FrameError> {
    let n = u32::try_from(n).map_err(|_| envelope_size(n))?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

/// The request-response codec of `/wren/mailbox/1`, for both sides: a node
/// builds its behaviour with `ProtocolSupport::Outbound`, a relay with
/// `ProtocolSupport::Inbound`.
///
/// Reading refuses a length prefix above [`MAX_MAILBOX_REQUEST_BYTES`] /
/// [`MAX_MAILBOX_RESPONSE_BYTES`] before allocating; writing refuses a
/// value that [`validate_request`] / [`validate_response`] refuses.
#[derive(Debug, Clone, Copy, Default)]
pub struct MailboxCodec;

impl request_response::Codec for MailboxCodec {
    type Protocol = StreamProtocol;
    type Request = MailboxRequest;
    type Response = MailboxResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = frame::read_frame(io, MAX_MAILBOX_REQUEST_BYTES).await?;
        decode_request(&bytes).map_err(frame::invalid_data)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = frame::read_frame(io, MAX_MAILBOX_RESPONSE_BYTES).await?;
        decode_response(&bytes).map_err(frame::invalid_data)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_request(&request).map_err(frame::invalid_data)?;
        frame::write_frame(io, &bytes).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Self::Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode_response(&response).map_err(frame::invalid_data)?;
        frame::write_frame(io, &bytes).await
    }
}

#[cfg(test)]
mod tests {
    use libp2p::identity::Keypair;
    use proptest::prelude::*;

    use super::*;

    /// The peer id of the Ed25519 key whose secret is 32 bytes of `fill`.
    fn peer(fill: u8) -> PeerId {
        Keypair::ed25519_from_bytes([fill; 32])
            .unwrap()
            .public()
            .to_peer_id()
    }

    fn round_trip_request(request: MailboxRequest) -> Vec<u8> {
        let frame = encode_request(&request).unwrap();
        assert_eq!(frame.len(), request_frame_len(&request));
        assert_eq!(decode_request(&frame).unwrap(), request);
        frame
    }

    fn round_trip_response(response: MailboxResponse) -> Vec<u8> {
        let frame = encode_response(&response).unwrap();
        assert_eq!(frame.len(), response_frame_len(&response));
        assert_eq!(decode_response(&frame).unwrap(), response);
        frame
    }

    /// Every strict prefix of a valid frame is an error, as is the frame
    /// with one more byte.
    fn assert_prefixes_fail<T: fmt::Debug>(
        frame: &[u8],
        decode: fn(&[u8]) -> Result<T, FrameError>,
    ) {
        for len in 0..frame.len() {
            assert!(decode(&frame[..len]).is_err(), "prefix of {len} bytes");
        }
        let mut longer = frame.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }

    #[test]
    fn refusal_codes_are_stable() {
        let all = [
            (RefusalCode::TooLarge, 1, "too_large"),
            (RefusalCode::QuotaExceeded, 2, "quota_exceeded"),
            (RefusalCode::RateLimited, 3, "rate_limited"),
            (RefusalCode::NotAllowed, 4, "not_allowed"),
            (RefusalCode::BadRequest, 5, "bad_request"),
            (RefusalCode::Unavailable, 6, "unavailable"),
        ];
        for (code, wire, name) in all {
            assert_eq!(code.as_u16(), wire);
            assert_eq!(RefusalCode::from_u16(wire), Some(code));
            assert_eq!(code.name(), name);
            assert_eq!(code.to_string(), name);
        }
        assert_eq!(RefusalCode::from_u16(0), None);
        let unknown = RefusalCode::from_u16(0x1234).unwrap();
        assert_eq!(unknown.as_u16(), 0x1234, "unknown codes are preserved");
        assert_eq!(unknown.name(), "unknown");
        assert_eq!(unknown.to_string(), "unknown(4660)");
        assert_eq!(DepositOutcome::from_u16(0), DepositOutcome::Stored);
        assert_eq!(
            DepositOutcome::from_u16(2),
            DepositOutcome::Refused(RefusalCode::QuotaExceeded)
        );
        assert_eq!(DepositOutcome::Stored.as_u16(), 0);
    }

    #[test]
    fn request_layouts() {
        assert_eq!(
            round_trip_request(MailboxRequest::Fetch {
                after: 0x0102,
                limit: 64
            }),
            [1, 2, 0, 0, 0, 0, 0, 0, 1, 2, 0, 64]
        );
        assert_eq!(
            round_trip_request(MailboxRequest::Ack { up_to: 7 }),
            [1, 3, 0, 0, 0, 0, 0, 0, 0, 7]
        );
        assert_eq!(round_trip_request(MailboxRequest::UsersList), [1, 0x10]);

        let recipient = peer(1);
        let id = recipient.to_bytes();
        assert_eq!(id.len(), 38, "an Ed25519 peer id");
        let frame = round_trip_request(MailboxRequest::Deposit {
            recipient,
            envelopes: vec![vec![0xAA], vec![0xBB, 0xCC]],
        });
        let mut expected = vec![1, 1, 38];
        expected.extend_from_slice(&id);
        expected.extend_from_slice(&[0, 2, 0, 0, 0, 1, 0xAA, 0, 0, 0, 2, 0xBB, 0xCC]);
        assert_eq!(frame, expected);

        let mut expected = vec![1, 0x11, 38];
        expected.extend_from_slice(&id);
        assert_eq!(
            round_trip_request(MailboxRequest::UsersAdd { user: recipient }),
            expected
        );
        expected[1] = 0x12;
        assert_eq!(
            round_trip_request(MailboxRequest::UsersRemove { user: recipient }),
            expected
        );
    }

    #[test]
    fn response_layouts() {
        assert_eq!(
            round_trip_response(MailboxResponse::Refused(RefusalCode::NotAllowed)),
            [1, 0, 0, 4]
        );
        assert_eq!(
            round_trip_response(MailboxResponse::Deposited(vec![
                DepositOutcome::Stored,
                DepositOutcome::Refused(RefusalCode::QuotaExceeded),
            ])),
            [1, 1, 0, 2, 0, 0, 0, 2]
        );
        assert_eq!(
            round_trip_response(MailboxResponse::Page {
                items: vec![StoredItem {
                    seq: 5,
                    deposited_at: 0x6000_0000,
                    depositor: peer(1),
                    envelope: vec![0xEE, 0xFF],
                }],
                more: true,
            }),
            [
                &[
                    1, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0x60, 0, 0, 0
                ][..],
                &[38],
                &peer(1).to_bytes(),
                &[0, 0, 0, 2, 0xEE, 0xFF, 1],
            ]
            .concat()
        );
        assert_eq!(
            round_trip_response(MailboxResponse::Page {
                items: Vec::new(),
                more: false
            }),
            [1, 2, 0, 0, 0]
        );
        assert_eq!(
            round_trip_response(MailboxResponse::Acked { removed: 3 }),
            [1, 3, 0, 0, 0, 3]
        );
        assert_eq!(
            round_trip_response(MailboxResponse::Users(Vec::new())),
            [1, 4, 0, 0]
        );
        let frame = round_trip_response(MailboxResponse::Users(vec![peer(1), peer(2)]));
        assert_eq!(frame.len(), 4 + 2 * 39);
        assert_eq!(round_trip_response(MailboxResponse::Done), [1, 5]);
    }

    #[test]
    fn unknown_refusal_codes_survive_a_round_trip() {
        let frame = [1, 0, 0xAB, 0xCD];
        let response = decode_response(&frame).unwrap();
        assert_eq!(
            response,
            MailboxResponse::Refused(RefusalCode::from_u16(0xABCD).unwrap())
        );
        assert_eq!(encode_response(&response).unwrap(), frame);
        let frame = [1, 1, 0, 1, 0, 99];
        let response = decode_response(&frame).unwrap();
        assert_eq!(encode_response(&response).unwrap(), frame);
    }

    /// A deposit whose frame is exactly `frame_len` bytes: maximal
    /// envelopes, then one that fills the rest.
    fn deposit_of_frame_len(frame_len: usize) -> MailboxRequest {
        let recipient = peer(3);
        let mut left = frame_len - 2 - peer_len(&recipient) - 2;
        let mut envelopes = Vec::new();
        while left > 0 {
            let len = (left - 4).min(MAX_ENVELOPE_BYTES);
            envelopes.push(vec![0x5A; len]);
            left -= 4 + len;
        }
        MailboxRequest::Deposit {
            recipient,
            envelopes,
        }
    }

    #[test]
    fn deposit_frame_size_limit() {
        let request = deposit_of_frame_len(MAX_MAILBOX_REQUEST_BYTES);
        let frame = round_trip_request(request.clone());
        assert_eq!(frame.len(), MAX_MAILBOX_REQUEST_BYTES);

        let MailboxRequest::Deposit {
            recipient,
            mut envelopes,
        } = request
        else {
            unreachable!()
        };
        envelopes.last_mut().unwrap().push(0);
        let over = MailboxRequest::Deposit {
            recipient,
            envelopes,
        };
        let too_large = FrameError::TooLarge {
            len: MAX_MAILBOX_REQUEST_BYTES + 1,
            max: MAX_MAILBOX_REQUEST_BYTES,
        };
        assert_eq!(encode_request(&over), Err(too_large));
        let mut frame = frame;
        frame.push(0);
        assert_eq!(decode_request(&frame), Err(too_large));
    }

    #[test]
    fn deposit_batch_and_envelope_limits() {
        let recipient = peer(4);
        let full = MailboxRequest::Deposit {
            recipient,
            envelopes: vec![vec![1]; MAX_DEPOSIT_BATCH],
        };
        let frame = round_trip_request(full);

        // 257 envelopes: refused by the encoder, and a hand-built frame by
        // the decoder.
        let over = MailboxRequest::Deposit {
            recipient,
            envelopes: vec![vec![1]; MAX_DEPOSIT_BATCH + 1],
        };
        let batch_error = FrameError::BatchCount {
            count: MAX_DEPOSIT_BATCH + 1,
            max: MAX_DEPOSIT_BATCH,
        };
        assert_eq!(encode_request(&over), Err(batch_error));
        let count_at = 2 + peer_len(&recipient);
        let mut hand_built = frame.clone();
        hand_built[count_at..count_at + 2]
            .copy_from_slice(&u16::try_from(MAX_DEPOSIT_BATCH + 1).unwrap().to_be_bytes());
        hand_built.extend_from_slice(&[0, 0, 0, 1, 1]);
        assert_eq!(decode_request(&hand_built), Err(batch_error));

        // No envelope at all.
        let empty = MailboxRequest::Deposit {
            recipient,
            envelopes: Vec::new(),
        };
        assert!(encode_request(&empty).is_err());
        let mut hand_built = frame[..count_at].to_vec();
        hand_built.extend_from_slice(&[0, 0]);
        assert!(decode_request(&hand_built).is_err());

        // Envelopes of 65 536 bytes pass, of 65 537 or 0 bytes do not.
        let max = MailboxRequest::Deposit {
            recipient,
            envelopes: vec![vec![7; MAX_ENVELOPE_BYTES]],
        };
        let frame = round_trip_request(max);
        for bad in [MAX_ENVELOPE_BYTES + 1, 0] {
            let request = MailboxRequest::Deposit {
                recipient,
                envelopes: vec![vec![7; bad]],
            };
            let error = FrameError::EnvelopeSize {
                len: bad,
                max: MAX_ENVELOPE_BYTES,
            };
            assert_eq!(encode_request(&request), Err(error));
            let len_at = count_at + 2;
            let mut hand_built = frame[..len_at].to_vec();
            hand_built.extend_from_slice(&u32::try_from(bad).unwrap().to_be_bytes());
            hand_built.extend(std::iter::repeat_n(7, bad));
            assert_eq!(decode_request(&hand_built), Err(error));
        }
    }

    #[test]
    fn fetch_limit_bounds() {
        for limit in [1, 256] {
            round_trip_request(MailboxRequest::Fetch { after: 0, limit });
        }
        for limit in [0, 257] {
            let error = FrameError::Count {
                field: "fetch limit",
                count: usize::from(limit),
                min: 1,
                max: MAX_FETCH_ITEMS,
            };
            assert_eq!(
                encode_request(&MailboxRequest::Fetch { after: 0, limit }),
                Err(error)
            );
            let mut frame = vec![1, 2, 0, 0, 0, 0, 0, 0, 0, 0];
            frame.extend_from_slice(&limit.to_be_bytes());
            assert_eq!(decode_request(&frame), Err(error));
        }
    }

    fn item(seq: u64, len: usize) -> StoredItem {
        StoredItem {
            seq,
            deposited_at: 1_700_000_000,
            depositor: peer(7),
            envelope: vec![0x42; len],
        }
    }

    #[test]
    fn page_count_limit() {
        let items: Vec<_> = (1..=256).map(|seq| item(seq, 1)).collect();
        let frame = round_trip_response(MailboxResponse::Page {
            items: items.clone(),
            more: true,
        });
        let mut over = items;
        over.push(item(257, 1));
        let error = FrameError::Count {
            field: "page items",
            count: 257,
            min: 0,
            max: MAX_FETCH_ITEMS,
        };
        assert_eq!(
            encode_response(&MailboxResponse::Page {
                items: over,
                more: false
            }),
            Err(error)
        );
        let mut hand_built = frame[..frame.len() - 1].to_vec();
        hand_built[2..4].copy_from_slice(&257u16.to_be_bytes());
        hand_built.extend_from_slice(&[0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        hand_built.push(38);
        hand_built.extend_from_slice(&peer(7).to_bytes());
        hand_built.extend_from_slice(&[0, 0, 0, 1, 0x42, 0]);
        assert_eq!(decode_response(&hand_built), Err(error));
    }

    #[test]
    fn page_frame_size_limit() {
        // Maximal items, then one that fills the frame to exactly 1 MiB.
        let mut left = MAX_MAILBOX_RESPONSE_BYTES - PAGE_OVERHEAD_BYTES;
        let mut items = Vec::new();
        while left > 0 {
            let len = (left - page_item_len(&peer(7), 0)).min(MAX_ENVELOPE_BYTES);
            items.push(item(items.len() as u64 + 1, len));
            left -= page_item_len(&peer(7), len);
        }
        let page = MailboxResponse::Page {
            items: items.clone(),
            more: true,
        };
        let frame = round_trip_response(page);
        assert_eq!(frame.len(), MAX_MAILBOX_RESPONSE_BYTES);

        items.last_mut().unwrap().envelope.push(0);
        let too_large = FrameError::TooLarge {
            len: MAX_MAILBOX_RESPONSE_BYTES + 1,
            max: MAX_MAILBOX_RESPONSE_BYTES,
        };
        assert_eq!(
            encode_response(&MailboxResponse::Page { items, more: true }),
            Err(too_large)
        );
        let mut frame = frame;
        frame.push(0);
        assert_eq!(decode_response(&frame), Err(too_large));
    }

    #[test]
    fn users_and_deposit_result_limits() {
        let users: Vec<PeerId> = (0..MAX_USERS_LISTED).map(|_| PeerId::random()).collect();
        let frame = round_trip_response(MailboxResponse::Users(users.clone()));
        let mut over = users;
        over.push(PeerId::random());
        let error = FrameError::Count {
            field: "users",
            count: MAX_USERS_LISTED + 1,
            min: 0,
            max: MAX_USERS_LISTED,
        };
        assert_eq!(
            encode_response(&MailboxResponse::Users(over.clone())),
            Err(error)
        );
        let mut hand_built = frame;
        hand_built[2..4].copy_from_slice(&u16::try_from(over.len()).unwrap().to_be_bytes());
        let last = over.last().unwrap().to_bytes();
        hand_built.push(u8::try_from(last.len()).unwrap());
        hand_built.extend_from_slice(&last);
        assert_eq!(decode_response(&hand_built), Err(error));

        round_trip_response(MailboxResponse::Deposited(vec![
            DepositOutcome::Stored;
            MAX_DEPOSIT_BATCH
        ]));
        for bad in [0, MAX_DEPOSIT_BATCH + 1] {
            let error = FrameError::Count {
                field: "deposit results",
                count: bad,
                min: 1,
                max: MAX_DEPOSIT_BATCH,
            };
            assert_eq!(
                encode_response(&MailboxResponse::Deposited(vec![
                    DepositOutcome::Stored;
                    bad
                ])),
                Err(error)
            );
            let mut frame = vec![1, 1];
            frame.extend_from_slice(&u16::try_from(bad).unwrap().to_be_bytes());
            frame.extend(std::iter::repeat_n(0, 2 * bad));
            assert_eq!(decode_response(&frame), Err(error));
        }
    }

    /// A valid peer id of `len` bytes on the wire: a SHA-256-coded
    /// multihash (code, size, digest) with a `len - 2`-byte digest.
    fn peer_of_len(len: usize) -> PeerId {
        let digest = vec![0x33; len - 2];
        let multihash = libp2p::multihash::Multihash::<64>::wrap(0x12, &digest).unwrap();
        let peer = PeerId::from_multihash(multihash).unwrap();
        assert_eq!(peer.to_bytes().len(), len);
        peer
    }

    #[test]
    fn peer_id_bounds() {
        // 64 bytes pass; 65 are refused by the encoder and the decoder.
        round_trip_request(MailboxRequest::UsersAdd {
            user: peer_of_len(MAX_PEER_ID_BYTES),
        });
        let over = peer_of_len(MAX_PEER_ID_BYTES + 1);
        assert_eq!(
            encode_request(&MailboxRequest::UsersAdd { user: over }),
            Err(FrameError::InvalidPeerId)
        );
        let mut frame = vec![1, 0x11, 65];
        frame.extend_from_slice(&over.to_bytes());
        assert_eq!(decode_request(&frame), Err(FrameError::InvalidPeerId));
        // Length 0, and 64 bytes that are not a peer id.
        for (len, body) in [(0u8, vec![]), (64, vec![0xFF; 64])] {
            let mut frame = vec![1, 0x11, len];
            frame.extend_from_slice(&body);
            assert_eq!(decode_request(&frame), Err(FrameError::InvalidPeerId));
        }
    }

    #[test]
    fn malformed_frames_are_errors() {
        assert_eq!(decode_request(&[]), Err(FrameError::Empty));
        assert_eq!(
            decode_request(&[2, 0x10]),
            Err(FrameError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        );
        assert_eq!(
            decode_request(&[1, 0x04]),
            Err(FrameError::UnknownOperation(4))
        );
        assert_eq!(
            decode_response(&[1, 0x06]),
            Err(FrameError::UnknownStatus(6))
        );
        assert_eq!(
            decode_response(&[1, 0, 0, 0]),
            Err(FrameError::InvalidValue("refusal code"))
        );
        assert_eq!(
            decode_response(&[1, 2, 0, 0, 2]),
            Err(FrameError::InvalidValue("more"))
        );
        assert_eq!(
            decode_request(&[1, 0x10, 0]),
            Err(FrameError::TrailingBytes { count: 1 })
        );

        let requests = [
            MailboxRequest::Deposit {
                recipient: peer(5),
                envelopes: vec![vec![1, 2, 3], vec![4]],
            },
            MailboxRequest::Fetch {
                after: 9,
                limit: 10,
            },
            MailboxRequest::Ack { up_to: 9 },
            MailboxRequest::UsersList,
            MailboxRequest::UsersAdd { user: peer(6) },
            MailboxRequest::UsersRemove { user: peer(6) },
        ];
        for request in requests {
            assert_prefixes_fail(&encode_request(&request).unwrap(), decode_request);
        }
        let responses = [
            MailboxResponse::Refused(RefusalCode::Unavailable),
            MailboxResponse::Deposited(vec![DepositOutcome::Stored]),
            MailboxResponse::Page {
                items: vec![item(1, 3), item(2, 1)],
                more: false,
            },
            MailboxResponse::Acked { removed: 2 },
            MailboxResponse::Users(vec![peer(7)]),
            MailboxResponse::Done,
        ];
        for response in responses {
            assert_prefixes_fail(&encode_response(&response).unwrap(), decode_response);
        }
    }

    #[test]
    fn the_stream_codec_bounds_length_prefixes() {
        use request_response::Codec;
        futures::executor::block_on(async {
            let mut codec = MailboxCodec;
            let over = u32::try_from(MAX_MAILBOX_REQUEST_BYTES + 1)
                .unwrap()
                .to_be_bytes();
            let error = codec
                .read_request(&PROTOCOL, &mut &over[..])
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            let over = u32::try_from(MAX_MAILBOX_RESPONSE_BYTES + 1)
                .unwrap()
                .to_be_bytes();
            let error = codec
                .read_response(&PROTOCOL, &mut &over[..])
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);

            let mut stream = futures::io::Cursor::new(Vec::new());
            codec
                .write_request(&PROTOCOL, &mut stream, MailboxRequest::Ack { up_to: 1 })
                .await
                .unwrap();
            let bytes = stream.into_inner();
            assert_eq!(bytes, [0, 0, 0, 10, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1]);
            let request = codec
                .read_request(&PROTOCOL, &mut &bytes[..])
                .await
                .unwrap();
            assert_eq!(request, MailboxRequest::Ack { up_to: 1 });

            let mut stream = futures::io::Cursor::new(Vec::new());
            codec
                .write_response(&PROTOCOL, &mut stream, MailboxResponse::Done)
                .await
                .unwrap();
            let bytes = stream.into_inner();
            assert_eq!(bytes, [0, 0, 0, 2, 1, 5]);
            let response = codec
                .read_response(&PROTOCOL, &mut &bytes[..])
                .await
                .unwrap();
            assert_eq!(response, MailboxResponse::Done);

            // An invalid value is not written.
            let mut stream = futures::io::Cursor::new(Vec::new());
            let error = codec
                .write_request(
                    &PROTOCOL,
                    &mut stream,
                    MailboxRequest::Fetch { after: 0, limit: 0 },
                )
                .await
                .unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(stream.into_inner().is_empty());
        });
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_request(&bytes);
            let _ = decode_response(&bytes);
        }

        #[test]
        fn decoding_near_valid_frames_never_panics(
            version in 0u8..3,
            op in prop::sample::select(vec![0u8, 1, 2, 3, 4, 5, 6, 0x10, 0x11, 0x12, 0x13]),
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut frame = vec![version, op];
            frame.extend_from_slice(&body);
            if let Ok(request) = decode_request(&frame) {
                prop_assert_eq!(encode_request(&request).unwrap(), frame.clone());
            }
            if let Ok(response) = decode_response(&frame) {
                prop_assert_eq!(encode_response(&response).unwrap(), frame);
            }
        }

        #[test]
        fn pages_round_trip(
            items in proptest::collection::vec(
                (any::<u64>(), any::<u64>(), proptest::collection::vec(any::<u8>(), 1..64)),
                0..16,
            ),
            more in any::<bool>(),
        ) {
            let items = items
                .into_iter()
                .map(|(seq, deposited_at, envelope)| StoredItem {
                    seq,
                    deposited_at,
                    depositor: peer(3),
                    envelope,
                })
                .collect();
            round_trip_response(MailboxResponse::Page { items, more });
        }
    }
}
