//! Group peers (docs/protocol.md §G13): members of our groups who are not
//! contacts but with whom we hold a pairwise session for the groups'
//! traffic. What we keep about each is how to reach it: its name, its
//! addresses and relays, and its own signed pairing code (which we may
//! forward in an introduction).
//!
//! The table was added without a schema version bump: it is created with
//! the others for new stores and migrations, and by the first write to it
//! in a store created before it; until then reading it finds nothing.

use redb::{ReadableTable, TableHandle};
use serde::{Deserialize, Serialize};
use wren_proto::codec;
use zeroize::Zeroizing;

use crate::error::{Corruption, Result, StoreError};
use crate::key::StorageKey;
use crate::records::{MAX_ADDRESS_BYTES, MAX_CONTACT_ADDRESSES};
use crate::schema;
use crate::seal;
use crate::tx::{ReadTx, WriteTx};

/// Largest encoded [`GroupPeer`]: a name, a pairing code and the addresses.
const GROUP_PEER_LIMIT: usize = 1_024
    + wren_proto::limits::MAX_PAIRING_CODE_BYTES
    + 2 * MAX_CONTACT_ADDRESSES * (MAX_ADDRESS_BYTES + 8);

/// What we keep about a group peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPeer {
    /// The display name from its pairing code.
    pub name: String,
    /// Known network addresses (multiaddrs, at most [`MAX_CONTACT_ADDRESSES`]).
    pub addresses: Vec<String>,
    /// Relays it can be reached through (at most [`MAX_CONTACT_ADDRESSES`]).
    pub relays: Vec<String>,
    /// Its own signed pairing code, the latest we received (at most
    /// `MAX_PAIRING_CODE_BYTES`).
    pub pairing_code: String,
    /// When it became a group peer (Unix milliseconds).
    pub added_at: u64,
}

#[derive(Serialize, Deserialize)]
enum GroupPeerVersions {
    V1(GroupPeer),
}

fn open_peer(key: &StorageKey, identity: &[u8; 32], sealed: &[u8]) -> Result<GroupPeer> {
    let corrupt = |corruption| StoreError::Corrupt {
        table: "group_peers",
        corruption,
    };
    let plaintext =
        seal::open(key, schema::GROUP_PEERS.name(), identity, sealed).map_err(corrupt)?;
    let GroupPeerVersions::V1(peer) =
        codec::decode::<GroupPeerVersions, GROUP_PEER_LIMIT>(&plaintext)
            .map_err(|error| corrupt(Corruption::Decode(error)))?;
    Ok(peer)
}

impl ReadTx<'_> {
    /// Every group peer, by identity key; a record that does not open is
    /// reported in its place.
    pub fn group_peers(&self) -> Result<Vec<([u8; 32], Result<GroupPeer>)>> {
        let Some(table) = self.optional_table(schema::GROUP_PEERS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            let identity = k.value();
            out.push((identity, open_peer(self.key, &identity, v.value())));
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// A group peer's record (sees this transaction's writes).
    pub fn group_peer(&self, identity: &[u8; 32]) -> Result<Option<GroupPeer>> {
        let table = self.raw().open_table(schema::GROUP_PEERS)?;
        let Some(guard) = table.get(identity)? else {
            return Ok(None);
        };
        open_peer(self.storage_key(), identity, guard.value()).map(Some)
    }

    /// Stores or replaces a group peer's record.
    pub fn put_group_peer(&mut self, identity: &[u8; 32], peer: &GroupPeer) -> Result<()> {
        if peer.name.len() > wren_proto::limits::MAX_DISPLAY_NAME_BYTES
            || peer.pairing_code.len() > wren_proto::limits::MAX_PAIRING_CODE_BYTES
            || peer.addresses.len() > MAX_CONTACT_ADDRESSES
            || peer.relays.len() > MAX_CONTACT_ADDRESSES
            || peer
                .addresses
                .iter()
                .chain(&peer.relays)
                .any(|a| a.len() > MAX_ADDRESS_BYTES)
        {
            return Err(StoreError::FieldTooLong {
                field: "group peer",
            });
        }
        let plaintext = Zeroizing::new(
            codec::encode(&GroupPeerVersions::V1(peer.clone())).map_err(StoreError::Encode)?,
        );
        let sealed = seal::seal(
            self.storage_key(),
            schema::GROUP_PEERS.name(),
            identity,
            &plaintext,
        );
        self.raw()
            .open_table(schema::GROUP_PEERS)?
            .insert(identity, sealed.as_slice())?;
        Ok(())
    }

    /// Forgets a group peer. Returns whether it was stored.
    pub fn remove_group_peer(&mut self, identity: &[u8; 32]) -> Result<bool> {
        Ok(self
            .raw()
            .open_table(schema::GROUP_PEERS)?
            .remove(identity)?
            .is_some())
    }
}
