//! The relay's TOML config: what `init` writes, how it is read, and the
//! checks that turn it into [`Settings`].
//!
//! Every key is optional (a missing key takes its default from
//! [`crate::limits`]); unknown keys are errors. Validation errors name the
//! key and the problem on one line, e.g.
//! `config key mailbox.max_envelope_bytes: must be between 1 and 65536, got 0`.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

use crate::limits::*;

/// The config file as written: every section, every key, with defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Transports, addresses and connection bounds.
    pub network: NetworkConfig,
    /// Circuit relay v2 limits.
    pub relay: RelayConfig,
    /// Who may use the relay.
    pub access: AccessConfig,
    /// The offline-message store.
    pub mailbox: MailboxConfig,
    /// The HTTP listener for metrics and the status page.
    pub http: HttpConfig,
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Multiaddrs to listen on (TCP and QUIC).
    pub listen: Vec<String>,
    /// Public multiaddrs (without `/p2p/`) to advertise and put in the relay
    /// code. Empty: the listen addresses are advertised.
    pub external_addresses: Vec<String>,
    /// Seconds an idle connection stays open.
    pub idle_connection_timeout_secs: u64,
    /// Established connections, all peers together.
    pub max_connections: u32,
    /// Established connections per peer.
    pub max_connections_per_peer: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: default_listen_addresses(DEFAULT_PORT),
            external_addresses: Vec::new(),
            idle_connection_timeout_secs: DEFAULT_IDLE_CONNECTION_TIMEOUT_SECS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
        }
    }
}

/// The default listen addresses: every IPv4 and IPv6 interface, TCP and
/// QUIC on `port`.
pub fn default_listen_addresses(port: u16) -> Vec<String> {
    vec![
        format!("/ip4/0.0.0.0/tcp/{port}"),
        format!("/ip4/0.0.0.0/udp/{port}/quic-v1"),
        format!("/ip6/::/tcp/{port}"),
        format!("/ip6/::/udp/{port}/quic-v1"),
    ]
}

/// `[relay]`: circuit relay v2 limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Reservations held at once.
    pub max_reservations: usize,
    /// Reservations per peer.
    pub max_reservations_per_peer: usize,
    /// Seconds before a reservation must be renewed.
    pub reservation_duration_secs: u64,
    /// Circuits open at once.
    pub max_circuits: usize,
    /// Circuits per peer.
    pub max_circuits_per_peer: usize,
    /// Seconds a circuit may stay open.
    pub max_circuit_duration_secs: u64,
    /// Bytes one circuit may carry.
    pub max_circuit_bytes: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_reservations: DEFAULT_MAX_RESERVATIONS,
            max_reservations_per_peer: DEFAULT_MAX_RESERVATIONS_PER_PEER,
            reservation_duration_secs: DEFAULT_RESERVATION_DURATION_SECS,
            max_circuits: DEFAULT_MAX_CIRCUITS,
            max_circuits_per_peer: DEFAULT_MAX_CIRCUITS_PER_PEER,
            max_circuit_duration_secs: DEFAULT_MAX_CIRCUIT_DURATION_SECS,
            max_circuit_bytes: DEFAULT_MAX_CIRCUIT_BYTES,
        }
    }
}

/// Who may use the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only the owner and authorised users may reserve circuits and own a
    /// mailbox; anyone may deposit to them.
    #[default]
    Restricted,
    /// Anyone may do anything (within the limits). For testing.
    Open,
}

/// `[access]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// `restricted` or `open`.
    pub mode: Mode,
    /// The owner's peer id (empty: no owner).
    pub owner: String,
}

/// `[mailbox]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxConfig {
    /// Largest envelope stored.
    pub max_envelope_bytes: usize,
    /// Messages held per recipient.
    pub max_messages_per_mailbox: u64,
    /// Envelope bytes held per recipient.
    pub max_bytes_per_mailbox: u64,
    /// Non-empty mailboxes.
    pub max_mailboxes: u64,
    /// Seconds a message is kept unfetched.
    pub ttl_secs: u64,
    /// Seconds between purges of expired messages.
    pub purge_interval_secs: u64,
    /// Envelopes per second one depositor may send (sustained).
    pub deposit_rate_per_sec: u32,
    /// Envelopes one depositor may send in a burst.
    pub deposit_burst: u32,
}

impl Default for MailboxConfig {
    fn default() -> Self {
        Self {
            max_envelope_bytes: DEFAULT_MAX_ENVELOPE_BYTES,
            max_messages_per_mailbox: DEFAULT_MAX_MESSAGES_PER_MAILBOX,
            max_bytes_per_mailbox: DEFAULT_MAX_BYTES_PER_MAILBOX,
            max_mailboxes: DEFAULT_MAX_MAILBOXES,
            ttl_secs: DEFAULT_TTL_SECS,
            purge_interval_secs: DEFAULT_PURGE_INTERVAL_SECS,
            deposit_rate_per_sec: DEFAULT_DEPOSIT_RATE_PER_SEC,
            deposit_burst: DEFAULT_DEPOSIT_BURST,
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whether to serve metrics and the status page at all.
    pub enabled: bool,
    /// `IP:PORT` to listen on.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: DEFAULT_HTTP_LISTEN.to_owned(),
        }
    }
}

/// A config that cannot be used: the key (`section.key`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key {key}: {problem}")]
pub struct ConfigError {
    /// The key, as `section.key` (or the file, for a syntax error).
    pub key: String,
    /// What is wrong, on one line.
    pub problem: String,
}

impl ConfigError {
    fn new(key: &str, problem: impl fmt::Display) -> Self {
        Self {
            key: key.to_owned(),
            problem: problem.to_string().replace('\n', " "),
        }
    }
}

/// Validated settings, with typed values: what the relay runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Advertised addresses (without `/p2p/`).
    pub external_addresses: Vec<Multiaddr>,
    /// Idle connection timeout.
    pub idle_connection_timeout: Duration,
    /// Established connections, all peers.
    pub max_connections: u32,
    /// Established connections per peer.
    pub max_connections_per_peer: u32,
    /// Circuit relay limits.
    pub relay: RelayConfig,
    /// Access mode.
    pub mode: Mode,
    /// The owner, if any.
    pub owner: Option<PeerId>,
    /// Mailbox limits.
    pub mailbox: MailboxConfig,
    /// Where the HTTP listener binds, if enabled.
    pub http: Option<SocketAddr>,
}

impl Config {
    /// Parses a config file's text. Syntax errors, unknown keys and wrong
    /// types are reported with the key when the parser names one.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| parse_error(text, &e))
    }

    /// Reads and parses `path` (at most [`MAX_CONFIG_FILE_BYTES`]).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file_key = path.display().to_string();
        let text = crate::fsutil::read_bounded(path, MAX_CONFIG_FILE_BYTES)
            .map_err(|e| ConfigError::new(&file_key, e))?;
        let text = String::from_utf8(text).map_err(|_| ConfigError::new(&file_key, "not UTF-8"))?;
        Self::parse(&text)
    }

    /// Checks every key and returns the typed settings.
    pub fn validate(&self) -> Result<Settings, ConfigError> {
        let n = &self.network;
        if n.listen.is_empty() {
            return Err(ConfigError::new("network.listen", "must not be empty"));
        }
        let listen = parse_addresses("network.listen", &n.listen, MAX_LISTEN_ADDRESSES)?;
        let external_addresses = parse_addresses(
            "network.external_addresses",
            &n.external_addresses,
            MAX_EXTERNAL_ADDRESSES,
        )?;
        if external_addresses
            .iter()
            .any(|a| a.iter().any(|p| matches!(p, Protocol::P2p(_))))
        {
            return Err(ConfigError::new(
                "network.external_addresses",
                "addresses must not end with /p2p/PEER_ID (the relay adds its own)",
            ));
        }
        range(
            "network.idle_connection_timeout_secs",
            n.idle_connection_timeout_secs,
            1,
            MAX_IDLE_CONNECTION_TIMEOUT_SECS,
        )?;
        range(
            "network.max_connections",
            n.max_connections,
            1,
            MAX_MAX_CONNECTIONS,
        )?;
        range(
            "network.max_connections_per_peer",
            n.max_connections_per_peer,
            1,
            MAX_MAX_CONNECTIONS_PER_PEER,
        )?;

        let r = &self.relay;
        range(
            "relay.max_reservations",
            r.max_reservations,
            1,
            MAX_MAX_RESERVATIONS,
        )?;
        range(
            "relay.max_reservations_per_peer",
            r.max_reservations_per_peer,
            1,
            MAX_MAX_RESERVATIONS_PER_PEER,
        )?;
        range(
            "relay.reservation_duration_secs",
            r.reservation_duration_secs,
            MIN_RESERVATION_DURATION_SECS,
            MAX_RESERVATION_DURATION_SECS,
        )?;
        range("relay.max_circuits", r.max_circuits, 1, MAX_MAX_CIRCUITS)?;
        range(
            "relay.max_circuits_per_peer",
            r.max_circuits_per_peer,
            1,
            MAX_MAX_CIRCUITS_PER_PEER,
        )?;
        range(
            "relay.max_circuit_duration_secs",
            r.max_circuit_duration_secs,
            1,
            MAX_MAX_CIRCUIT_DURATION_SECS,
        )?;
        range(
            "relay.max_circuit_bytes",
            r.max_circuit_bytes,
            1,
            MAX_MAX_CIRCUIT_BYTES,
        )?;

        let owner = match self.access.owner.trim() {
            "" => None,
            text => Some(
                text.parse::<PeerId>()
                    .map_err(|e| ConfigError::new("access.owner", format!("not a peer id: {e}")))?,
            ),
        };

        let m = &self.mailbox;
        range(
            "mailbox.max_envelope_bytes",
            m.max_envelope_bytes,
            1,
            MAX_ENVELOPE_BYTES,
        )?;
        range(
            "mailbox.max_messages_per_mailbox",
            m.max_messages_per_mailbox,
            1,
            MAX_MAX_MESSAGES_PER_MAILBOX,
        )?;
        range(
            "mailbox.max_bytes_per_mailbox",
            m.max_bytes_per_mailbox,
            1,
            MAX_MAX_BYTES_PER_MAILBOX,
        )?;
        range(
            "mailbox.max_mailboxes",
            m.max_mailboxes,
            1,
            MAX_MAX_MAILBOXES,
        )?;
        range("mailbox.ttl_secs", m.ttl_secs, MIN_TTL_SECS, MAX_TTL_SECS)?;
        range(
            "mailbox.purge_interval_secs",
            m.purge_interval_secs,
            1,
            MAX_PURGE_INTERVAL_SECS,
        )?;
        range(
            "mailbox.deposit_rate_per_sec",
            m.deposit_rate_per_sec,
            1,
            MAX_DEPOSIT_RATE_PER_SEC,
        )?;
        range(
            "mailbox.deposit_burst",
            m.deposit_burst,
            1,
            MAX_DEPOSIT_BURST,
        )?;

        let http = if self.http.enabled {
            Some(parse_socket_addr("http.listen", &self.http.listen)?)
        } else {
            None
        };

        Ok(Settings {
            listen,
            external_addresses,
            idle_connection_timeout: Duration::from_secs(n.idle_connection_timeout_secs),
            max_connections: n.max_connections,
            max_connections_per_peer: n.max_connections_per_peer,
            relay: r.clone(),
            mode: self.access.mode,
            owner,
            mailbox: m.clone(),
            http,
        })
    }
}

/// Parses `IP:PORT` for `key`.
pub fn parse_socket_addr(key: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.trim()
        .parse()
        .map_err(|_| ConfigError::new(key, format!("not an IP:PORT address: {text:?}")))
}

fn parse_addresses(key: &str, texts: &[String], max: usize) -> Result<Vec<Multiaddr>, ConfigError> {
    if texts.len() > max {
        return Err(ConfigError::new(
            key,
            format!("at most {max} addresses, got {}", texts.len()),
        ));
    }
    texts
        .iter()
        .map(|t| {
            t.trim()
                .parse::<Multiaddr>()
                .map_err(|e| ConfigError::new(key, format!("not a multiaddr: {t:?} ({e})")))
        })
        .collect()
}

fn range<T: PartialOrd + fmt::Display>(
    key: &str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::new(
            key,
            format!("must be between {min} and {max}, got {value}"),
        ));
    }
    Ok(())
}

/// Turns a TOML error into a one-line [`ConfigError`] naming the key: the
/// error's position is mapped back to the `key = value` line (and the
/// `[section]` above it) that it points into.
fn parse_error(text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error.message().trim().replace('\n', " ");
    let key = error
        .span()
        .and_then(|span| key_at(text, span.start))
        .unwrap_or_else(|| "(file)".to_owned());
    ConfigError::new(&key, message)
}

/// The `section.key` (or `section`) of the line holding byte `offset`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..)?.lines().next()?.trim();
    let header = |l: &str| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']'))
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    };
    if let Some(section) = header(line) {
        return Some(section);
    }
    let key = line.split('=').next()?.trim();
    if key.is_empty() {
        return None;
    }
    let section = text.get(..line_start)?.lines().rev().find_map(header);
    Some(match section {
        Some(section) => format!("{section}.{key}"),
        None => key.to_owned(),
    })
}

/// The commented config file `init` writes: every key with its default,
/// and what it means.
pub fn default_config_text(mode: Mode, owner: Option<&PeerId>, external: &[Multiaddr]) -> String {
    let d = Config::default();
    let mode = match mode {
        Mode::Restricted => "restricted",
        Mode::Open => "open",
    };
    let owner = owner.map(ToString::to_string).unwrap_or_default();
    let listen = toml_list(&d.network.listen);
    let external = toml_list(&external.iter().map(ToString::to_string).collect::<Vec<_>>());
    format!(
        r#"# wren-relay configuration. Every key is optional: a missing key takes the
# default shown here. Unknown keys are errors. Durations are in seconds,
# sizes in bytes. Changes take effect when the relay restarts.

[network]
# Multiaddrs to listen on: TCP and QUIC (UDP), IPv4 and IPv6. Open these
# ports in the firewall (TCP and UDP).
listen = {listen}
# Public addresses of this server, without /p2p/ (e.g. "/ip4/203.0.113.7/tcp/{port}"
# and "/ip4/203.0.113.7/udp/{port}/quic-v1", or "/dns4/relay.example.org/tcp/{port}").
# They are advertised to peers and put in the relay code. Empty: the listen
# addresses are advertised. Addresses that peers report seeing are never
# trusted. At most {max_external}.
external_addresses = {external}
# Seconds a connection with no stream, reservation or circuit stays open (1 to {max_idle}).
idle_connection_timeout_secs = {idle}
# Established connections, all peers together (1 to {max_conn}).
max_connections = {conn}
# Established connections with one peer (1 to {max_conn_peer}).
max_connections_per_peer = {conn_peer}

[relay]
# Circuit relay v2: NATed users reserve a slot, others reach them through it
# until hole punching upgrades the connection.
# Reservations held at once (1 to {max_res}).
max_reservations = {res}
# Reservations per peer (1 to {max_res_peer}).
max_reservations_per_peer = {res_peer}
# Seconds before a reservation must be renewed ({min_res_dur} to {max_res_dur}).
reservation_duration_secs = {res_dur}
# Circuits open at once (1 to {max_circ}).
max_circuits = {circ}
# Circuits per peer (1 to {max_circ_peer}).
max_circuits_per_peer = {circ_peer}
# Seconds a circuit may stay open (1 to {max_circ_dur}).
max_circuit_duration_secs = {circ_dur}
# Bytes a circuit may carry, both directions together (1 to {max_circ_bytes}).
max_circuit_bytes = {circ_bytes}

[access]
# "restricted": only the owner and the users they authorise may reserve
# circuits and keep a mailbox; anyone may deposit messages for them.
# "open": anyone may do anything within the limits (for testing only).
mode = "{mode}"
# The owner's peer id (set by `wren-relay init --owner`). The owner may
# authorise users from their Wren node. Empty: no owner; users are managed
# with `wren-relay users` only.
owner = "{owner}"

[mailbox]
# Encrypted messages held for offline users (opaque to the relay).
# Largest envelope stored (1 to {max_env}).
max_envelope_bytes = {env}
# Messages held per recipient (1 to {max_msgs}).
max_messages_per_mailbox = {msgs}
# Envelope bytes held per recipient (1 to {max_bytes}).
max_bytes_per_mailbox = {bytes}
# Non-empty mailboxes (1 to {max_boxes}).
max_mailboxes = {boxes}
# Seconds a message is kept before it is deleted unfetched ({min_ttl} to {max_ttl}).
ttl_secs = {ttl}
# Seconds between purges of expired messages (1 to {max_purge}).
purge_interval_secs = {purge}
# Envelopes per second one depositing peer may send, sustained (1 to {max_rate}).
deposit_rate_per_sec = {rate}
# Envelopes one depositing peer may send in a burst (1 to {max_burst}).
deposit_burst = {burst}

[http]
# Prometheus metrics at /metrics and a status page at /.
enabled = {http_enabled}
# IP:PORT to listen on. Keep it on 127.0.0.1 (or a private network): it is
# not authenticated.
listen = "{http_listen}"
"#,
        port = DEFAULT_PORT,
        max_external = MAX_EXTERNAL_ADDRESSES,
        max_idle = MAX_IDLE_CONNECTION_TIMEOUT_SECS,
        idle = d.network.idle_connection_timeout_secs,
        max_conn = MAX_MAX_CONNECTIONS,
        conn = d.network.max_connections,
        max_conn_peer = MAX_MAX_CONNECTIONS_PER_PEER,
        conn_peer = d.network.max_connections_per_peer,
        max_res = MAX_MAX_RESERVATIONS,
        res = d.relay.max_reservations,
        max_res_peer = MAX_MAX_RESERVATIONS_PER_PEER,
        res_peer = d.relay.max_reservations_per_peer,
        min_res_dur = MIN_RESERVATION_DURATION_SECS,
        max_res_dur = MAX_RESERVATION_DURATION_SECS,
        res_dur = d.relay.reservation_duration_secs,
        max_circ = MAX_MAX_CIRCUITS,
        circ = d.relay.max_circuits,
        max_circ_peer = MAX_MAX_CIRCUITS_PER_PEER,
        circ_peer = d.relay.max_circuits_per_peer,
        max_circ_dur = MAX_MAX_CIRCUIT_DURATION_SECS,
        circ_dur = d.relay.max_circuit_duration_secs,
        max_circ_bytes = MAX_MAX_CIRCUIT_BYTES,
        circ_bytes = d.relay.max_circuit_bytes,
        max_env = MAX_ENVELOPE_BYTES,
        env = d.mailbox.max_envelope_bytes,
        max_msgs = MAX_MAX_MESSAGES_PER_MAILBOX,
        msgs = d.mailbox.max_messages_per_mailbox,
        max_bytes = MAX_MAX_BYTES_PER_MAILBOX,
        bytes = d.mailbox.max_bytes_per_mailbox,
        max_boxes = MAX_MAX_MAILBOXES,
        boxes = d.mailbox.max_mailboxes,
        min_ttl = MIN_TTL_SECS,
        max_ttl = MAX_TTL_SECS,
        ttl = d.mailbox.ttl_secs,
        max_purge = MAX_PURGE_INTERVAL_SECS,
        purge = d.mailbox.purge_interval_secs,
        max_rate = MAX_DEPOSIT_RATE_PER_SEC,
        rate = d.mailbox.deposit_rate_per_sec,
        max_burst = MAX_DEPOSIT_BURST,
        burst = d.mailbox.deposit_burst,
        http_enabled = d.http.enabled,
        http_listen = d.http.listen,
    )
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn with(text: &str) -> Result<Settings, ConfigError> {
        Config::parse(text)?.validate()
    }

    #[test]
    fn the_written_default_is_the_default_and_valid() {
        let text = default_config_text(Mode::Restricted, None, &[]);
        let parsed = Config::parse(&text).unwrap();
        assert_eq!(parsed, Config::default());
        parsed.validate().unwrap();
        // An empty file is the default too.
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn the_example_file_is_what_init_writes() {
        let example = include_str!("../../../assets/relay/config.example.toml");
        assert_eq!(example, default_config_text(Mode::Restricted, None, &[]));
    }

    #[test]
    fn every_key_is_documented_in_the_written_file() {
        let text = default_config_text(Mode::Restricted, None, &[]);
        let value = toml::Value::try_from(Config::default()).unwrap();
        let table = value.as_table().unwrap();
        for (section, keys) in table {
            assert!(text.contains(&format!("[{section}]")), "{section}");
            for key in keys.as_table().unwrap().keys() {
                assert!(text.contains(&format!("\n{key} = ")), "{section}.{key}");
            }
        }
    }

    #[test]
    fn owner_mode_and_external_addresses_are_written() {
        let owner = PeerId::random();
        let ext: Multiaddr = "/ip4/203.0.113.7/tcp/4001".parse().unwrap();
        let text = default_config_text(Mode::Open, Some(&owner), std::slice::from_ref(&ext));
        let settings = Config::parse(&text).unwrap().validate().unwrap();
        assert_eq!(settings.owner, Some(owner));
        assert_eq!(settings.mode, Mode::Open);
        assert_eq!(settings.external_addresses, vec![ext]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("[mailbox]\nmax_envelope = 3\n").unwrap_err();
        assert!(err.to_string().contains("max_envelope"), "{err}");
        let err = Config::parse("[mailboxes]\n").unwrap_err();
        assert!(err.to_string().contains("mailboxes"), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = Config::parse("[network]\n[mailbox]\nttl_secs = \"long\"\n").unwrap_err();
        assert_eq!(err.key, "mailbox.ttl_secs", "{err}");
        let err = Config::parse("[mailbox]\nmax_envelope = 3\n").unwrap_err();
        assert_eq!(err.key, "mailbox.max_envelope", "{err}");
        let err = Config::parse("[access]\nmode = \"closed\"\n").unwrap_err();
        assert_eq!(err.key, "access.mode", "{err}");
        assert!(
            err.to_string().starts_with("config key access.mode: "),
            "{err}"
        );
    }

    #[test]
    fn envelope_size_at_its_limits() {
        let err = with("[mailbox]\nmax_envelope_bytes = 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "config key mailbox.max_envelope_bytes: must be between 1 and 65536, got 0"
        );
        with("[mailbox]\nmax_envelope_bytes = 1\n").unwrap();
        with(&format!(
            "[mailbox]\nmax_envelope_bytes = {MAX_ENVELOPE_BYTES}\n"
        ))
        .unwrap();
        let err = with(&format!(
            "[mailbox]\nmax_envelope_bytes = {}\n",
            MAX_ENVELOPE_BYTES + 1
        ))
        .unwrap_err();
        assert_eq!(err.key, "mailbox.max_envelope_bytes");
    }

    /// Every numeric key at its bounds: the bound itself is accepted, one
    /// past it is refused with the key named.
    #[test]
    fn every_numeric_key_at_its_bounds() {
        let cases: &[(&str, &str, u64, u64)] = &[
            (
                "network",
                "idle_connection_timeout_secs",
                1,
                MAX_IDLE_CONNECTION_TIMEOUT_SECS,
            ),
            (
                "network",
                "max_connections",
                1,
                u64::from(MAX_MAX_CONNECTIONS),
            ),
            (
                "network",
                "max_connections_per_peer",
                1,
                u64::from(MAX_MAX_CONNECTIONS_PER_PEER),
            ),
            ("relay", "max_reservations", 1, MAX_MAX_RESERVATIONS as u64),
            (
                "relay",
                "max_reservations_per_peer",
                1,
                MAX_MAX_RESERVATIONS_PER_PEER as u64,
            ),
            (
                "relay",
                "reservation_duration_secs",
                MIN_RESERVATION_DURATION_SECS,
                MAX_RESERVATION_DURATION_SECS,
            ),
            ("relay", "max_circuits", 1, MAX_MAX_CIRCUITS as u64),
            (
                "relay",
                "max_circuits_per_peer",
                1,
                MAX_MAX_CIRCUITS_PER_PEER as u64,
            ),
            (
                "relay",
                "max_circuit_duration_secs",
                1,
                MAX_MAX_CIRCUIT_DURATION_SECS,
            ),
            ("relay", "max_circuit_bytes", 1, MAX_MAX_CIRCUIT_BYTES),
            (
                "mailbox",
                "max_envelope_bytes",
                1,
                MAX_ENVELOPE_BYTES as u64,
            ),
            (
                "mailbox",
                "max_messages_per_mailbox",
                1,
                MAX_MAX_MESSAGES_PER_MAILBOX,
            ),
            (
                "mailbox",
                "max_bytes_per_mailbox",
                1,
                MAX_MAX_BYTES_PER_MAILBOX,
            ),
            ("mailbox", "max_mailboxes", 1, MAX_MAX_MAILBOXES),
            ("mailbox", "ttl_secs", MIN_TTL_SECS, MAX_TTL_SECS),
            ("mailbox", "purge_interval_secs", 1, MAX_PURGE_INTERVAL_SECS),
            (
                "mailbox",
                "deposit_rate_per_sec",
                1,
                u64::from(MAX_DEPOSIT_RATE_PER_SEC),
            ),
            ("mailbox", "deposit_burst", 1, u64::from(MAX_DEPOSIT_BURST)),
        ];
        for &(section, key, min, max) in cases {
            for ok in [min, max] {
                with(&format!("[{section}]\n{key} = {ok}\n"))
                    .unwrap_or_else(|e| panic!("{section}.{key} = {ok}: {e}"));
            }
            for bad in [min - 1, max + 1] {
                let err = with(&format!("[{section}]\n{key} = {bad}\n")).unwrap_err();
                assert_eq!(err.key, format!("{section}.{key}"), "{err}");
                assert!(err.problem.contains(&format!("got {bad}")), "{err}");
            }
        }
    }

    #[test]
    fn address_lists_at_their_bounds() {
        let list = |n: usize| {
            let items: Vec<String> = (0..n)
                .map(|i| format!("\"/ip4/127.0.0.1/tcp/{}\"", 1000 + i))
                .collect();
            items.join(", ")
        };
        with(&format!(
            "[network]\nlisten = [{}]\n",
            list(MAX_LISTEN_ADDRESSES)
        ))
        .unwrap();
        let err = with(&format!(
            "[network]\nlisten = [{}]\n",
            list(MAX_LISTEN_ADDRESSES + 1)
        ))
        .unwrap_err();
        assert_eq!(err.key, "network.listen");
        let err = with("[network]\nlisten = []\n").unwrap_err();
        assert_eq!(err.key, "network.listen");
        with(&format!(
            "[network]\nexternal_addresses = [{}]\n",
            list(MAX_EXTERNAL_ADDRESSES)
        ))
        .unwrap();
        let err = with(&format!(
            "[network]\nexternal_addresses = [{}]\n",
            list(MAX_EXTERNAL_ADDRESSES + 1)
        ))
        .unwrap_err();
        assert_eq!(err.key, "network.external_addresses");
        let err = with("[network]\nlisten = [\"nonsense\"]\n").unwrap_err();
        assert_eq!(err.key, "network.listen");
    }

    #[test]
    fn external_addresses_must_not_carry_a_peer_id() {
        let peer = PeerId::random();
        let err = with(&format!(
            "[network]\nexternal_addresses = [\"/ip4/1.2.3.4/tcp/1/p2p/{peer}\"]\n"
        ))
        .unwrap_err();
        assert_eq!(err.key, "network.external_addresses");
    }

    #[test]
    fn owner_and_http_are_checked() {
        let err = with("[access]\nowner = \"bob\"\n").unwrap_err();
        assert_eq!(err.key, "access.owner");
        let err = with("[access]\nmode = \"closed\"\n").unwrap_err();
        assert!(err.to_string().contains("mode"), "{err}");
        let err = with("[http]\nlisten = \"localhost\"\n").unwrap_err();
        assert_eq!(err.key, "http.listen");
        let s = with("[http]\nenabled = false\nlisten = \"whatever\"\n").unwrap();
        assert!(s.http.is_none());
    }

    #[test]
    fn config_file_at_its_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let body = "[mailbox]\nttl_secs = 3600\n";
        let pad = MAX_CONFIG_FILE_BYTES as usize - body.len() - 2;
        let text = format!("#{}\n{body}", "x".repeat(pad));
        assert_eq!(text.len() as u64, MAX_CONFIG_FILE_BYTES);
        std::fs::write(&path, &text).unwrap();
        assert_eq!(Config::load(&path).unwrap().mailbox.ttl_secs, 3600);
        std::fs::write(&path, format!("#{text}")).unwrap();
        assert!(Config::load(&path).is_err());
    }
}
