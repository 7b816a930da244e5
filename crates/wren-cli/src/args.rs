//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use wren_core::Multiaddr;

/// Wren's headless client.
#[derive(Debug, Parser)]
#[command(name = "wren-cli", version, about)]
pub(crate) struct Args {
    /// The profile directory (default: the OS data directory for Wren).
    #[arg(long, global = true, env = "WREN_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Creates the identity (once per profile).
    Init {
        /// The display name contacts see.
        #[arg(long)]
        name: String,
    },
    /// Prints the pairing code (one line beginning `wren:`).
    Id {
        /// Also draws it as a QR code in the terminal.
        #[arg(long)]
        qr: bool,
    },
    /// Manages contacts.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Manages this node's relays.
    #[command(subcommand)]
    Relays(RelaysCommand),
    /// Manages groups.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Prints the history with a contact or of a group, oldest first.
    History {
        /// An alias, a peer id or a group id.
        contact: String,
        /// How many of the newest messages.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON array of message objects.
        #[arg(long)]
        json: bool,
    },
    /// Runs the node until stdin closes, SIGINT or SIGTERM.
    Run {
        /// Listens on this address (repeatable; default: any port, TCP and QUIC).
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<Multiaddr>,
        /// Events as JSON lines on stdout; commands as JSON lines on stdin.
        #[arg(long)]
        json: bool,
        /// Does not announce or discover peers on the local network.
        #[arg(long)]
        no_mdns: bool,
        /// Creates the identity with this display name first if the
        /// profile has none (so one command starts a new profile).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ContactsCommand {
    /// Adds a contact from a pairing code or a peer id (fingerprint).
    Add {
        /// A `wren:` pairing code or a peer id.
        code_or_peer_id: String,
        /// What to call the contact.
        #[arg(long)]
        alias: Option<String>,
    },
    /// Lists the contacts.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Lists Wren peers found on the local network, with fingerprints.
    Nearby {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Prints the safety number shared with a contact.
    Verify {
        /// An alias or a peer id.
        contact: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GroupsCommand {
    /// Creates a group with these contacts; prints its id. The members
    /// learn of it when `run` next delivers.
    Create {
        /// The group's name (1 to 64 bytes).
        name: String,
        /// The members: contacts (aliases or peer ids), comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        members: Vec<String>,
        /// A channel: only admins post.
        #[arg(long)]
        channel: bool,
    },
    /// Lists the groups.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Adds a contact to a group (an admin only).
    Add {
        /// The group id.
        group: String,
        /// An alias or a peer id.
        contact: String,
    },
    /// Removes a member from a group (an admin only).
    Remove {
        /// The group id.
        group: String,
        /// An alias or a member's peer id.
        contact: String,
    },
    /// Makes a member an admin of a group (an admin only): in a channel,
    /// it may post.
    Promote {
        /// The group id.
        group: String,
        /// An alias or a member's peer id.
        contact: String,
    },
    /// Renames a group (an admin only); every member sees the new name.
    Rename {
        /// The group id.
        group: String,
        /// The new name (1 to 64 bytes, no control characters).
        name: String,
    },
    /// Leaves a group (its history stays).
    Leave {
        /// The group id.
        group: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RelaysCommand {
    /// Adds a relay: a `wren-relay:` code or a multiaddr ending in
    /// `/p2p/PEER_ID`. Works while the relay is unreachable.
    Add {
        /// The relay code or address.
        relay: String,
    },
    /// Lists this node's relays.
    List {
        /// As a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Removes a relay (by peer id, code or address).
    Remove {
        /// The relay's peer id, code or address.
        relay: String,
    },
    /// As a relay's owner: manages who may use it.
    #[command(subcommand)]
    Users(RelayUsersCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RelayUsersCommand {
    /// Lists the relay's users.
    List {
        /// The relay's code, address, or peer id (if it is one of ours).
        relay: String,
    },
    /// Authorises a user (a pairing code or a peer id).
    Add {
        /// The relay's code, address, or peer id (if it is one of ours).
        relay: String,
        /// The user's pairing code or peer id.
        user: String,
    },
    /// Withdraws a user's authorisation.
    Remove {
        /// The relay's code, address, or peer id (if it is one of ours).
        relay: String,
        /// The user's pairing code or peer id.
        user: String,
    },
}
