//! The HTTP listener: Prometheus metrics at `/metrics` and a small status
//! page at `/`. It binds to 127.0.0.1 by default and is not authenticated.
//!
//! At most [`MAX_HTTP_CONNECTIONS`] connections are served at once; a
//! connection must send its request headers within
//! [`HTTP_HEADER_TIMEOUT`].

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::access::read_access;
use crate::config::Mode;
use crate::limits::{HTTP_HEADER_TIMEOUT, MAX_HTTP_CONNECTIONS};
use crate::metrics::Metrics;
use crate::server::{AGENT_VERSION, Status};

/// Binds `addr` and serves until `stop` turns true. Returns the bound
/// address (useful with port 0).
pub async fn spawn(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    status: Arc<Status>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let accepted = tokio::select! {
                _ = stop.changed() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let metrics = metrics.clone();
            let status = status.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let response = handle(&req, &metrics, &status);
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HTTP_HEADER_TIMEOUT)
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                drop(permit);
            });
        }
    });
    Ok(bound)
}

fn handle(req: &Request<Incoming>, metrics: &Metrics, status: &Status) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match req.uri().path() {
        "/metrics" => with_type(
            Response::new(Full::new(Bytes::from(metrics.encode()))),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
        "/" => with_type(
            Response::new(Full::new(Bytes::from(status_page(metrics, status)))),
            "text/html; charset=utf-8",
        ),
        _ => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn plain(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = with_type(
        Response::new(Full::new(Bytes::from_static(text.as_bytes()))),
        "text/plain; charset=utf-8",
    );
    *response.status_mut() = code;
    response
}

fn with_type(
    mut response: Response<Full<Bytes>>,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The status page: identity, addresses, access and the main gauges.
pub fn status_page(metrics: &Metrics, status: &Status) -> String {
    let (mode, owner, users) = read_access(&status.access, |a| {
        (
            match a.mode {
                Mode::Restricted => "restricted",
                Mode::Open => "open",
            },
            a.owner
                .map(|o| o.to_string())
                .unwrap_or_else(|| "none".into()),
            a.users.len(),
        )
    });
    let addresses = status
        .addresses
        .lock()
        .map(|a| a.iter().map(|a| escape(&a.to_string())).collect::<Vec<_>>())
        .unwrap_or_default();
    let code = status
        .relay_code
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .unwrap_or_else(|| "(not yet known)".into());
    let uptime = status.started.elapsed().as_secs();
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Wren relay</title>\
<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto}}td{{padding:.2em 1em}}code{{word-break:break-all}}</style>\
</head><body>\n<h1>Wren relay</h1>\n<table>\n\
<tr><td>version</td><td>{version}</td></tr>\n\
<tr><td>peer id</td><td><code>{peer}</code></td></tr>\n\
<tr><td>relay code</td><td><code>{code}</code></td></tr>\n\
<tr><td>uptime</td><td>{uptime} s</td></tr>\n\
<tr><td>access</td><td>{mode}, owner <code>{owner}</code>, {users} users</td></tr>\n\
<tr><td>connections</td><td>{conns}</td></tr>\n\
<tr><td>reservations</td><td>{res}</td></tr>\n\
<tr><td>circuits</td><td>{circ}</td></tr>\n\
<tr><td>mailboxes</td><td>{boxes} holding {msgs} messages, {bytes} bytes</td></tr>\n\
<tr><td>purged (TTL)</td><td>{purged}</td></tr>\n\
</table>\n<h2>Addresses</h2>\n<ul>\n",
        version = escape(AGENT_VERSION),
        peer = status.peer_id,
        code = escape(&code),
        conns = metrics.connections.get(),
        res = metrics.reservations.get(),
        circ = metrics.circuits.get(),
        boxes = metrics.mailboxes.get(),
        msgs = metrics.mailbox_messages.get(),
        bytes = metrics.mailbox_bytes.get(),
        purged = metrics.purged.get(),
    );
    for a in addresses {
        let _ = writeln!(page, "<li><code>{a}</code></li>");
    }
    page.push_str("</ul>\n<p><a href=\"/metrics\">metrics</a></p>\n</body></html>\n");
    page
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
