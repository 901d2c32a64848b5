//! Pure rules, no I/O.

pub mod booking;
pub mod broadcast;
pub mod role;
pub mod staff;
pub mod stream;
pub mod telegram_html;
