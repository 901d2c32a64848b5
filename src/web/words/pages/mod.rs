//! The pages' own Russian: error messages, banners, chart titles and CSV
//! headings of the dashboard's pages, one submodule per page or group.
//! (Words for domain values are the [`Label`](super::Label) impls.)

pub mod analytics;
pub mod csv;
pub mod intake;
pub mod registry;
pub mod stream;
pub mod users;

// --- shared by the users list and the user page ---

pub const USER_NOT_FOUND: &str = "Пользователь не найден.";
