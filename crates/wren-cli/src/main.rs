//! `wren-cli`: Wren's headless client. Scripts, bots and the end-to-end
//! tests drive a Wren node through it; its commands, flags, JSON events and
//! JSON commands are a public interface, documented in docs/cli.md.

mod args;
mod commands;
mod home;
mod json;
mod run;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = args::Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WREN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wren-cli: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("wren-cli: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, no backtrace. A cause whose text
/// its parent already shows (errors that print their source) is skipped.
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

#[cfg(test)]
mod tests {
    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("store error: {0}")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_already_shown_are_not_repeated() {
        let inner = std::io::Error::other("locked");
        let error = anyhow::Error::new(Outer(inner)).context("cannot open a");
        assert_eq!(one_line(&error), "cannot open a: store error: locked");
    }
}
