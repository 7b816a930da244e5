//! The running relay: one task owns the libp2p swarm (circuit relay v2
//! server, identify, ping, AutoNAT v2 server, `/wren/mailbox/1` inbound),
//! the store thread holds the mailboxes, and small tasks reload the users
//! file, purge expired messages and serve HTTP.
//!
//! Message flow of a mailbox request: the swarm task checks access and the
//! depositor's rate at once (answering refusals itself), then queues the
//! work for the store thread with `try_send` and keeps the reply future in
//! a bounded set; when the store answers (after the durable commit for
//! writes) the swarm task sends the response. It never waits for the store.
//!
//! Standard output carries the lines documented in docs/relay.md
//! (`peer-id`, `listening`, `relay-code`, `http`, `ready`, `users`,
//! `stopped`), each flushed at once.

use std::collections::HashSet;
use std::future::Future;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use libp2p::core::transport::ListenerId;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, autonat, connection_limits, identify, noise, ping,
    relay, tcp, yamux,
};
use tokio::sync::watch;
use wren_net::mailbox::{
    self, DepositOutcome, MailboxCodec, MailboxRequest, MailboxResponse, RefusalCode,
};
use wren_net::{IDENTIFY_PROTOCOL_VERSION, RelayCode};

use crate::access::{AccessList, SharedAccess, UsersError, UsersFile, read_access, set_users};
use crate::config::Settings;
use crate::limits::{
    MAILBOX_REQUEST_TIMEOUT, MAX_MAILBOX_STREAMS, MAX_PENDING_STORE_REPLIES, MAX_PURGED_PER_COMMIT,
    MAX_RATE_BUCKETS, SHUTDOWN_GRACE, USERS_RELOAD_INTERVAL,
};
use crate::metrics::{Metrics, saturating_i64};
use crate::rate::DepositRate;
use crate::store::{self, Quotas, Slot, StoreHandle};
use crate::{http, stdout_line};

/// The relay's identify agent version.
pub const AGENT_VERSION: &str = concat!("wren-relay/", env!("CARGO_PKG_VERSION"));

/// Reservations per peer per interval, on top of the access check (the
/// libp2p defaults: 30 at once, one more every 2 minutes).
const RESERVATION_RATE_PER_PEER: (u32, Duration) = (30, Duration::from_secs(120));
/// Circuits a source peer may open: 60 at once, one more every 30 s.
const CIRCUIT_RATE_PER_PEER: (u32, Duration) = (60, Duration::from_secs(30));

/// Every protocol the relay speaks.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    limits: connection_limits::Behaviour,
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    autonat: autonat::v2::server::Behaviour,
    mailbox: request_response::Behaviour<MailboxCodec>,
}

/// What the status page shows besides the metrics.
#[derive(Debug)]
pub struct Status {
    /// The relay's peer id.
    pub peer_id: PeerId,
    /// Access mode and owner.
    pub access: SharedAccess,
    /// Advertised addresses (with `/p2p/`).
    pub addresses: Mutex<Vec<Multiaddr>>,
    /// The relay code, once known.
    pub relay_code: Mutex<Option<String>>,
    /// When the relay started.
    pub started: Instant,
}

/// Runs the relay until `shutdown` resolves, then stops gracefully.
pub async fn run(
    dir: PathBuf,
    keypair: Keypair,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let peer_id = keypair.public().to_peer_id();
    let metrics = Arc::new(Metrics::new());
    let users_file = UsersFile::new(&dir);
    let quotas = Quotas {
        max_messages: settings.mailbox.max_messages_per_mailbox,
        max_bytes: settings.mailbox.max_bytes_per_mailbox,
        max_mailboxes: settings.mailbox.max_mailboxes,
    };
    // Opening redb (a write transaction and an fsync) and reading the users
    // file block: not on the async executor.
    let (users, (store, store_thread)) = {
        let (file, dir, metrics) = (users_file.clone(), dir.clone(), metrics.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            file.create_if_missing()?;
            let users = file.read()?;
            Ok((users, store::spawn(&dir, quotas, metrics)?))
        })
        .await
        .context("the start-up task failed")??
    };
    metrics.users.set(saturating_i64(users.len() as u64));
    let access: SharedAccess = Arc::new(RwLock::new(AccessList {
        mode: settings.mode,
        owner: settings.owner,
        users: users.iter().copied().collect(),
    }));
    let mut swarm = build_swarm(keypair, &settings, access.clone())?;

    stdout_line(&format!("peer-id {peer_id}"));
    let mut listeners: HashSet<ListenerId> = HashSet::new();
    for addr in &settings.listen {
        let id = swarm
            .listen_on(addr.clone())
            .with_context(|| format!("cannot listen on {addr}"))?;
        listeners.insert(id);
    }
    for addr in &settings.external_addresses {
        swarm.add_external_address(addr.clone());
    }

    let status = Arc::new(Status {
        peer_id,
        access: access.clone(),
        addresses: Mutex::new(Vec::new()),
        relay_code: Mutex::new(None),
        started: Instant::now(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    if let Some(addr) = settings.http {
        let bound = http::spawn(addr, metrics.clone(), status.clone(), stop_rx.clone())
            .await
            .with_context(|| format!("cannot serve HTTP on {addr}"))?;
        stdout_line(&format!("http {bound}"));
    }
    tokio::spawn(reload_users(
        users_file.clone(),
        access.clone(),
        metrics.clone(),
        stop_rx.clone(),
    ));
    tokio::spawn(purge_loop(
        store.clone(),
        Duration::from_secs(settings.mailbox.purge_interval_secs),
        settings.mailbox.ttl_secs,
        stop_rx.clone(),
    ));

    let mut relay = Relay {
        swarm,
        peer_id,
        settings,
        access,
        users_file,
        store,
        metrics,
        status,
        rate: DepositRate::new(0, 0, 0),
        pending: FuturesUnordered::new(),
        listener_ids: listeners.iter().copied().collect(),
        listeners_waiting: listeners,
        advertised: Vec::new(),
        ready: false,
        stopping: false,
    };
    relay.rate = DepositRate::new(
        relay.settings.mailbox.deposit_rate_per_sec,
        relay.settings.mailbox.deposit_burst,
        MAX_RATE_BUCKETS,
    );
    relay.run(shutdown).await;
    let _ = stop_tx.send(true);
    let Relay { swarm, store, .. } = relay;
    drop(swarm);
    drop(store);
    // The purge task holds a handle until it sees the stop signal; the
    // thread ends once every handle is gone and its queue is drained.
    let joined = tokio::task::spawn_blocking(move || store_thread.join()).await;
    if !matches!(joined, Ok(Ok(()))) {
        tracing::error!("the store thread ended abnormally");
    }
    stdout_line("stopped");
    Ok(())
}

fn build_swarm(
    keypair: Keypair,
    settings: &Settings,
    access: SharedAccess,
) -> anyhow::Result<Swarm<Behaviour>> {
    let relay_config = relay_config(settings, access);
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(settings.max_connections))
        .with_max_established_per_peer(Some(settings.max_connections_per_peer));
    let rr_config = request_response::Config::default()
        .with_request_timeout(MAILBOX_REQUEST_TIMEOUT)
        .with_max_concurrent_streams(MAX_MAILBOX_STREAMS);
    let idle = settings.idle_connection_timeout;
    // With configured external addresses, peers learn only those: the
    // interface addresses behind them (private networks) stay private.
    let hide_listen_addrs = !settings.external_addresses.is_empty();
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_quic()
        .with_dns()?
        .with_behaviour(|key| Behaviour {
            limits: connection_limits::Behaviour::new(limits),
            relay: relay::Behaviour::new(key.public().to_peer_id(), relay_config),
            identify: identify::Behaviour::new(
                identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), key.public())
                    .with_agent_version(AGENT_VERSION.to_owned())
                    .with_hide_listen_addrs(hide_listen_addrs),
            ),
            ping: ping::Behaviour::new(ping::Config::new()),
            autonat: autonat::v2::server::Behaviour::default(),
            mailbox: request_response::Behaviour::with_codec(
                MailboxCodec,
                [(mailbox::PROTOCOL, ProtocolSupport::Inbound)],
                rr_config,
            ),
        })?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

/// The circuit relay configuration: the configured limits, and a
/// reservation gate: a [`relay::RateLimiter`] that consults the shared
/// access list, so a reservation from a peer that is neither the owner nor
/// a user is refused (the client sees the HOP status
/// `RESOURCE_LIMIT_EXCEEDED`), and users added while the relay runs can
/// reserve at once.
fn relay_config(settings: &Settings, access: SharedAccess) -> relay::Config {
    let r = &settings.relay;
    let gate = move |peer: PeerId, _addr: &Multiaddr, _now| {
        read_access(&access, |a| a.is_authorised(&peer))
    };
    let config = relay::Config {
        max_reservations: r.max_reservations,
        max_reservations_per_peer: r.max_reservations_per_peer,
        reservation_duration: Duration::from_secs(r.reservation_duration_secs),
        reservation_rate_limiters: vec![Box::new(gate)],
        max_circuits: r.max_circuits,
        max_circuits_per_peer: r.max_circuits_per_peer,
        max_circuit_duration: Duration::from_secs(r.max_circuit_duration_secs),
        max_circuit_bytes: r.max_circuit_bytes,
        circuit_src_rate_limiters: Vec::new(),
    };
    let (limit, every) = RESERVATION_RATE_PER_PEER;
    let (climit, cevery) = CIRCUIT_RATE_PER_PEER;
    match (NonZeroU32::new(limit), NonZeroU32::new(climit)) {
        (Some(limit), Some(climit)) => config
            .reservation_rate_per_peer(limit, every)
            .circuit_src_per_peer(climit, cevery),
        _ => config,
    }
}

type Answer =
    Pin<Box<dyn Future<Output = (ResponseChannel<MailboxResponse>, MailboxResponse)> + Send>>;

struct Relay {
    swarm: Swarm<Behaviour>,
    peer_id: PeerId,
    settings: Settings,
    access: SharedAccess,
    users_file: UsersFile,
    store: StoreHandle,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    rate: DepositRate,
    pending: FuturesUnordered<Answer>,
    listener_ids: Vec<ListenerId>,
    listeners_waiting: HashSet<ListenerId>,
    advertised: Vec<Multiaddr>,
    ready: bool,
    stopping: bool,
}

impl Relay {
    async fn run(&mut self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown, if !self.stopping => break,
                Some((channel, response)) = self.pending.next(), if !self.pending.is_empty() => {
                    self.respond(channel, response);
                }
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
        // Graceful stop: no new connections; answer what is in flight.
        self.stopping = true;
        tracing::info!(pending = self.pending.len(), "shutting down");
        for id in std::mem::take(&mut self.listener_ids) {
            self.swarm.remove_listener(id);
        }
        let deadline = tokio::time::sleep(SHUTDOWN_GRACE);
        let mut deadline = std::pin::pin!(deadline);
        while !self.pending.is_empty() {
            tokio::select! {
                () = &mut deadline => break,
                Some((channel, response)) = self.pending.next() => self.respond(channel, response),
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
        // Let the last responses reach the wire.
        let flush = tokio::time::sleep(Duration::from_millis(100));
        let mut flush = std::pin::pin!(flush);
        loop {
            tokio::select! {
                () = &mut flush => break,
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
    }

    fn respond(&mut self, channel: ResponseChannel<MailboxResponse>, response: MailboxResponse) {
        if let MailboxResponse::Refused(code) = response {
            self.metrics.refused(code);
        }
        if self
            .swarm
            .behaviour_mut()
            .mailbox
            .send_response(channel, response)
            .is_err()
        {
            tracing::debug!("mailbox requester went away before the response");
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => self.on_listen_addr(listener_id, address),
            SwarmEvent::ExpiredListenAddr { address, .. }
                if self.settings.external_addresses.is_empty() =>
            {
                self.swarm.remove_external_address(&address);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason: Err(e),
                ..
            } => {
                tracing::warn!(?listener_id, error = %e, "listener closed");
            }
            SwarmEvent::ConnectionEstablished { .. } => {
                self.metrics.connections.inc();
                self.metrics.connections_opened.inc();
            }
            SwarmEvent::ConnectionClosed { .. } => {
                self.metrics.connections.dec();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => self.on_relay(event),
            SwarmEvent::Behaviour(BehaviourEvent::Mailbox(event)) => self.on_mailbox(event),
            // Observed addresses reported by peers (identify) are candidates
            // only: never confirmed, never advertised.
            SwarmEvent::NewExternalAddrCandidate { .. } => {}
            _ => {}
        }
    }

    fn on_listen_addr(&mut self, listener_id: ListenerId, address: Multiaddr) {
        let with_peer = address.clone().with(Protocol::P2p(self.peer_id));
        stdout_line(&format!("listening {with_peer}"));
        if self.settings.external_addresses.is_empty() {
            self.swarm.add_external_address(address.clone());
            if self.advertised.len() < crate::limits::MAX_EXTERNAL_ADDRESSES {
                self.advertised.push(address);
            }
        }
        if let Ok(mut addrs) = self.status.addresses.lock() {
            addrs.push(with_peer);
        }
        self.listeners_waiting.remove(&listener_id);
        if self.listeners_waiting.is_empty() && !self.ready {
            self.ready = true;
            let addrs = if self.settings.external_addresses.is_empty() {
                self.advertised.clone()
            } else {
                self.settings.external_addresses.clone()
            };
            match RelayCode::new(self.peer_id, addrs) {
                Ok(code) => {
                    let code = code.to_string();
                    stdout_line(&format!("relay-code {code}"));
                    if let Ok(mut slot) = self.status.relay_code.lock() {
                        *slot = Some(code);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "no relay code for these addresses"),
            }
            stdout_line("ready");
        }
    }

    fn on_relay(&mut self, event: relay::Event) {
        #[allow(deprecated)]
        match event {
            relay::Event::ReservationReqAccepted { renewed, .. } => {
                self.metrics.reservations_accepted.inc();
                if !renewed {
                    self.metrics.reservations.inc();
                }
            }
            relay::Event::ReservationReqDenied {
                src_peer_id,
                status,
            } => {
                tracing::info!(peer = %src_peer_id, ?status, "reservation refused");
                self.metrics.reservations_denied.inc();
            }
            relay::Event::ReservationClosed { .. } | relay::Event::ReservationTimedOut { .. } => {
                self.metrics.reservations.dec();
            }
            relay::Event::CircuitReqAccepted { .. } => {
                self.metrics.circuits_accepted.inc();
                self.metrics.circuits.inc();
            }
            relay::Event::CircuitReqDenied { .. } => {
                self.metrics.circuits_denied.inc();
            }
            relay::Event::CircuitClosed { .. } => {
                self.metrics.circuits.dec();
            }
            _ => {}
        }
    }

    fn on_mailbox(&mut self, event: request_response::Event<MailboxRequest, MailboxResponse>) {
        match event {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.on_request(peer, request, channel),
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "mailbox request failed");
                if matches!(error, request_response::InboundFailure::Io(_)) {
                    // Undecodable or oversized frames end here.
                    self.metrics.refused(RefusalCode::BadRequest);
                }
            }
            _ => {}
        }
    }

    fn on_request(
        &mut self,
        peer: PeerId,
        request: MailboxRequest,
        channel: ResponseChannel<MailboxResponse>,
    ) {
        if self.stopping {
            return self.respond(channel, MailboxResponse::Refused(RefusalCode::Unavailable));
        }
        if self.pending.len() >= MAX_PENDING_STORE_REPLIES {
            return self.respond(channel, MailboxResponse::Refused(RefusalCode::Unavailable));
        }
        match request {
            MailboxRequest::Deposit {
                recipient,
                envelopes,
            } => self.on_deposit(peer, recipient, envelopes, channel),
            MailboxRequest::Fetch { after, limit } => {
                if !self.authorised(&peer) {
                    return self
                        .respond(channel, MailboxResponse::Refused(RefusalCode::NotAllowed));
                }
                match self.store.fetch(peer, after, limit) {
                    Ok(rx) => self.pending.push(Box::pin(async move {
                        let response = match rx.await {
                            Ok(Ok(page)) => MailboxResponse::Page {
                                items: page.items,
                                more: page.more,
                            },
                            _ => MailboxResponse::Refused(RefusalCode::Unavailable),
                        };
                        (channel, response)
                    })),
                    Err(_) => {
                        self.respond(channel, MailboxResponse::Refused(RefusalCode::Unavailable))
                    }
                }
            }
            MailboxRequest::Ack { up_to } => {
                if !self.authorised(&peer) {
                    return self
                        .respond(channel, MailboxResponse::Refused(RefusalCode::NotAllowed));
                }
                match self.store.ack(peer, up_to) {
                    Ok(rx) => self.pending.push(Box::pin(async move {
                        let response = match rx.await {
                            Ok(Ok(removed)) => MailboxResponse::Acked { removed },
                            _ => MailboxResponse::Refused(RefusalCode::Unavailable),
                        };
                        (channel, response)
                    })),
                    Err(_) => {
                        self.respond(channel, MailboxResponse::Refused(RefusalCode::Unavailable))
                    }
                }
            }
            MailboxRequest::UsersList => {
                if !self.is_owner(&peer) {
                    return self
                        .respond(channel, MailboxResponse::Refused(RefusalCode::NotAllowed));
                }
                let mut users: Vec<PeerId> =
                    read_access(&self.access, |a| a.users.iter().copied().collect());
                users.sort();
                self.respond(channel, MailboxResponse::Users(users));
            }
            MailboxRequest::UsersAdd { user } => self.on_users_change(peer, user, true, channel),
            MailboxRequest::UsersRemove { user } => {
                self.on_users_change(peer, user, false, channel)
            }
        }
    }

    fn authorised(&self, peer: &PeerId) -> bool {
        read_access(&self.access, |a| a.is_authorised(peer))
    }

    fn is_owner(&self, peer: &PeerId) -> bool {
        read_access(&self.access, |a| a.is_owner(peer))
    }

    fn on_deposit(
        &mut self,
        depositor: PeerId,
        recipient: PeerId,
        envelopes: Vec<Vec<u8>>,
        channel: ResponseChannel<MailboxResponse>,
    ) {
        if !self.authorised(&recipient) {
            return self.respond(channel, MailboxResponse::Refused(RefusalCode::NotAllowed));
        }
        let max = self.settings.mailbox.max_envelope_bytes;
        let fitting = envelopes.iter().filter(|e| e.len() <= max).count();
        let mut tokens = self.rate.take(depositor, fitting, Instant::now());
        let slots: Vec<Slot> = envelopes
            .into_iter()
            .map(|e| {
                if e.len() > max {
                    Slot::Refused(RefusalCode::TooLarge)
                } else if tokens == 0 {
                    Slot::Refused(RefusalCode::RateLimited)
                } else {
                    tokens -= 1;
                    Slot::Store(e)
                }
            })
            .collect();
        if slots.iter().all(|s| matches!(s, Slot::Refused(_))) {
            let outcomes: Vec<DepositOutcome> = slots
                .iter()
                .filter_map(|s| match s {
                    Slot::Refused(code) => Some(DepositOutcome::Refused(*code)),
                    Slot::Store(_) => None,
                })
                .collect();
            for o in &outcomes {
                self.metrics.count_outcome(*o);
            }
            return self.respond(channel, MailboxResponse::Deposited(outcomes));
        }
        match self.store.deposit(recipient, depositor, slots, unix_now()) {
            Ok(rx) => self.pending.push(Box::pin(async move {
                let response = match rx.await {
                    Ok(Ok(outcomes)) => MailboxResponse::Deposited(outcomes),
                    _ => MailboxResponse::Refused(RefusalCode::Unavailable),
                };
                (channel, response)
            })),
            Err(_) => self.respond(channel, MailboxResponse::Refused(RefusalCode::Unavailable)),
        }
    }

    fn on_users_change(
        &mut self,
        peer: PeerId,
        user: PeerId,
        add: bool,
        channel: ResponseChannel<MailboxResponse>,
    ) {
        if !self.is_owner(&peer) {
            return self.respond(channel, MailboxResponse::Refused(RefusalCode::NotAllowed));
        }
        let file = self.users_file.clone();
        let access = self.access.clone();
        let metrics = self.metrics.clone();
        self.pending.push(Box::pin(async move {
            let edited = tokio::task::spawn_blocking(move || {
                let result = if add {
                    file.add(user)
                } else {
                    file.remove(&user)
                };
                result.and_then(|_| file.read())
            })
            .await;
            let response = match edited {
                Ok(Ok(users)) => {
                    set_users(&access, &users);
                    metrics.users.set(saturating_i64(users.len() as u64));
                    MailboxResponse::Done
                }
                Ok(Err(UsersError::TooMany { .. })) => {
                    MailboxResponse::Refused(RefusalCode::QuotaExceeded)
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "users file edit failed");
                    MailboxResponse::Refused(RefusalCode::Unavailable)
                }
                Err(_) => MailboxResponse::Refused(RefusalCode::Unavailable),
            };
            (channel, response)
        }));
    }
}

/// Reloads the users file when it changes (checked every
/// [`USERS_RELOAD_INTERVAL`]) or on SIGHUP, and prints `users N`.
async fn reload_users(
    file: UsersFile,
    access: SharedAccess,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut hup = hangup_signal();
    let mut stamp = file.stamp();
    let mut tick = tokio::time::interval(USERS_RELOAD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let forced = tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => false,
            () = next_hangup(&mut hup) => true,
        };
        let now = file.stamp();
        if !forced && now == stamp {
            continue;
        }
        stamp = now;
        let reader = file.clone();
        match tokio::task::spawn_blocking(move || reader.read()).await {
            Ok(Ok(users)) => {
                set_users(&access, &users);
                metrics.users.set(saturating_i64(users.len() as u64));
                tracing::info!(users = users.len(), "users reloaded");
                stdout_line(&format!("users {}", users.len()));
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "users file not reloaded; keeping the previous users")
            }
            Err(_) => {}
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

fn hangup_signal() -> Hangup {
    #[cfg(unix)]
    {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
    }
}

async fn next_hangup(hup: &mut Hangup) {
    #[cfg(unix)]
    if let Some(signal) = hup
        && signal.recv().await.is_some()
    {
        return;
    }
    let _ = hup;
    std::future::pending::<()>().await;
}

/// Purges expired messages every `interval`.
async fn purge_loop(
    store: StoreHandle,
    interval: Duration,
    ttl_secs: u64,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        loop {
            let cutoff = unix_now().saturating_sub(ttl_secs);
            let Ok(rx) = store.purge(cutoff) else { break };
            match rx.await {
                Ok(Ok(removed)) => {
                    if removed > 0 {
                        tracing::info!(removed, "expired messages purged");
                    }
                    if removed < MAX_PURGED_PER_COMMIT as u64 {
                        break;
                    }
                }
                _ => break,
            }
        }
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
