//! `/messages`: broadcasts for admins.

mod compose;
pub mod render;

use super::super::routes::Routes;

pub fn routes() -> Routes {
    Routes::default().merge(compose::routes())
}
