//! `wren-relay`: run a Wren relay on a server. Commands, flags and the
//! lines printed on standard output are a public interface, documented in
//! docs/relay.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use clap::{Parser, Subcommand};
use libp2p::{Multiaddr, PeerId};
use wren_net::RelayCode;
use wren_relay::access::{UsersFile, parse_user};
use wren_relay::config::{self, Config, Mode};
use wren_relay::{keyfile, server, stdout_line};

/// The config file's name inside the relay directory.
const CONFIG_FILE: &str = "config.toml";

/// Wren's headless relay: circuit relay for NATed peers and mailboxes for
/// offline ones.
#[derive(Debug, Parser)]
#[command(name = "wren-relay", version, about)]
struct Args {
    /// The relay's directory (key, config, users, database). Defaults to
    /// $WREN_RELAY_DIR, then the OS data directory.
    #[arg(long, global = true, env = "WREN_RELAY_DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the identity key, the config file and an empty users file.
    Init {
        /// The owner: a Wren pairing code (wren:1/…) or a peer id.
        #[arg(long)]
        owner: Option<String>,
        /// Access mode written to the config.
        #[arg(long, value_enum, default_value = "restricted")]
        mode: ModeArg,
        /// A public address of this server (without /p2p/), e.g.
        /// /ip4/203.0.113.7/tcp/4001. Repeatable.
        #[arg(long = "external")]
        external: Vec<Multiaddr>,
    },
    /// Print the relay's peer id and relay code.
    Id,
    /// Run the relay until SIGTERM or Ctrl-C.
    Run {
        /// Config file (default: DIR/config.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen on this multiaddr instead of the configured ones.
        /// Repeatable.
        #[arg(long)]
        listen: Vec<Multiaddr>,
        /// Serve metrics and the status page on this IP:PORT (enables HTTP).
        #[arg(long)]
        http: Option<String>,
    },
    /// Manage the users authorised on this relay.
    Users {
        #[command(subcommand)]
        op: UsersOp,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    Restricted,
    Open,
}

#[derive(Debug, Subcommand)]
enum UsersOp {
    /// Authorise a user (pairing code or peer id).
    Add {
        /// A Wren pairing code (wren:1/…) or a peer id.
        user: String,
    },
    /// Withdraw a user's authorisation.
    Remove {
        /// A Wren pairing code (wren:1/…) or a peer id.
        user: String,
    },
    /// List the authorised users, one peer id per line.
    List,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause its parent
/// already shows.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

fn relay_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    directories::ProjectDirs::from("org", "Wren", "wren-relay")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| anyhow!("no data directory on this system; pass --dir"))
}

fn dispatch(args: Args) -> anyhow::Result<()> {
    let dir = relay_dir(args.dir)?;
    match args.command {
        Command::Init {
            owner,
            mode,
            external,
        } => init(&dir, owner.as_deref(), mode, &external),
        Command::Id => id(&dir),
        Command::Run {
            config,
            listen,
            http,
        } => run(&dir, config, listen, http),
        Command::Users { op } => users(&dir, op),
    }
}

fn init(
    dir: &Path,
    owner: Option<&str>,
    mode: ModeArg,
    external: &[Multiaddr],
) -> anyhow::Result<()> {
    let owner = owner
        .map(|text| parse_user(text).context("--owner"))
        .transpose()?;
    if external.len() > wren_relay::limits::MAX_EXTERNAL_ADDRESSES {
        bail!(
            "at most {} --external addresses",
            wren_relay::limits::MAX_EXTERNAL_ADDRESSES
        );
    }
    let mode = match mode {
        ModeArg::Restricted => Mode::Restricted,
        ModeArg::Open => Mode::Open,
    };
    let config_path = dir.join(CONFIG_FILE);
    if config_path.exists() {
        bail!(
            "{} already exists; the relay is already initialised",
            config_path.display()
        );
    }
    create_private_dir(dir)?;
    let text = config::default_config_text(mode, owner.as_ref(), external);
    // Check what we write before writing anything.
    Config::parse(&text)?.validate()?;
    let keypair = keyfile::create(dir)?;
    wren_relay::fsutil::replace_file(&config_path, text.as_bytes(), 0o640)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    UsersFile::new(dir).create_if_missing()?;
    stdout_line(&format!("initialised {}", dir.display()));
    print_identity(&keypair.public().to_peer_id(), external, true, dir)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

fn load_config(dir: &Path, path: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = path.unwrap_or_else(|| dir.join(CONFIG_FILE));
    if !path.exists() {
        bail!(
            "no config at {}; run `wren-relay init` first",
            path.display()
        );
    }
    Ok(Config::load(&path)?)
}

fn id(dir: &Path) -> anyhow::Result<()> {
    let keypair = keyfile::load(dir)?;
    let settings = load_config(dir, None)?.validate()?;
    print_identity(
        &keypair.public().to_peer_id(),
        &settings.external_addresses,
        false,
        dir,
    )
}

fn print_identity(
    peer: &PeerId,
    external: &[Multiaddr],
    qr: bool,
    dir: &Path,
) -> anyhow::Result<()> {
    stdout_line(&format!("peer-id {peer}"));
    if external.is_empty() {
        eprintln!(
            "note: no external address configured, so no relay code yet: set network.external_addresses in {} (or init with --external), then run `wren-relay id`",
            dir.join(CONFIG_FILE).display()
        );
        return Ok(());
    }
    let code = RelayCode::new(*peer, external.to_vec()).context("relay code")?;
    for addr in code.addrs_with_peer() {
        stdout_line(&format!("address {addr}"));
    }
    let text = code.to_string();
    stdout_line(&format!("relay-code {text}"));
    if qr {
        match qrcode::QrCode::new(text.as_bytes()) {
            Ok(qr) => stdout_line(
                &qr.render::<qrcode::render::unicode::Dense1x2>()
                    .quiet_zone(true)
                    .build(),
            ),
            Err(e) => eprintln!("note: the relay code does not fit a QR code: {e}"),
        }
    }
    Ok(())
}

fn run(
    dir: &Path,
    config: Option<PathBuf>,
    listen: Vec<Multiaddr>,
    http: Option<String>,
) -> anyhow::Result<()> {
    let keypair = keyfile::load(dir)?;
    let mut config = load_config(dir, config)?;
    if !listen.is_empty() {
        config.network.listen = listen.iter().map(ToString::to_string).collect();
    }
    if let Some(http) = http {
        config.http.enabled = true;
        config.http.listen = http;
    }
    let settings = config.validate()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(server::run(
        dir.to_path_buf(),
        keypair,
        settings,
        shutdown_signal(),
    ))
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn users(dir: &Path, op: UsersOp) -> anyhow::Result<()> {
    if !dir.join(keyfile::KEY_FILE).exists() {
        bail!(
            "{} is not a relay directory; run `wren-relay init` first",
            dir.display()
        );
    }
    let file = UsersFile::new(dir);
    match op {
        UsersOp::Add { user } => {
            let peer = parse_user(&user)?;
            if file.add(peer)? {
                stdout_line(&format!("added {peer}"));
            } else {
                stdout_line(&format!("unchanged {peer}"));
            }
        }
        UsersOp::Remove { user } => {
            let peer = parse_user(&user)?;
            if file.remove(&peer)? {
                stdout_line(&format!("removed {peer}"));
            } else {
                stdout_line(&format!("unchanged {peer}"));
            }
        }
        UsersOp::List => {
            for peer in file.read()? {
                stdout_line(&peer.to_string());
            }
        }
    }
    Ok(())
}
