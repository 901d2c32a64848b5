//! `/messages` (admin): the broadcast history, the composer with its drafts,
//! one broadcast with its live progress and recipients, and the actions
//! behind a confirmation.

mod actions;
mod audience;
mod compose;
mod detail;
mod history;
mod progress;
pub mod render;
mod shared;

use crate::web::routes::Routes;

pub fn routes() -> Routes {
    history::routes()
        .merge(compose::routes())
        .merge(detail::routes())
        .merge(actions::routes())
}
