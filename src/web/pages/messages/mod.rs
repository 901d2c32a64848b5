//! `/messages` (admin): the broadcast history, one broadcast with its live
//! progress and recipients, and the actions behind a confirmation.

mod actions;
mod audience;
mod detail;
mod history;
mod progress;
pub mod render;
mod shared;

use crate::web::routes::Routes;

pub fn routes() -> Routes {
    history::routes()
        .merge(detail::routes())
        .merge(actions::routes())
}
