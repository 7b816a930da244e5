//! The one-shot commands (`init`, `id`, `contacts …`, `relays …`,
//! `groups …`, `history`), and dispatch to `run`.

use anyhow::{Context, Result};
use wren_core::{MessageInfo, Node, NodeConfig, NodeEvent};

use crate::args::{
    Args, Command, ContactsCommand, GroupsCommand, RelayUsersCommand, RelaysCommand,
};
use crate::home;
use crate::json;

/// Runs the command the arguments name.
pub(crate) async fn dispatch(args: Args) -> Result<()> {
    let home = home::resolve(args.home)?;
    match args.command {
        Command::Init { name } => {
            let identity = Node::init(&home, &name, home::unlock())
                .await
                .with_context(|| format!("cannot initialise {}", home.display()))?;
            println!("{}", identity.peer_id);
            Ok(())
        }
        Command::Id { qr } => {
            let node = open(&home, false).await?;
            let code = node.pairing_code().await;
            node.shutdown().await.ok();
            let code = code?;
            println!("{code}");
            if qr {
                println!("{}", render_qr(&code)?);
            }
            Ok(())
        }
        Command::Contacts(command) => contacts(&home, command).await,
        Command::Relays(command) => relays(&home, command).await,
        Command::Groups(command) => groups(&home, command).await,
        Command::History {
            contact,
            limit,
            json: as_json,
        } => {
            let node = open(&home, false).await?;
            let history = history(&node, &contact, limit).await;
            node.shutdown().await.ok();
            let history = history?;
            if as_json {
                let messages: Vec<_> = history.iter().map(json::message).collect();
                println!("{}", serde_json::Value::Array(messages));
            } else {
                let group = json::is_group_id(contact.trim());
                for message in &history {
                    let who = if message.outgoing {
                        "me"
                    } else if group {
                        &message.from
                    } else {
                        &contact
                    };
                    let receipts = match (message.delivered_to, message.read_by) {
                        (Some(delivered), Some(read)) => {
                            format!(", delivered to {delivered}, read by {read}")
                        }
                        _ => String::new(),
                    };
                    println!(
                        "[{}] {who}: {} ({}{receipts})",
                        message.sent_at, message.text, message.status
                    );
                }
            }
            Ok(())
        }
        Command::Run {
            listen,
            json: as_json,
            no_mdns,
            name,
        } => {
            if let Some(name) = name {
                match Node::init(&home, &name, home::unlock()).await {
                    Ok(_) | Err(wren_core::NodeError::AlreadyInitialised) => {}
                    Err(error) => {
                        return Err(error)
                            .with_context(|| format!("cannot initialise {}", home.display()));
                    }
                }
            }
            let mut config = NodeConfig::new(&home);
            config.unlock = home::unlock();
            config.listen = listen;
            config.mdns = !no_mdns;
            crate::run::run(config, as_json).await
        }
    }
}

/// The newest `limit` messages with `contact`, oldest first, read page by
/// page (the engine bounds each page).
async fn history(node: &Node, contact: &str, limit: usize) -> Result<Vec<MessageInfo>> {
    let mut pages = Vec::new();
    let mut total = 0;
    let mut before = None;
    while total < limit {
        let want = (limit - total).min(wren_core::limits::MAX_HISTORY_PAGE);
        let page = node.history(contact, before, want).await?;
        let Some(first) = page.first() else { break };
        before = Some(first.seq);
        total += page.len();
        let short = page.len() < want;
        pages.push(page);
        if short {
            break;
        }
    }
    Ok(pages.into_iter().rev().flatten().collect())
}

/// How long `contacts add PEER_ID` waits for the peer to show up on the
/// LAN (mDNS usually answers within a second).
const DISCOVERY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the node of `home` for a one-shot command.
async fn open(home: &std::path::Path, mdns: bool) -> Result<Node> {
    open_with_events(home, mdns).await.map(|(node, _)| node)
}

/// [`open`], keeping the event stream.
async fn open_with_events(
    home: &std::path::Path,
    mdns: bool,
) -> Result<(Node, tokio::sync::mpsc::Receiver<NodeEvent>)> {
    let mut config = NodeConfig::new(home);
    config.unlock = home::unlock();
    config.mdns = mdns;
    Node::open(config)
        .await
        .with_context(|| format!("cannot open {}", home.display()))
}

async fn contacts(home: &std::path::Path, command: ContactsCommand) -> Result<()> {
    match command {
        ContactsCommand::Add {
            code_or_peer_id,
            alias,
        } => {
            // Adding by peer id may need the LAN to find the peer first.
            let by_peer_id = !code_or_peer_id.starts_with("wren:");
            let (node, mut events) = open_with_events(home, by_peer_id).await?;
            let mut added = node.add_contact(&code_or_peer_id, alias.clone()).await;
            if by_peer_id && matches!(added, Err(wren_core::NodeError::UnknownPeer)) {
                let discovered = tokio::time::timeout(DISCOVERY_WAIT, async {
                    while let Some(event) = events.recv().await {
                        if matches!(&event, NodeEvent::PeerDiscovered { peer_id, .. } if *peer_id == code_or_peer_id)
                        {
                            return true;
                        }
                    }
                    false
                })
                .await;
                if discovered == Ok(true) {
                    added = node.add_contact(&code_or_peer_id, alias).await;
                }
            }
            node.shutdown().await.ok();
            let added = added?;
            println!("{}", added.alias.as_deref().unwrap_or(&added.peer_id));
            Ok(())
        }
        ContactsCommand::List { json: as_json } => {
            let node = open(home, false).await?;
            let contacts = node.contacts().await;
            node.shutdown().await.ok();
            let contacts = contacts?;
            if as_json {
                println!("{}", serde_json::to_string(&contacts)?);
            } else {
                for contact in &contacts {
                    println!(
                        "{}\t{}\t{}{}",
                        contact.alias.as_deref().unwrap_or("-"),
                        contact.peer_id,
                        contact.name,
                        if contact.verified { "\tverified" } else { "" }
                    );
                }
            }
            Ok(())
        }
        ContactsCommand::Nearby { json: as_json } => {
            let node = open(home, true).await?;
            // mDNS answers within a second on a LAN.
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let nearby = node.nearby().await;
            node.shutdown().await.ok();
            let nearby = nearby?;
            if as_json {
                println!("{}", serde_json::to_string(&nearby)?);
            } else {
                for peer in &nearby {
                    println!("{}\t{}", peer.peer_id, peer.fingerprint);
                }
            }
            Ok(())
        }
        ContactsCommand::Verify { contact } => {
            let node = open(home, false).await?;
            let number = node.safety_number(&contact).await;
            node.shutdown().await.ok();
            println!("{}", number?);
            Ok(())
        }
    }
}

async fn relays(home: &std::path::Path, command: RelaysCommand) -> Result<()> {
    let node = open(home, false).await?;
    let result = match command {
        RelaysCommand::Add { relay } => node.add_relay(&relay).await.map(|info| {
            println!("{}", info.peer_id);
        }),
        RelaysCommand::Remove { relay } => node.remove_relay(&relay).await.map(|removed| {
            if !removed {
                eprintln!("not one of this node's relays: {relay}");
            }
        }),
        RelaysCommand::List { json: as_json } => node.relays().await.map(|relays| {
            if as_json {
                println!(
                    "{}",
                    serde_json::Value::Array(relays.iter().map(json::relay).collect())
                );
            } else {
                for relay in &relays {
                    println!("{}\t{}", relay.peer_id, relay.address);
                }
            }
        }),
        RelaysCommand::Users(RelayUsersCommand::List { relay }) => {
            node.relay_users(&relay).await.map(|users| {
                for user in users {
                    println!("{user}");
                }
            })
        }
        RelaysCommand::Users(RelayUsersCommand::Add { relay, user }) => {
            node.relay_user_add(&relay, &user).await
        }
        RelaysCommand::Users(RelayUsersCommand::Remove { relay, user }) => {
            node.relay_user_remove(&relay, &user).await
        }
    };
    node.shutdown().await.ok();
    Ok(result?)
}

async fn groups(home: &std::path::Path, command: GroupsCommand) -> Result<()> {
    let node = open(home, false).await?;
    let result = match command {
        GroupsCommand::Create {
            name,
            members,
            channel,
        } => {
            let members: Vec<&str> = members.iter().map(|m| m.trim()).collect();
            node.create_group(&name, &members, channel)
                .await
                .map(|info| println!("{}", info.id))
        }
        GroupsCommand::List { json: as_json } => node.groups().await.map(|groups| {
            if as_json {
                println!(
                    "{}",
                    serde_json::Value::Array(groups.iter().map(json::group).collect())
                );
            } else {
                for group in &groups {
                    println!(
                        "{}\t{}\t{}\t{}{}",
                        group.id,
                        group.name,
                        if group.channel { "channel" } else { "group" },
                        group.members.join(","),
                        if group.member { "" } else { "\tleft" }
                    );
                }
            }
        }),
        GroupsCommand::Add { group, contact } => node.add_member(&group, &contact).await.map(drop),
        GroupsCommand::Remove { group, contact } => {
            node.remove_member(&group, &contact).await.map(drop)
        }
        GroupsCommand::Promote { group, contact } => {
            node.promote_member(&group, &contact).await.map(drop)
        }
        GroupsCommand::Rename { group, name } => node.rename_group(&group, &name).await.map(drop),
        GroupsCommand::Leave { group } => node.leave_group(&group).await,
    };
    node.shutdown().await.ok();
    Ok(result?)
}

/// The code as a QR code drawn with half-block characters (two modules per
/// character cell).
fn render_qr(code: &str) -> Result<String> {
    let qr = qrcode::QrCode::new(code.as_bytes()).context("the code does not fit a QR code")?;
    Ok(qr
        .render::<qrcode::render::unicode::Dense1x2>()
        .quiet_zone(true)
        .build())
}
