//! `wren`: Wren's desktop app.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

/// Wren: an end-to-end encrypted peer-to-peer messenger.
#[derive(Debug, Parser)]
#[command(name = "wren", version)]
struct Args {
    /// The profile directory (default: the OS data directory for Wren).
    #[arg(long, env = "WREN_HOME")]
    home: Option<PathBuf>,
    /// Do not discover (nor announce to) Wren peers on the local network.
    #[arg(long)]
    no_mdns: bool,
    /// Listen on this multiaddr (repeatable); overrides the listen
    /// addresses in the settings for this run.
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<wren_core::Multiaddr>,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WREN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let home = match args.home {
        Some(home) => home,
        None => directories::ProjectDirs::from("org", "Wren", "wren")
            .map(|dirs| dirs.data_dir().to_path_buf())
            .context("no home directory: pass --home DIR or set WREN_HOME")?,
    };
    let mut config = wren_desktop::Config::new(home);
    config.mdns = !args.no_mdns;
    config.listen = args.listen;
    wren_desktop::run(config).context("the window failed")
}
