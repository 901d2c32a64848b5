//! Pure rules, no I/O.

pub mod analytics;
pub mod audience;
pub mod booking;
pub mod booking_change;
pub mod broadcast;
pub mod content;
pub mod enrolment;
pub mod input;
pub mod lead;
pub mod reason;
pub mod role;
pub mod staff;
pub mod stream;
pub mod telegram_html;
pub mod text;
pub mod time;
pub mod user;
pub mod watermark;
