//! The Russian words staff read, in one place: the domain and the delivery
//! engine produce codes with parameters (and English `Display` texts for
//! the JSON API and logs); pages and the composer translate them here.
//! Each is a method of the [`Label`] (or [`Badge`]) trait, so a page or
//! its template only needs `use crate::web::words::Label;` to call
//! `.label()` on a domain value, as it did when the domain held the words.

pub mod analytics;
mod broadcast;
pub mod common;
mod content;
pub mod messages;
pub mod pages;
mod people;
pub mod problems;
mod reason;

pub use people::suggested_display_name;

/// The Russian for a domain value.
pub trait Label {
    /// `&'static str` where the words are fixed, `String` where they carry
    /// parameters.
    type Text: AsRef<str> + std::fmt::Display;

    fn label(&self) -> Self::Text;
}

/// The pages' badge style (CSS modifier class) for a status: `ok`, `bad`,
/// `warn`, `new` or `unknown`.
pub trait Badge {
    fn badge(&self) -> &'static str;
}
