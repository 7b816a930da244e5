//! Round trip of one 100-byte envelope over `/wren/dm/1` between two Wren
//! nodes in one process, next to a bare libp2p request-response echo over
//! the same transports (the baseline): what the swarm task, the channels
//! and the engine's answer cost on top of libp2p.
//!
//! `cargo bench -p wren-net --bench dm_rtt`; `WREN_BENCH_ITERS` sets the
//! number of measured round trips (default 2000). Prints p50 and p99.

use std::io;
use std::time::{Duration, Instant};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux};
use wren_net::{Ack, Keypair, NetConfig, NetEvent};

const WARM_UP: usize = 200;
const ENVELOPE_BYTES: usize = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let iterations = std::env::var("WREN_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!("round trip of one {ENVELOPE_BYTES}-byte message, {iterations} iterations");
        for (name, listen) in [
            ("tcp ", "/ip4/127.0.0.1/tcp/0"),
            ("quic", "/ip4/127.0.0.1/udp/0/quic-v1"),
        ] {
            let listen: Multiaddr = listen.parse()?;
            let raw = raw_echo(listen.clone(), iterations).await?;
            let wren = wren_dm(listen, iterations).await?;
            report(&format!("{name} libp2p request-response echo"), raw);
            report(&format!("{name} wren-net send_direct         "), wren);
        }
        Ok(())
    })
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1));
        samples.get(i).copied().unwrap_or_default()
    };
    println!(
        "{name}  p50 {:>7.1} µs  p99 {:>7.1} µs",
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6
    );
}

/// Two Wren nodes; the receiving engine acknowledges every envelope.
async fn wren_dm(
    listen: Multiaddr,
    iterations: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let node = |listen: &Multiaddr| {
        let mut config = NetConfig::new(Keypair::generate_ed25519());
        config.listen = vec![listen.clone()];
        config.mdns = false;
        wren_net::spawn(config)
    };
    let (a, _a_events) = node(&listen)?;
    let (b, mut b_events) = node(&listen)?;
    let b_addr = loop {
        match b_events.recv().await {
            Some(NetEvent::Listening { addr }) => break addr,
            Some(_) => {}
            None => return Err("node b stopped".into()),
        }
    };
    a.add_addresses(b.local_peer_id(), vec![b_addr]).await?;
    let engine = {
        let b = b.clone();
        tokio::spawn(async move {
            while let Some(event) = b_events.recv().await {
                if let NetEvent::DirectRequest {
                    envelopes, reply, ..
                } = event
                {
                    let _ = b
                        .respond_direct(reply, vec![Ack::Stored; envelopes.len()])
                        .await;
                }
            }
        })
    };
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..WARM_UP + iterations {
        let start = Instant::now();
        a.send_direct(b.local_peer_id(), vec![vec![0xAB; ENVELOPE_BYTES]])
            .await?;
        if i >= WARM_UP {
            samples.push(start.elapsed());
        }
    }
    a.shutdown().await?;
    b.shutdown().await?;
    engine.abort();
    Ok(samples)
}

/// A bare request-response behaviour echoing length-prefixed bytes, over
/// the same transport configuration as Wren's swarm.
async fn raw_echo(
    listen: Multiaddr,
    iterations: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut server = raw_swarm()?;
    let mut client = raw_swarm()?;
    server.listen_on(listen)?;
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
            break address;
        }
    };
    client.add_peer_address(*server.local_peer_id(), addr);
    let server_id = *server.local_peer_id();
    let serving = tokio::spawn(async move {
        loop {
            if let SwarmEvent::Behaviour(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            }) = server.select_next_some().await
            {
                let _ = server.behaviour_mut().send_response(channel, request);
            }
        }
    });
    let mut samples = Vec::with_capacity(iterations);
    for i in 0..WARM_UP + iterations {
        let start = Instant::now();
        client
            .behaviour_mut()
            .send_request(&server_id, vec![0xAB; ENVELOPE_BYTES]);
        loop {
            match client.select_next_some().await {
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message: request_response::Message::Response { .. },
                    ..
                }) => break,
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    error, ..
                }) => return Err(error.into()),
                _ => {}
            }
        }
        if i >= WARM_UP {
            samples.push(start.elapsed());
        }
    }
    serving.abort();
    Ok(samples)
}

fn raw_swarm() -> Result<Swarm<request_response::Behaviour<EchoCodec>>, Box<dyn std::error::Error>>
{
    Ok(
        SwarmBuilder::with_existing_identity(Keypair::generate_ed25519())
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )?
            .with_quic()
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    EchoCodec,
                    [(StreamProtocol::new("/echo/1"), ProtocolSupport::Full)],
                    request_response::Config::default(),
                )
            })?
            .with_swarm_config(|c| {
                // The same lazy negotiation as Wren's swarm (protocol §T2).
                c.with_idle_connection_timeout(Duration::from_secs(60))
                    .with_substream_upgrade_protocol_override(
                        libp2p::core::upgrade::Version::V1Lazy,
                    )
            })
            .build(),
    )
}

/// Length-prefixed bytes both ways.
#[derive(Clone, Copy, Default)]
struct EchoCodec;

async fn read_bytes<T: AsyncRead + Unpin + Send>(io: &mut T) -> io::Result<Vec<u8>> {
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix) as usize;
    if len > 1 << 20 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "too large"));
    }
    let mut bytes = vec![0u8; len];
    io.read_exact(&mut bytes).await?;
    Ok(bytes)
}

async fn write_bytes<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.flush().await
}

impl request_response::Codec for EchoCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bytes(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_bytes(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_bytes(io, &request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_bytes(io, &response).await
    }
}
