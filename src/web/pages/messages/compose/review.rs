//! The composer's form checked through and through: read as a request
//! ([`check::read`]) and reviewed by the use case the API's preview uses
//! too, which names the people typed into the users field.

use chrono_tz::Tz;
use sqlx::PgPool;

use super::check;
use super::form::ComposerForm;
use crate::app::broadcasts;
use crate::domain::content::ContentType;
use crate::domain::telegram_html::Kind;

pub use crate::app::broadcasts::Review;

/// Checks `form` (times in the school's zone `tz`) through and through.
pub async fn review(pool: &PgPool, form: &ComposerForm, tz: Tz) -> sqlx::Result<Review> {
    broadcasts::review(pool, check::read(form, tz), &check::named_ids(form)).await
}

/// The length limit of the text field for `content_type`.
pub fn max_length(content_type: &str) -> usize {
    match ContentType::parse(content_type) {
        Some(ContentType::Text) | None => Kind::Message.max_len(),
        Some(_) => Kind::Caption.max_len(),
    }
}
