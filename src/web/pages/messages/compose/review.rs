//! The checks that need the database — named people and streams exist, the
//! audience is not empty — on top of [`check::check`], and what the composer
//! shows about a form: who it goes to, how many, and the message as
//! Telegram will show it.

use chrono::Utc;
use chrono_tz::Tz;
use sqlx::PgPool;

use super::check::{self, Checked, Mistake};
use super::form::ComposerForm;
use crate::app::broadcasts::Valid;
use crate::domain::audience::Audience;
use crate::domain::content::{Content, ContentType};
use crate::domain::telegram_html::Kind;
use crate::store::audience::{self, Estimate, Named};
use crate::web::api::messages::request;

/// A form checked through and through.
#[derive(Debug, Clone)]
pub struct Review {
    pub checked: Checked,
    /// Every mistake, the database's included, in form order.
    pub mistakes: Vec<Mistake>,
    /// Who the audience would reach now (when it is valid).
    pub estimate: Option<Estimate>,
    /// The people named in the users field, with their names.
    pub named: Vec<Named>,
}

/// The field an empty or unknown audience is reported on.
fn audience_field(audience: &Audience) -> &'static str {
    match audience {
        Audience::Users { .. } => "user_ids",
        Audience::Stream { .. } => "streams",
        Audience::Segment { .. } => "segment",
    }
}

/// Checks `form` through and through. Brings the people directory up to
/// date first: names, estimates and the composer's segment counts read it.
pub async fn review(pool: &PgPool, form: &ComposerForm, tz: Tz) -> sqlx::Result<Review> {
    crate::store::people::catch_up(pool).await?;
    let checked = check::check(form, tz, Utc::now());
    let mut mistakes = checked.mistakes();
    let mut estimate = None;
    let mut named = Vec::new();
    if let Ok(ids) = check::user_ids(&form.user_ids)
        && form.audience == "users"
        && !ids.is_empty()
    {
        named = audience::named(pool, &ids[..ids.len().min(200)]).await?;
    }
    if let Ok(audience) = &checked.audience {
        let field = audience_field(audience);
        let mut unknown = false;
        match audience {
            Audience::Users { user_ids } => {
                let ids = audience::unknown_users(pool, user_ids).await?;
                if !ids.is_empty() {
                    mistakes.push(Mistake::new(field, request::unknown_users(&ids).label));
                    unknown = true;
                }
            }
            Audience::Stream { streams, .. } => {
                let codes = audience::unknown_streams(pool, streams).await?;
                if !codes.is_empty() {
                    mistakes.push(Mistake::new(field, request::unknown_streams(&codes).label));
                    unknown = true;
                }
            }
            Audience::Segment { .. } => {}
        }
        let found = audience::estimate(pool, audience).await?;
        if found.recipients() <= 0 && !unknown {
            mistakes.push(Mistake::new(
                field,
                request::empty_audience(found.blocked).label,
            ));
        }
        estimate = Some(found);
    }
    let order = |m: &Mistake| FIELD_ORDER.iter().position(|f| *f == m.field);
    mistakes.sort_by_key(order);
    Ok(Review {
        checked,
        mistakes,
        estimate,
        named,
    })
}

/// The fields in the order the form shows them.
const FIELD_ORDER: [&str; 10] = [
    "audience",
    "user_ids",
    "streams",
    "statuses",
    "segment",
    "content_type",
    "file_id",
    "text",
    "buttons",
    "scheduled_at",
];

impl Review {
    /// The broadcast to create, when nothing is wrong.
    pub fn valid(&self) -> Option<Valid> {
        if !self.mistakes.is_empty() {
            return None;
        }
        Some(Valid {
            audience: self.checked.audience.clone().ok()?,
            content: self.checked.content.clone().ok()?,
            scheduled_at: self.checked.scheduled_at.clone().ok()?,
        })
    }

    pub fn content(&self) -> Option<&Content> {
        self.checked.content.as_ref().ok()
    }

    pub fn recipients(&self) -> Option<i64> {
        self.estimate.map(|estimate| estimate.recipients().max(0))
    }
}

/// The length limit of the text field for `content_type`.
pub fn max_length(content_type: &str) -> usize {
    match ContentType::parse(content_type) {
        Some(ContentType::Text) | None => Kind::Message.max_len(),
        Some(_) => Kind::Caption.max_len(),
    }
}
