//! The Russian words staff read, in one place: the domain and the delivery
//! engine produce codes with parameters, and pages (and the composer's
//! messages in the API) translate them here. Each is a method of the
//! [`Label`] trait, so a page or template only needs
//! `use crate::web::words::Label;` to call `.label()` on a domain value.

mod reason;

/// The Russian for a domain value.
pub trait Label {
    /// `&'static str` where the words are fixed, `String` where they carry
    /// parameters.
    type Text: AsRef<str> + std::fmt::Display;

    fn label(&self) -> Self::Text;
}
