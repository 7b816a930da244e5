//! `wren-cli run`: the node running, events out, commands in.
//!
//! Three tasks. The *event pump* moves engine events into the output
//! queue as fast as they come (the engine drops events it cannot hand
//! over, so it must never wait on stdout). The *command loop* reads stdin
//! line by line and runs each command to completion before reading the
//! next, so commands are processed in the order they arrive. The *writer*
//! owns stdout: it turns queue items into lines and enforces the `status`
//! contract — a message's first status line is the `sending` one carrying
//! the command's `ref`, written once `send` has returned, that is once the
//! message is durably in the outbox; engine status events that overtake it
//! are held back until then.

use std::collections::{HashMap, VecDeque};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use wren_core::{GroupInfo, Node, NodeConfig, NodeEvent, Status};

use crate::json::{self, JsonCommand};

/// Items waiting for stdout. Large, because the writer only waits on
/// whoever reads our stdout, and the event pump must keep draining the
/// engine meanwhile.
const OUTPUT_QUEUE: usize = 65_536;

/// Most sent-message refs remembered (for `ref` on later status lines).
const MAX_REFS: usize = 65_536;

/// Most engine status events held back while a send is in flight.
const MAX_HELD: usize = 65_536;

/// Longest command line accepted (a text is at most 32 KiB, escaped).
const MAX_LINE_BYTES: usize = 256 * 1024;

enum Output {
    /// An engine event.
    Event(NodeEvent),
    /// A send command is about to run.
    SendStarted,
    /// It committed the message.
    SendDone {
        id: String,
        conversation: u64,
        /// The group id, when it went to a group.
        group: Option<String>,
        reference: Option<Value>,
    },
    /// It failed (an `error` line is sent separately).
    SendFailed,
    /// A ready-made line.
    Line(Value),
}

/// The longest `run` waits for a configured listener that does not come
/// up before it reports `ready` with the others.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs the node until stdin closes, SIGINT or SIGTERM.
pub(crate) async fn run(config: NodeConfig, as_json: bool) -> Result<()> {
    let home = config.home.clone();
    let wanted = config.listen_addrs();
    let (node, mut events) = Node::open(config)
        .await
        .with_context(|| format!("cannot open {}", home.display()))?;

    // Ready once every configured listener reports an address (a wildcard
    // one reports all its interfaces at once), so that `ready` and its
    // pairing code hold them all. A listener that never comes up (its
    // failure is reported as an error event) delays `ready` by at most
    // READY_WAIT.
    let mut early = Vec::new();
    let mut listen = node.listen_addrs().await?;
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    let complete = |listen: &[wren_core::Multiaddr]| {
        wanted
            .iter()
            .all(|w| listen.iter().any(|a| wren_core::listen_covers(w, a)))
    };
    while listen.is_empty() || !complete(&listen) {
        let next = if tokio::time::Instant::now() < deadline {
            tokio::time::timeout_at(deadline, events.recv()).await.ok()
        } else if listen.is_empty() {
            Some(events.recv().await)
        } else {
            break;
        };
        match next {
            Some(Some(event)) => early.push(event),
            Some(None) => anyhow::bail!("the node stopped while starting"),
            // The deadline passed: the loop decides again.
            None => {}
        }
        listen = node.listen_addrs().await?;
    }
    let identity = node.identity().await;
    let code = node.pairing_code().await?;

    let (out, queue) = mpsc::channel::<Output>(OUTPUT_QUEUE);
    let writer = tokio::spawn(write_output(queue, as_json));
    out.send(Output::Line(json!({
        "event": "ready",
        "peer_id": identity.peer_id,
        "name": identity.name,
        "listen": listen.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "code": code,
    })))
    .await
    .ok();

    let pump = {
        let out = out.clone();
        tokio::spawn(async move {
            for event in early {
                if out.send(Output::Event(event)).await.is_err() {
                    return;
                }
            }
            while let Some(event) = events.recv().await {
                if out.send(Output::Event(event)).await.is_err() {
                    return;
                }
            }
        })
    };

    let commands = read_commands(node.clone(), out.clone());
    tokio::select! {
        result = commands => result?,
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate() => {}
    }
    node.shutdown().await.ok();
    pump.abort();
    drop(out);
    writer.await.ok();
    Ok(())
}

/// Resolves on SIGTERM.
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

/// One line read from stdin with a bounded buffer.
enum Line {
    /// Stdin is closed.
    End,
    /// A complete line (newline included, if there was one).
    Text(Vec<u8>),
    /// A line longer than [`MAX_LINE_BYTES`]; the rest of it was skipped
    /// without being kept.
    TooLong,
}

/// Reads one line, never holding more than [`MAX_LINE_BYTES`] + 1 bytes of
/// it.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Line> {
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_LINE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let read = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(Line::End);
    }
    if line.len() <= MAX_LINE_BYTES
        || (line.last() == Some(&b'\n') && line.len() == MAX_LINE_BYTES + 1)
    {
        return Ok(Line::Text(line));
    }
    // Skip the rest of the overlong line.
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(Line::TooLong);
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                reader.consume(at + 1);
                return Ok(Line::TooLong);
            }
            None => {
                let len = buffer.len();
                reader.consume(len);
            }
        }
    }
}

/// Reads and runs commands until stdin closes.
async fn read_commands(node: Node, out: mpsc::Sender<Output>) -> Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin());
    loop {
        let line = match read_line(&mut lines).await? {
            Line::End => return Ok(()),
            Line::TooLong => {
                out.send(Output::Line(json::error("command line too long", None)))
                    .await
                    .ok();
                continue;
            }
            Line::Text(line) => line,
        };
        let Ok(line) = std::str::from_utf8(&line) else {
            out.send(Output::Line(json::error("command line is not UTF-8", None)))
                .await
                .ok();
            continue;
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match json::parse_command(text) {
            Ok(command) => execute(&node, &out, command).await,
            Err((detail, reference)) => {
                out.send(Output::Line(json::error(detail, reference.as_ref())))
                    .await
                    .ok();
            }
        }
    }
}

/// Runs one command; its answers and errors go to `out`.
async fn execute(node: &Node, out: &mpsc::Sender<Output>, command: JsonCommand) {
    let reference = command.reference().cloned();
    let answer = match command {
        JsonCommand::Send { to, text, .. } => {
            out.send(Output::SendStarted).await.ok();
            match node.send_text(&to, &text).await {
                Ok(sent) => Output::SendDone {
                    id: sent.id,
                    conversation: sent.conversation,
                    group: group_named(node, &to).await,
                    reference,
                },
                Err(error) => {
                    out.send(Output::SendFailed).await.ok();
                    Output::Line(json::error(error, reference.as_ref()))
                }
            }
        }
        // `contact_added` comes from the engine.
        JsonCommand::AddContact { code, alias, .. } => match node.add_contact(&code, alias).await {
            Ok(_) => return,
            Err(error) => Output::Line(json::error(error, reference.as_ref())),
        },
        JsonCommand::Accept { contact, alias, .. } => {
            match node.accept_with_alias(&contact, alias).await {
                Ok(_) => return,
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::Decline { contact, .. } => match node.decline(&contact).await {
            Ok(()) => Output::Line(json::with_ref(
                json!({"event": "declined", "contact": contact}),
                reference.as_ref(),
            )),
            Err(error) => Output::Line(json::error(error, reference.as_ref())),
        },
        JsonCommand::Read { conversation, .. } => {
            let conversation = match conversation {
                Value::String(text) => text,
                other => other.to_string(),
            };
            match node.mark_read(&conversation).await {
                Ok(count) => Output::Line(json::with_ref(
                    json!({"event": "marked_read", "conversation": conversation, "count": count}),
                    reference.as_ref(),
                )),
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::Retry { id, .. } => match node.retry(&id).await {
            Ok(()) => return,
            Err(error) => Output::Line(json::error(error, reference.as_ref())),
        },
        JsonCommand::AddRelay { relay, .. } => match node.add_relay(&relay).await {
            Ok(info) => Output::Line(json::with_ref(
                json!({"event": "relay_added", "relay": info.peer_id, "address": info.address}),
                reference.as_ref(),
            )),
            Err(error) => Output::Line(json::error(error, reference.as_ref())),
        },
        JsonCommand::RemoveRelay { relay, .. } => match node.remove_relay(&relay).await {
            Ok(removed) => Output::Line(json::with_ref(
                json!({"event": "relay_removed", "relay": relay, "removed": removed}),
                reference.as_ref(),
            )),
            Err(error) => Output::Line(json::error(error, reference.as_ref())),
        },
        JsonCommand::Relays { .. } => match node.relays().await {
            Ok(relays) => Output::Line(json::with_ref(
                json!({"event": "relays", "relays": relays.iter().map(json::relay).collect::<Vec<_>>()}),
                reference.as_ref(),
            )),
            Err(error) => Output::Line(json::error(error, reference.as_ref())),
        },
        JsonCommand::CreateGroup {
            name,
            members,
            channel,
            ..
        } => {
            let members: Vec<&str> = members.iter().map(String::as_str).collect();
            match node.create_group(&name, &members, channel).await {
                Ok(info) => {
                    let mut line = json::group(&info);
                    if let Some(fields) = line.as_object_mut() {
                        fields.insert("event".to_owned(), json!("group_created"));
                    }
                    Output::Line(json::with_ref(line, reference.as_ref()))
                }
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::AddMember { group, contact, .. } => {
            let before = members_of(node, &group).await;
            match node.add_member(&group, &contact).await {
                Ok(info) => {
                    let added = changed(&info.members, &before).unwrap_or(contact);
                    Output::Line(json::with_ref(
                        json!({"event": "member_added", "group": info.id, "contact": added}),
                        reference.as_ref(),
                    ))
                }
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::RemoveMember { group, contact, .. } => {
            let before = members_of(node, &group).await;
            match node.remove_member(&group, &contact).await {
                Ok(info) => {
                    let removed = changed(&before, &info.members).unwrap_or(contact);
                    Output::Line(json::with_ref(
                        json!({"event": "member_removed", "group": info.id, "contact": removed}),
                        reference.as_ref(),
                    ))
                }
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::PromoteMember { group, contact, .. } => {
            let before = group_of(node, &group).await.map(|g| g.admins);
            match node.promote_member(&group, &contact).await {
                Ok(info) => {
                    let promoted =
                        changed(&info.admins, &before.unwrap_or_default()).unwrap_or(contact);
                    Output::Line(json::with_ref(
                        json!({"event": "member_promoted", "group": info.id, "contact": promoted}),
                        reference.as_ref(),
                    ))
                }
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::RenameGroup { group, name, .. } => {
            match node.rename_group(&group, &name).await {
                Ok(info) => Output::Line(json::with_ref(
                    json::renamed(&info.id, &info.name),
                    reference.as_ref(),
                )),
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
        JsonCommand::LeaveGroup { group, .. } => {
            let id = group_named(node, &group)
                .await
                .unwrap_or_else(|| group.trim().to_owned());
            match node.leave_group(&group).await {
                Ok(()) => Output::Line(json::with_ref(
                    json!({"event": "group_left", "group": id}),
                    reference.as_ref(),
                )),
                Err(error) => Output::Line(json::error(error, reference.as_ref())),
            }
        }
    };
    out.send(answer).await.ok();
}

/// The id of our group `text` names, if it names one (a `send` target may
/// be a contact or a group).
async fn group_named(node: &Node, text: &str) -> Option<String> {
    let text = text.trim();
    if !json::is_group_id(text) {
        return None;
    }
    node.groups()
        .await
        .ok()?
        .into_iter()
        .find(|g| g.id.eq_ignore_ascii_case(text))
        .map(|g| g.id)
}

/// Our group `text` names, as it is now.
async fn group_of(node: &Node, text: &str) -> Option<GroupInfo> {
    let text = text.trim();
    node.groups()
        .await
        .ok()
        .and_then(|groups| groups.into_iter().find(|g| g.id.eq_ignore_ascii_case(text)))
}

/// The members of group `text` now (empty if it names none).
async fn members_of(node: &Node, text: &str) -> Vec<String> {
    group_of(node, text)
        .await
        .map(|g| g.members)
        .unwrap_or_default()
}

/// The one peer id in `more` that is not in `fewer` (the member a
/// membership change added, removed or promoted).
fn changed(more: &[String], fewer: &[String]) -> Option<String> {
    let mut new = more.iter().filter(|m| !fewer.contains(m));
    match (new.next(), new.next()) {
        (Some(one), None) => Some(one.clone()),
        _ => None,
    }
}

/// Owns stdout (see the module documentation).
async fn write_output(mut queue: mpsc::Receiver<Output>, as_json: bool) {
    let mut stdout = tokio::io::stdout();
    let mut refs: HashMap<String, Option<Value>> = HashMap::new();
    let mut ref_order: VecDeque<String> = VecDeque::new();
    let mut in_flight = 0usize;
    let mut held: VecDeque<NodeEvent> = VecDeque::new();
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, 1_024).await > 0 {
        let mut text = String::new();
        for item in batch.drain(..) {
            let mut lines = Vec::new();
            match item {
                Output::Line(value) => lines.push(value),
                Output::SendStarted => in_flight += 1,
                Output::SendFailed => {
                    in_flight = in_flight.saturating_sub(1);
                    if in_flight == 0 {
                        release(&mut held, &refs, &mut lines, None);
                    }
                }
                Output::SendDone {
                    id,
                    conversation,
                    group,
                    reference,
                } => {
                    in_flight = in_flight.saturating_sub(1);
                    lines.push(json::status(
                        &json::StatusLine {
                            id: &id,
                            conversation,
                            state: Status::Sending,
                            detail: None,
                            group: group.as_deref(),
                            member: None,
                        },
                        reference.as_ref(),
                    ));
                    if refs.len() >= MAX_REFS
                        && let Some(oldest) = ref_order.pop_front()
                    {
                        refs.remove(&oldest);
                    }
                    refs.insert(id.clone(), reference);
                    ref_order.push_back(id.clone());
                    let only = if in_flight == 0 {
                        None
                    } else {
                        Some(id.as_str())
                    };
                    release(&mut held, &refs, &mut lines, only);
                }
                Output::Event(event) => match &event {
                    // The writer announces `sending` itself, with the ref.
                    NodeEvent::StatusChanged {
                        status: Status::Sending,
                        id,
                        ..
                    } if refs.contains_key(id) || in_flight > 0 => {}
                    NodeEvent::StatusChanged { id, .. }
                        if in_flight > 0 && !refs.contains_key(id) =>
                    {
                        if held.len() < MAX_HELD {
                            held.push_back(event);
                        }
                    }
                    _ => lines.extend(render(&event, &refs)),
                },
            }
            for line in lines {
                if as_json {
                    text.push_str(&line.to_string());
                } else {
                    text.push_str(&human(&line));
                }
                text.push('\n');
            }
        }
        if stdout.write_all(text.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
            return;
        }
    }
}

/// Writes held status events: those of `only` (or all when `None`), in
/// the order they came.
fn release(
    held: &mut VecDeque<NodeEvent>,
    refs: &HashMap<String, Option<Value>>,
    lines: &mut Vec<Value>,
    only: Option<&str>,
) {
    let mut keep = VecDeque::new();
    for event in held.drain(..) {
        let matches = match (&event, only) {
            (_, None) => true,
            (NodeEvent::StatusChanged { id, .. }, Some(only)) => id == only,
            _ => true,
        };
        if matches {
            if !matches!(
                event,
                NodeEvent::StatusChanged {
                    status: Status::Sending,
                    ..
                }
            ) {
                lines.extend(render(&event, refs));
            }
        } else {
            keep.push_back(event);
        }
    }
    *held = keep;
}

/// An engine event as a line, with the ref of the message it concerns.
fn render(event: &NodeEvent, refs: &HashMap<String, Option<Value>>) -> Option<Value> {
    let line = json::event(event)?;
    Some(match event {
        NodeEvent::StatusChanged { id, .. } => {
            json::with_ref(line, refs.get(id).and_then(Option::as_ref))
        }
        _ => line,
    })
}

/// A line for people: `event: key=value …`.
fn human(line: &Value) -> String {
    let Some(object) = line.as_object() else {
        return line.to_string();
    };
    let kind = object.get("event").and_then(Value::as_str).unwrap_or("?");
    let mut text = kind.to_owned();
    text.push(':');
    for (key, value) in object {
        if key == "event" || value.is_null() {
            continue;
        }
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!(" {key}={value}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8]) -> Vec<Result<String, &'static str>> {
        let mut reader = BufReader::with_capacity(64, input);
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader).await.unwrap() {
                Line::End => return out,
                Line::Text(text) => out.push(Ok(String::from_utf8(text).unwrap())),
                Line::TooLong => out.push(Err("too long")),
            }
        }
    }

    #[test]
    fn a_membership_change_names_the_one_member_it_changed() {
        let two = ["a".to_owned(), "b".to_owned()];
        let three = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(changed(&three, &two), Some("c".to_owned()));
        assert_eq!(changed(&two, &two), None);
        assert_eq!(changed(&three, &[]), None);
    }

    #[tokio::test]
    async fn lines_are_bounded_and_overlong_ones_skipped_whole() {
        let mut input = b"first\n".to_vec();
        input.extend(vec![b'x'; MAX_LINE_BYTES + 10]);
        input.extend(b"\nlast".as_slice());
        assert_eq!(
            lines(&input).await,
            [
                Ok("first\n".to_owned()),
                Err("too long"),
                Ok("last".to_owned())
            ]
        );
        // A line of exactly the limit, newline included, is accepted.
        let mut input = vec![b'y'; MAX_LINE_BYTES - 1];
        input.push(b'\n');
        assert_eq!(lines(&input).await.len(), 1);
        assert!(lines(&input).await[0].is_ok());
    }
}
