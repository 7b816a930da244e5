//! The relay as a real process: durability across SIGKILL, refusals with
//! their codes, access control for reservations and mailboxes, the CLI and
//! the HTTP listener.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{Client, RelayProcess, cli, config, envelopes, init, line_value};
use wren_net::mailbox::{DepositOutcome, MailboxRequest, MailboxResponse, RefusalCode, StoredItem};

/// Fetches the whole mailbox of `client`, page by page.
async fn fetch_all(client: &mut Client, relay: &RelayProcess) -> Vec<StoredItem> {
    let mut items = Vec::new();
    let mut after = 0;
    loop {
        match client
            .call(relay, MailboxRequest::Fetch { after, limit: 100 })
            .await
            .unwrap()
        {
            MailboxResponse::Page { items: page, more } => {
                if let Some(last) = page.last() {
                    after = last.seq;
                }
                items.extend(page);
                if !more {
                    return items;
                }
            }
            other => panic!("fetch answered {other:?}"),
        }
    }
}

fn stored(n: usize) -> MailboxResponse {
    MailboxResponse::Deposited(vec![DepositOutcome::Stored; n])
}

/// Messages deposited before a SIGKILL are all there after the restart, in
/// order; once fetched and acknowledged they are gone, also after another
/// SIGKILL; SIGTERM then stops the relay cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_and_delivers_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let mut recipient = Client::new();
    init(&dir, Some(&recipient.peer_id)).await;
    let cfg = config(Some(&recipient.peer_id), "restricted", "");

    let relay = RelayProcess::start(&dir, &cfg).await;
    // A stranger deposits 300 messages in two requests (256 + 44) for the
    // owner, who is offline.
    let mut sender = Client::new();
    let sent = envelopes(300, 100, 0);
    for chunk in sent.chunks(256) {
        let response = sender
            .call(
                &relay,
                MailboxRequest::Deposit {
                    recipient: recipient.peer_id,
                    envelopes: chunk.to_vec(),
                },
            )
            .await
            .unwrap();
        assert_eq!(response, stored(chunk.len()));
    }
    let relay_id = relay.peer_id;
    relay.kill().await;
    sender.await_disconnect(relay_id).await;

    let relay = RelayProcess::start(&dir, &cfg).await;
    let items = fetch_all(&mut recipient, &relay).await;
    let got: Vec<Vec<u8>> = items.iter().map(|i| i.envelope.clone()).collect();
    assert_eq!(got, sent, "every message, once, in deposit order");
    assert!(items.windows(2).all(|w| w[0].seq < w[1].seq));
    let last = items.last().unwrap().seq;
    let response = recipient
        .call(&relay, MailboxRequest::Ack { up_to: last })
        .await
        .unwrap();
    assert_eq!(response, MailboxResponse::Acked { removed: 300 });
    assert!(fetch_all(&mut recipient, &relay).await.is_empty());
    let relay_id = relay.peer_id;
    relay.kill().await;
    recipient.await_disconnect(relay_id).await;
    sender.await_disconnect(relay_id).await;

    let relay = RelayProcess::start(&dir, &cfg).await;
    assert!(
        fetch_all(&mut recipient, &relay).await.is_empty(),
        "nothing delivered twice"
    );
    // The relay still takes deposits after the restarts.
    let response = sender
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: recipient.peer_id,
                envelopes: envelopes(1, 50, 1000),
            },
        )
        .await
        .unwrap();
    assert_eq!(response, stored(1));
    let items = fetch_all(&mut recipient, &relay).await;
    assert_eq!(items.len(), 1);
    assert!(items[0].seq > last, "sequence numbers never go back");
    assert!(relay.terminate().await, "SIGTERM exits with success");
}

/// Each refusal carries its own code, stores nothing, and the relay keeps
/// serving others afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_carry_their_codes_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let mut owner = Client::new();
    let mut user = Client::new();
    let mut stranger = Client::new();
    init(&dir, Some(&owner.peer_id)).await;
    let user_id = user.peer_id.to_string();
    let (ok, _, err) = cli(&["users", "add", "--dir", dir.to_str().unwrap(), &user_id]).await;
    assert!(ok, "{err}");
    let cfg = config(
        Some(&owner.peer_id),
        "restricted",
        "max_envelope_bytes = 1000\nmax_bytes_per_mailbox = 2000\ndeposit_rate_per_sec = 1\ndeposit_burst = 5",
    );
    let relay = RelayProcess::start(&dir, &cfg).await;

    // Too large: one byte over the configured maximum; its neighbour is
    // stored.
    let response = stranger
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: user.peer_id,
                envelopes: vec![vec![1; 1000], vec![2; 1001]],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        response,
        MailboxResponse::Deposited(vec![
            DepositOutcome::Stored,
            DepositOutcome::Refused(RefusalCode::TooLarge)
        ])
    );

    // Quota: the owner's mailbox holds 2 000 bytes; the byte after is refused.
    let mut filler = Client::new();
    let response = filler
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: owner.peer_id,
                envelopes: vec![vec![3; 1000], vec![4; 1000], vec![5; 1]],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        response,
        MailboxResponse::Deposited(vec![
            DepositOutcome::Stored,
            DepositOutcome::Stored,
            DepositOutcome::Refused(RefusalCode::QuotaExceeded)
        ])
    );

    // Rate: a burst of 5 per depositor; the 6th and 7th are refused.
    let mut flooder = Client::new();
    let response = flooder
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: user.peer_id,
                envelopes: envelopes(7, 10, 0),
            },
        )
        .await
        .unwrap();
    let mut expected = vec![DepositOutcome::Stored; 5];
    expected.extend([DepositOutcome::Refused(RefusalCode::RateLimited); 2]);
    assert_eq!(response, MailboxResponse::Deposited(expected));

    // Not allowed: a deposit for someone who is not a user, a fetch and an
    // ack by a non-user, users ops by a non-owner.
    let not_allowed = MailboxResponse::Refused(RefusalCode::NotAllowed);
    let nobody = Client::new().peer_id;
    let deposit = MailboxRequest::Deposit {
        recipient: nobody,
        envelopes: envelopes(1, 10, 0),
    };
    assert_eq!(stranger.call(&relay, deposit).await.unwrap(), not_allowed);
    let fetch = MailboxRequest::Fetch {
        after: 0,
        limit: 10,
    };
    assert_eq!(
        stranger.call(&relay, fetch.clone()).await.unwrap(),
        not_allowed
    );
    let ack = MailboxRequest::Ack { up_to: u64::MAX };
    assert_eq!(
        stranger.call(&relay, ack.clone()).await.unwrap(),
        not_allowed
    );
    assert_eq!(
        user.call(&relay, MailboxRequest::UsersList).await.unwrap(),
        not_allowed
    );
    assert_eq!(
        user.call(&relay, MailboxRequest::UsersAdd { user: nobody })
            .await
            .unwrap(),
        not_allowed
    );

    // Nothing refused was stored, and each mailbox holds only its own
    // items: the user sees 1 + 5, the owner 2.
    let user_items = fetch_all(&mut user, &relay).await;
    assert_eq!(user_items.len(), 6);
    assert_eq!(user_items[0].envelope, vec![1; 1000]);
    assert_eq!(
        &user_items[1..]
            .iter()
            .map(|i| i.envelope.clone())
            .collect::<Vec<_>>()[..],
        &envelopes(5, 10, 0)[..]
    );
    let owner_items = fetch_all(&mut owner, &relay).await;
    assert_eq!(owner_items.len(), 2);
    assert_eq!(owner_items[1].envelope, vec![4; 1000]);

    // The owner authorises the stranger over the protocol: it takes effect
    // at once, and the list shows both users.
    assert_eq!(
        owner
            .call(
                &relay,
                MailboxRequest::UsersAdd {
                    user: stranger.peer_id
                }
            )
            .await
            .unwrap(),
        MailboxResponse::Done
    );
    match stranger.call(&relay, fetch.clone()).await.unwrap() {
        MailboxResponse::Page { items, more } => assert!(items.is_empty() && !more),
        other => panic!("{other:?}"),
    }
    match owner.call(&relay, MailboxRequest::UsersList).await.unwrap() {
        MailboxResponse::Users(users) => {
            assert_eq!(users.len(), 2);
            assert!(users.contains(&user.peer_id) && users.contains(&stranger.peer_id));
        }
        other => panic!("{other:?}"),
    }
    // The CLI sees the owner's change (same users file).
    let (_, listed, _) = cli(&["users", "list", "--dir", dir.to_str().unwrap()]).await;
    assert!(listed.contains(&stranger.peer_id.to_string()));
    assert_eq!(
        owner
            .call(
                &relay,
                MailboxRequest::UsersRemove {
                    user: stranger.peer_id
                }
            )
            .await
            .unwrap(),
        MailboxResponse::Done
    );
    assert_eq!(stranger.call(&relay, fetch).await.unwrap(), not_allowed);

    // The relay keeps serving: acks work for the owner.
    assert_eq!(
        owner.call(&relay, ack).await.unwrap(),
        MailboxResponse::Acked { removed: 2 }
    );
    assert!(relay.terminate().await);
}

/// A reservation from a peer that is not authorised is refused; once the
/// CLI adds it (while the relay runs) it succeeds, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_are_for_users_and_cli_changes_apply_live() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let owner = Client::new();
    init(&dir, Some(&owner.peer_id)).await;
    let cfg = config(Some(&owner.peer_id), "restricted", "");
    let mut relay = RelayProcess::start(&dir, &cfg).await;

    let mut stranger = Client::new();
    let refused = stranger.reserve(&relay).await;
    assert!(refused.is_err(), "an unauthorised reservation is refused");
    let reason = refused.unwrap_err();
    assert!(reason.contains("ResourceLimitExceeded"), "{reason}");

    // Others are still served.
    let mut sender = Client::new();
    let response = sender
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: owner.peer_id,
                envelopes: envelopes(1, 10, 0),
            },
        )
        .await
        .unwrap();
    assert_eq!(response, stored(1));

    let id = stranger.peer_id.to_string();
    let (ok, out, err) = cli(&["users", "add", "--dir", dir.to_str().unwrap(), &id]).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("added {id}"));
    assert_eq!(relay.expect_line("users").await, "1");
    stranger.reserve(&relay).await.expect("a user may reserve");

    let (ok, _, _) = cli(&["users", "remove", "--dir", dir.to_str().unwrap(), &id]).await;
    assert!(ok);
    assert_eq!(relay.expect_line("users").await, "0");
    let mut again = Client::new();
    assert!(again.reserve(&relay).await.is_err());
    assert!(relay.terminate().await);
}

/// Open mode: anyone may reserve and keep a mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_serves_anyone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    init(&dir, None).await;
    let relay = RelayProcess::start(&dir, &config(None, "open", "")).await;
    let mut a = Client::new();
    let b = Client::new();
    a.reserve(&relay)
        .await
        .expect("open relays take reservations");
    let response = a
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: b.peer_id,
                envelopes: envelopes(2, 10, 0),
            },
        )
        .await
        .unwrap();
    assert_eq!(response, stored(2));
    assert!(relay.terminate().await);
}

/// The QUIC listener serves the mailbox like the TCP one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_listener_serves_the_mailbox() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let mut owner = Client::new();
    init(&dir, Some(&owner.peer_id)).await;
    let cfg = config(Some(&owner.peer_id), "restricted", "");
    let relay =
        RelayProcess::start_with(&dir, &cfg, &["--listen", "/ip4/127.0.0.1/udp/0/quic-v1"]).await;
    let quic = relay
        .addrs
        .iter()
        .find(|a| a.to_string().contains("/quic-v1"))
        .expect("a QUIC listening line")
        .clone();
    let mut sender = Client::new();
    let response = sender
        .call_at(
            relay.peer_id,
            &quic,
            MailboxRequest::Deposit {
                recipient: owner.peer_id,
                envelopes: envelopes(3, 10, 0),
            },
        )
        .await
        .unwrap();
    assert_eq!(response, stored(3));
    let response = owner
        .call_at(
            relay.peer_id,
            &quic,
            MailboxRequest::Fetch {
                after: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(response, MailboxResponse::Page { ref items, more: false } if items.len() == 3)
    );
    assert!(relay.terminate().await);
}

/// `init`, `id` and `users` on the command line; a bad config is one line
/// naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_surface() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let d = dir.to_str().unwrap();
    let owner = Client::new().peer_id.to_string();
    let (ok, out, err) = cli(&[
        "init",
        "--dir",
        d,
        "--owner",
        &owner,
        "--external",
        "/ip4/203.0.113.7/tcp/4001",
        "--external",
        "/ip4/203.0.113.7/udp/4001/quic-v1",
    ])
    .await;
    assert!(ok, "{err}");
    let peer = line_value(&out, "peer-id");
    let code = line_value(&out, "relay-code");
    assert!(out.contains(&format!("address /ip4/203.0.113.7/tcp/4001/p2p/{peer}")));
    let parsed = wren_net::parse_relay(&code).unwrap();
    assert_eq!(parsed.peer_id().to_string(), peer);
    assert_eq!(parsed.addrs().len(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(config.contains(&format!("owner = \"{owner}\"")));

    let (ok, _, err) = cli(&["init", "--dir", d]).await;
    assert!(!ok, "init never overwrites");
    assert!(
        err.starts_with("error: ") && err.trim().lines().count() == 1,
        "{err}"
    );

    let (ok, out, _) = cli(&["id", "--dir", d]).await;
    assert!(ok);
    assert_eq!(line_value(&out, "peer-id"), peer);
    assert_eq!(line_value(&out, "relay-code"), code);

    let user = Client::new().peer_id.to_string();
    let (ok, out, _) = cli(&["users", "add", "--dir", d, &user]).await;
    assert!(ok && out.trim() == format!("added {user}"));
    let (_, out, _) = cli(&["users", "list", "--dir", d]).await;
    assert_eq!(out.trim(), user);
    let (ok, _, err) = cli(&["users", "add", "--dir", d, "not-a-peer"]).await;
    assert!(!ok && err.contains("not a peer id"), "{err}");
    let (ok, out, _) = cli(&["users", "remove", "--dir", d, &user]).await;
    assert!(ok && out.trim() == format!("removed {user}"));

    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[mailbox]\nmax_envelope_bytes = 0\n").unwrap();
    let (ok, _, err) = cli(&["run", "--dir", d, "--config", bad.to_str().unwrap()]).await;
    assert!(!ok);
    assert_eq!(
        err.trim(),
        "error: config key mailbox.max_envelope_bytes: must be between 1 and 65536, got 0"
    );
    std::fs::write(&bad, "[network]\nlisten_on = []\n").unwrap();
    let (ok, _, err) = cli(&["run", "--dir", d, "--config", bad.to_str().unwrap()]).await;
    assert!(!ok);
    assert!(
        err.trim()
            .starts_with("error: config key network.listen_on: unknown field"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1);
}

/// The HTTP listener serves metrics that count what happened, and the
/// status page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_status_page() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("relay");
    let mut owner = Client::new();
    init(&dir, Some(&owner.peer_id)).await;
    let cfg = config(
        Some(&owner.peer_id),
        "restricted",
        "max_envelope_bytes = 100",
    );
    let relay = RelayProcess::start_with(&dir, &cfg, &["--http", "127.0.0.1:0"]).await;
    let response = owner
        .call(
            &relay,
            MailboxRequest::Deposit {
                recipient: owner.peer_id,
                envelopes: vec![vec![1; 100], vec![2; 101]],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        response,
        MailboxResponse::Deposited(vec![
            DepositOutcome::Stored,
            DepositOutcome::Refused(RefusalCode::TooLarge)
        ])
    );
    let http = relay.http.clone().unwrap();
    let metrics = get(&http, "/metrics").await;
    for expected in [
        "wren_relay_connections 1",
        "wren_relay_deposits_total 1",
        "wren_relay_mailbox_messages 1",
        "wren_relay_mailbox_bytes 100",
        "wren_relay_refusals_total{reason=\"too_large\"} 1",
        "wren_relay_purged_total 0",
        "wren_relay_reservations 0",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from {metrics}"
        );
    }
    let page = get(&http, "/").await;
    assert!(page.contains("Wren relay") && page.contains(&relay.peer_id.to_string()));
    assert!(relay.terminate().await);
}

async fn get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    body
}
