//! "Add contact": a pasted pairing code or a typed peer id, and the Wren
//! peers nearby.

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Element, Length, Task};
use wren_core::{ContactInfo, ContactPreview, Known, NearbyPeer, Node, NodeEvent};

use crate::qr;
use crate::theme;

/// The panel.
#[derive(Debug)]
pub struct AddContact {
    node: Node,
    target: String,
    alias: String,
    nearby: Vec<NearbyPeer>,
    busy: bool,
    added: Option<ContactInfo>,
    error: Option<String>,
    /// Who the code or peer id in the field names, once it parses.
    preview: Option<ContactPreview>,
}

/// The panel's input.
#[derive(Debug, Clone)]
pub enum Message {
    /// The code / peer id field changed.
    TargetChanged(String),
    /// The alias field changed.
    AliasChanged(String),
    /// Add the contact.
    Add,
    /// The contact was added (or not).
    Added(Result<ContactInfo, String>),
    /// The nearby peers were listed.
    Nearby(Result<Vec<NearbyPeer>, String>),
    /// Use a nearby peer's id.
    Pick(String),
    /// Choose an image file holding a QR code.
    OpenImage,
    /// Read a QR code from an image on the clipboard.
    PasteImage,
    /// A QR image was read: its code, or why not (`None`: cancelled).
    FromImage(Result<Option<String>, String>),
    /// The preview of what was in the field (the field's text, and who it
    /// names or why it does not parse).
    Previewed(String, Result<ContactPreview, String>),
}

/// What the parent should do.
#[derive(Debug, Clone)]
pub enum Event {
    /// A contact was added: open its conversation.
    Added(ContactInfo),
}

impl AddContact {
    /// The panel for `node`.
    pub fn new(node: Node) -> Self {
        Self {
            node,
            target: String::new(),
            alias: String::new(),
            nearby: Vec::new(),
            busy: false,
            added: None,
            error: None,
            preview: None,
        }
    }

    /// Sets the field and asks who it names.
    fn set_target(&mut self, target: String) -> Task<Message> {
        self.target = target;
        self.preview = None;
        let target = self.target.trim().to_owned();
        if target.is_empty() {
            return Task::none();
        }
        let node = self.node.clone();
        Task::perform(
            async move {
                let preview = node
                    .preview_contact(&target)
                    .await
                    .map_err(|e| e.to_string());
                (target, preview)
            },
            |(target, preview)| Message::Previewed(target, preview),
        )
    }

    /// Lists the nearby peers again.
    pub fn refresh(&self) -> Task<Message> {
        let node = self.node.clone();
        Task::perform(
            async move { node.nearby().await.map_err(|e| e.to_string()) },
            Message::Nearby,
        )
    }

    /// Applies discovery events.
    pub fn on_event(&mut self, event: &NodeEvent) -> Task<Message> {
        match event {
            NodeEvent::PeerDiscovered { .. } | NodeEvent::PeerExpired { .. } => self.refresh(),
            _ => Task::none(),
        }
    }

    /// Handles a message.
    pub fn update(&mut self, message: Message) -> (Task<Message>, Option<Event>) {
        match message {
            Message::TargetChanged(target) | Message::Pick(target) => {
                return (self.set_target(target), None);
            }
            Message::AliasChanged(alias) => self.alias = alias,
            Message::Previewed(target, preview) => {
                // Only the answer for what the field holds now counts.
                if target == self.target.trim() {
                    self.preview = preview.ok();
                }
            }
            Message::Add => {
                let target = self.target.trim().to_owned();
                let myself = self
                    .preview
                    .as_ref()
                    .is_some_and(|p| p.known == Known::Myself);
                if target.is_empty() || self.busy || myself {
                    return (Task::none(), None);
                }
                self.busy = true;
                self.error = None;
                let alias = Some(self.alias.trim().to_owned()).filter(|a| !a.is_empty());
                let node = self.node.clone();
                return (
                    Task::perform(
                        async move {
                            node.add_contact(&target, alias)
                                .await
                                .map_err(|e| e.to_string())
                        },
                        Message::Added,
                    ),
                    None,
                );
            }
            Message::Added(Ok(contact)) => {
                self.busy = false;
                self.target.clear();
                self.alias.clear();
                self.preview = None;
                self.added = Some(contact.clone());
                return (Task::none(), Some(Event::Added(contact)));
            }
            Message::Added(Err(error)) => {
                self.busy = false;
                self.error = Some(error);
            }
            Message::OpenImage => return (Task::perform(open_image(), Message::FromImage), None),
            Message::PasteImage => {
                return (Task::perform(paste_image(), Message::FromImage), None);
            }
            Message::FromImage(Ok(Some(code))) => {
                self.error = None;
                return (self.set_target(code), None);
            }
            Message::FromImage(Ok(None)) => {}
            Message::FromImage(Err(error)) => self.error = Some(error),
            Message::Nearby(Ok(nearby)) => self.nearby = nearby,
            Message::Nearby(Err(error)) => self.error = Some(error),
        }
        (Task::none(), None)
    }

    /// The panel.
    pub fn view(&self) -> Element<'_, Message> {
        let label = match self.preview.as_ref().map(|p| p.known) {
            Some(Known::Request) => "Accept",
            _ => "Add",
        };
        let mut add = button(text(label));
        let myself = self
            .preview
            .as_ref()
            .is_some_and(|p| p.known == Known::Myself);
        if !self.busy && !myself {
            add = add.on_press(Message::Add);
        }
        let mut panel = column![
            text("Add contact").size(22),
            text("Paste your friend's code, or type their peer id.").style(theme::muted),
            text_input("wren:1/… or 12D3KooW…", &self.target)
                .id("contact-code")
                .on_input(Message::TargetChanged)
                .on_paste(Message::TargetChanged)
                .on_submit(Message::Add)
                .padding(8),
            text_input("Name for this contact (optional)", &self.alias)
                .id("contact-alias")
                .on_input(Message::AliasChanged)
                .on_submit(Message::Add)
                .padding(8),
            row![
                add,
                button(text("Open QR image…"))
                    .style(button::secondary)
                    .on_press(Message::OpenImage),
                button(text("Paste QR image"))
                    .style(button::secondary)
                    .on_press(Message::PasteImage),
            ]
            .spacing(8),
        ]
        .spacing(12);
        if let Some(preview) = &self.preview {
            panel = panel.push(preview_card(preview));
        }
        if self.busy {
            panel = panel.push(text("Reaching them…").style(theme::muted));
        }
        if let Some(error) = &self.error {
            panel = panel.push(text(error).style(theme::danger));
        }
        if let Some(added) = &self.added {
            panel = panel.push(
                container(
                    column![
                        text(format!("Added {}", added.name)),
                        text(format!("Safety number: {}", added.safety_number))
                            .size(12)
                            .style(theme::muted),
                        text("Compare it with your friend to mark them verified.")
                            .size(12)
                            .style(theme::muted),
                    ]
                    .spacing(4),
                )
                .padding(10)
                .style(theme::card),
            );
        }
        panel = panel.push(text("Nearby").size(16));
        if self.nearby.is_empty() {
            panel = panel.push(text("No Wren peers found nearby.").style(theme::muted));
        }
        for peer in &self.nearby {
            panel = panel.push(
                row![
                    column![
                        text(&peer.peer_id).size(12),
                        text(&peer.fingerprint).size(12).style(theme::muted),
                    ]
                    .width(Length::Fill),
                    button(text("Use").size(12)).on_press(Message::Pick(peer.peer_id.clone())),
                ]
                .spacing(8),
            );
        }
        scrollable(container(panel).padding(20).max_width(640)).into()
    }
}

/// Who the code names, before the user adds it: name, fingerprint, safety
/// number, and what adding will do.
fn preview_card(preview: &ContactPreview) -> Element<'_, Message> {
    let name = preview.name.as_deref().unwrap_or("Name not known yet");
    let what = match preview.known {
        Known::New if preview.nearby => {
            "Nearby on your network. Adding sends them a contact request."
        }
        Known::New => "Adding sends them a contact request.",
        Known::Contact => "Already one of your contacts.",
        Known::Request => "They asked to be your contact: adding accepts their request.",
        Known::Myself => "This is your own code.",
    };
    container(
        column![
            text(name).size(18),
            text(format!("Fingerprint: {}", preview.fingerprint))
                .size(12)
                .style(theme::muted),
            text(format!("Safety number: {}", preview.safety_number))
                .size(12)
                .style(theme::muted),
            text(what).size(12),
        ]
        .spacing(4),
    )
    .id("contact-preview")
    .padding(10)
    .style(theme::card)
    .into()
}

/// Asks for an image file and reads the QR code in it.
async fn open_image() -> Result<Option<String>, String> {
    let Some(file) = rfd::AsyncFileDialog::new()
        .set_title("Open a QR code image")
        .add_filter("Images", &["png", "jpg", "jpeg"])
        .pick_file()
        .await
    else {
        return Ok(None);
    };
    let path = file.path().to_path_buf();
    blocking(move || {
        let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
        if size > qr::MAX_FILE_BYTES {
            return Err("the file is too large for a QR image".into());
        }
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        qr::decode_image(&bytes).map_err(|e| e.to_string())
    })
    .await
}

/// Reads the QR code in the clipboard's image.
async fn paste_image() -> Result<Option<String>, String> {
    blocking(|| {
        let image = arboard::Clipboard::new()
            .and_then(|mut clipboard| clipboard.get_image())
            .map_err(|e| format!("no image on the clipboard ({e})"))?;
        qr::decode_rgba(image.width, image.height, &image.bytes).map_err(|e| e.to_string())
    })
    .await
}

/// Runs blocking work (file and clipboard access, image decoding) off the
/// executor's threads.
async fn blocking(
    work: impl FnOnce() -> Result<String, String> + Send + 'static,
) -> Result<Option<String>, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| e.to_string())?
        .map(Some)
}
