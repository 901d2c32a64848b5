//! Pure rules, no I/O.

pub mod booking;
pub mod role;
pub mod staff;
pub mod stream;
pub mod user;
