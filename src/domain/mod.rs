//! Pure rules, no I/O.

pub mod role;
pub mod staff;
