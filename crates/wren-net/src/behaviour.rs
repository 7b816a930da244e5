//! The composed libp2p behaviour and the swarm built from it.
//!
//! Transports: TCP and QUIC, with DNS resolution and the circuit relay v2
//! client; TCP and relayed connections are secured with Noise and
//! multiplexed with Yamux (QUIC brings its own TLS 1.3 and streams).

use libp2p::identity::Keypair;
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    Swarm, SwarmBuilder, autonat, dcutr, gossipsub, identify, mdns, noise, ping, relay,
    request_response, tcp, yamux,
};

use crate::bundle::{self, BundleCodec};
use crate::config::{AGENT_VERSION, IDENTIFY_PROTOCOL_VERSION, NetConfig};
use crate::dm::{self, DmCodec};
use crate::error::NetError;
use crate::limits::{
    GOSSIP_GOSSIP_THRESHOLD, GOSSIP_GRAYLIST_THRESHOLD, GOSSIP_INVALID_MESSAGE_DECAY,
    GOSSIP_INVALID_MESSAGE_WEIGHT, GOSSIP_PUBLISH_THRESHOLD, MAX_CONCURRENT_STREAMS,
    MAX_GOSSIP_TRANSMIT_BYTES,
};
use crate::mailbox::{self, MailboxCodec};

/// Every protocol a Wren node speaks.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// `/wren/dm/1`: batches of envelopes.
    pub(crate) dm: request_response::Behaviour<DmCodec>,
    /// `/wren/bundle/1`: prekey bundles.
    pub(crate) bundle: request_response::Behaviour<BundleCodec>,
    /// `/wren/mailbox/1`, client side only: deposits and fetches on relays.
    pub(crate) mailbox: request_response::Behaviour<MailboxCodec>,
    /// Group messages, validated by the engine before forwarding.
    pub(crate) gossipsub: gossipsub::Behaviour,
    /// Tells peers who we are and learns their listen addresses.
    pub(crate) identify: identify::Behaviour,
    /// Liveness and round-trip times.
    pub(crate) ping: ping::Behaviour,
    /// Local network discovery, when enabled.
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
    /// Learns whether our addresses are reachable from outside.
    pub(crate) autonat: autonat::v2::client::Behaviour,
    /// Reaches peers through circuit relays.
    pub(crate) relay_client: relay::client::Behaviour,
    /// Upgrades relayed connections to direct ones (hole punching).
    pub(crate) dcutr: dcutr::Behaviour,
}

/// Builds the swarm for `config`.
pub(crate) fn build_swarm(config: &NetConfig) -> Result<Swarm<Behaviour>, NetError> {
    let request_response_config = request_response::Config::default()
        .with_request_timeout(config.request_timeout)
        .with_max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    let mdns_enabled = config.mdns;
    let swarm = SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(build_error)?
        .with_quic()
        .with_dns()
        .map_err(build_error)?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(build_error)?
        .with_behaviour(|key, relay_client| {
            make_behaviour(key, relay_client, request_response_config, mdns_enabled)
        })
        .map_err(build_error)?
        .with_swarm_config(|c| {
            // Lazy negotiation: an outbound stream's first bytes follow the
            // protocol proposal at once instead of waiting a round trip for
            // the listener's confirmation. Wren opens a stream per direct
            // batch, so this takes one network round trip off every
            // message's way to the contact (see docs/benchmarks.md). Safe
            // because a peer that does not speak the protocol still answers
            // "not available", which fails the stream as before; the
            // listener side is unchanged (docs/protocol.md §T2).
            c.with_idle_connection_timeout(config.idle_timeout)
                .with_substream_upgrade_protocol_override(libp2p::core::upgrade::Version::V1Lazy)
        })
        .build();
    Ok(swarm)
}

fn make_behaviour(
    key: &Keypair,
    relay_client: relay::client::Behaviour,
    request_response_config: request_response::Config,
    mdns_enabled: bool,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let local_peer_id = key.public().to_peer_id();
    let mdns = if mdns_enabled {
        Some(mdns::tokio::Behaviour::new(
            mdns::Config::default(),
            local_peer_id,
        )?)
    } else {
        None
    };
    Ok(Behaviour {
        dm: request_response::Behaviour::with_codec(
            DmCodec,
            [(dm::PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response_config.clone(),
        ),
        bundle: request_response::Behaviour::with_codec(
            BundleCodec,
            [(bundle::PROTOCOL, request_response::ProtocolSupport::Full)],
            request_response_config.clone(),
        ),
        mailbox: request_response::Behaviour::with_codec(
            MailboxCodec,
            [(
                mailbox::PROTOCOL,
                request_response::ProtocolSupport::Outbound,
            )],
            request_response_config,
        ),
        gossipsub: gossipsub_behaviour()?,
        identify: identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), key.public())
                .with_agent_version(AGENT_VERSION.to_owned()),
        ),
        ping: ping::Behaviour::new(ping::Config::new()),
        mdns: Toggle::from(mdns),
        autonat: autonat::v2::client::Behaviour::default(),
        relay_client,
        dcutr: dcutr::Behaviour::new(local_peer_id),
    })
}

/// Gossipsub for groups (docs/protocol.md §G8): unsigned messages
/// (`Anonymous` authenticity and validation: a group message is already
/// signed by its sender's chain key, so gossipsub carries no author, no
/// sequence number and no second signature), content-hash message ids
/// (wren-proto's [`group_message_id`]), every message held back until the
/// engine validated it, and peer scoring.
fn gossipsub_behaviour() -> Result<gossipsub::Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|message| gossipsub::MessageId::new(&group_message_id(&message.data)))
        .max_transmit_size(MAX_GOSSIP_TRANSMIT_BYTES)
        .build()?;
    let mut behaviour =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)?;
    behaviour.with_peer_score(peer_score_params(), peer_score_thresholds())?;
    Ok(behaviour)
}

/// Peer scoring for the whole behaviour. Wren's topics carry chat traffic:
/// a quiet group delivers few messages, so the delivery-rate penalties
/// (P3, P3b) that suit busy topics are off (see [`topic_score_params`]);
/// what counts is a peer forwarding messages the engine rejected (P4)
/// and gossipsub's own behaviour penalties. Loopback is exempt from the
/// same-address penalty (P6): several local nodes are normal in tests and
/// on one machine.
fn peer_score_params() -> gossipsub::PeerScoreParams {
    let mut params = gossipsub::PeerScoreParams::default();
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    params
        .ip_colocation_factor_whitelist
        .insert(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST));
    params
}

/// Score thresholds: below [`GOSSIP_GOSSIP_THRESHOLD`] a peer gets no
/// gossip from us, below [`GOSSIP_PUBLISH_THRESHOLD`] none of our
/// publications, below [`GOSSIP_GRAYLIST_THRESHOLD`] its messages are
/// ignored.
fn peer_score_thresholds() -> gossipsub::PeerScoreThresholds {
    gossipsub::PeerScoreThresholds {
        gossip_threshold: GOSSIP_GOSSIP_THRESHOLD,
        publish_threshold: GOSSIP_PUBLISH_THRESHOLD,
        graylist_threshold: GOSSIP_GRAYLIST_THRESHOLD,
        ..gossipsub::PeerScoreThresholds::default()
    }
}

/// The score parameters of one group topic, set when subscribing: time in
/// the mesh and first deliveries count a little in a peer's favour, every
/// message it forwarded that the engine rejected counts heavily against it
/// (squared, decaying slowly), and the delivery-rate penalties are off.
pub(crate) fn topic_score_params() -> gossipsub::TopicScoreParams {
    gossipsub::TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: std::time::Duration::from_secs(1),
        time_in_mesh_cap: 100.0,
        first_message_deliveries_weight: 0.1,
        first_message_deliveries_cap: 100.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: GOSSIP_INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: GOSSIP_INVALID_MESSAGE_DECAY,
        ..gossipsub::TopicScoreParams::default()
    }
}

/// A group message's id: the SHA-256 of its data, computed by wren-proto
/// so that every path names a message the same way.
pub(crate) use wren_proto::group::group_message_id;

fn build_error(error: impl std::fmt::Display) -> NetError {
    NetError::Build(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_parameters_are_valid_and_three_rejections_graylist() {
        peer_score_params().validate().unwrap();
        peer_score_thresholds().validate().unwrap();
        topic_score_params().validate().unwrap();
        let penalty = |rejected: f64| rejected * rejected * GOSSIP_INVALID_MESSAGE_WEIGHT;
        assert!(penalty(1.0) <= GOSSIP_GOSSIP_THRESHOLD);
        assert!(penalty(2.0) > GOSSIP_PUBLISH_THRESHOLD);
        assert!(penalty(3.0) < GOSSIP_GRAYLIST_THRESHOLD);
    }
}
