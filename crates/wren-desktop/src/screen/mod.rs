//! The app's screens.

use iced::widget::{Column, center, container};
use iced::{Element, Length};

use crate::theme;

pub mod first_run;
pub mod main;
pub mod unlock;

/// The width of the first-run and unlock forms.
const FORM_WIDTH: f32 = 420.0;

/// A form (first run, unlock) on a card in the middle of the window.
fn form_card<'a, Message: 'a>(form: Column<'a, Message>) -> Element<'a, Message> {
    center(
        container(form.max_width(FORM_WIDTH))
            .padding(24)
            .max_width(FORM_WIDTH + 48.0)
            .style(theme::card),
    )
    .width(Length::Fill)
    .height(Length::Fill)
    .into()
}
