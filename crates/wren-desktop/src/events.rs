//! The node's events as an iced [`Subscription`].
//!
//! [`Node::open`](wren_core::Node::open) hands back a receiver; it is parked
//! in an [`EventSource`] and moved into the subscription's stream the first
//! time iced runs it. The source's id identifies the subscription, so it
//! keeps running across `update`s and stops with the main screen.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use iced::Subscription;
use tokio::sync::mpsc;
use wren_core::NodeEvent;

/// A node's event receiver, waiting for its subscription to take it.
#[derive(Debug, Clone)]
pub struct EventSource {
    id: u64,
    receiver: Arc<Mutex<Option<mpsc::Receiver<NodeEvent>>>>,
}

impl EventSource {
    /// Parks `receiver` for the subscription.
    pub fn new(receiver: mpsc::Receiver<NodeEvent>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            receiver: Arc::new(Mutex::new(Some(receiver))),
        }
    }

    /// The node's events, as long as the node runs.
    pub fn subscription(&self) -> Subscription<NodeEvent> {
        Subscription::run_with(self.clone(), stream)
    }
}

impl Hash for EventSource {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

/// The stream of events; empty if another stream already took the receiver.
fn stream(source: &EventSource) -> BoxStream<'static, NodeEvent> {
    let receiver = source.receiver.lock().ok().and_then(|mut slot| slot.take());
    futures::stream::unfold(receiver, |receiver| async move {
        let mut receiver = receiver?;
        let event = receiver.recv().await?;
        Some((event, Some(receiver)))
    })
    .boxed()
}
