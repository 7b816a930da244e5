//! The app's screens.

pub mod first_run;
pub mod main;
pub mod unlock;
