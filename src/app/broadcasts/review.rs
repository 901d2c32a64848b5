//! A request checked through and through without sending anything: the
//! domain's rules, the time, and what needs the database — the named people
//! and streams exist, the audience is not empty — with who it would reach.
//! The API's preview and the composer's live panel both show this.

use chrono::Utc;
use sqlx::PgPool;

use super::Valid;
use super::check::{self, Checked, Field, Problem, Unchecked};
use crate::domain::audience::Audience;
use crate::domain::content::Content;
use crate::store::audience::{self, Estimate, Named};
use crate::store::people;

/// The most people of a users field named with their names.
pub const MAX_NAMED: usize = 200;

/// What a request would do, and everything wrong with it.
#[derive(Debug, Clone)]
pub struct Review {
    pub checked: Checked,
    /// Every problem, the database's included, in the order of the fields.
    pub problems: Vec<Problem>,
    /// Who the audience reaches now (when it is valid), blocked included.
    pub estimate: Option<Estimate>,
    /// Named people the bot has never seen.
    pub unknown_users: Vec<i64>,
    /// Named streams neither registered nor in any booking.
    pub unknown_streams: Vec<String>,
    /// The people asked to be named (see [`review`]).
    pub named: Vec<Named>,
}

impl Review {
    /// The broadcast to create, when nothing is wrong.
    pub fn valid(&self) -> Option<Valid> {
        if !self.problems.is_empty() {
            return None;
        }
        self.checked.clone().valid().ok()
    }

    pub fn content(&self) -> Option<&Content> {
        self.checked.content.as_ref().ok()
    }

    /// Who would get it now: the audience without the people who blocked
    /// the bot and without unknown ids.
    pub fn recipients(&self) -> Option<i64> {
        let unknown = self.unknown_users.len() as i64;
        self.estimate
            .map(|estimate| (estimate.recipients() - unknown).max(0))
    }
}

/// Checks `unchecked` through and through, and names the people `to_name`
/// (ids typed into the composer's users field, valid or not). Brings the
/// people directory up to date first: every audience query reads it, the
/// caller's later ones (stream members, segment counts) included.
#[tracing::instrument(skip_all, fields(named = to_name.len()))]
pub async fn review(pool: &PgPool, unchecked: Unchecked, to_name: &[i64]) -> sqlx::Result<Review> {
    people::catch_up(pool).await?;
    let checked = check::check(unchecked);
    let mut problems: Vec<Problem> = checked.problems().into_iter().cloned().collect();
    if let Ok(Some(at)) = checked.scheduled_at
        && let Some(past) = Problem::past(at, Utc::now())
    {
        problems.push(past);
    }
    let named = match to_name {
        [] => Vec::new(),
        ids => audience::named(pool, &ids[..ids.len().min(MAX_NAMED)]).await?,
    };
    let mut review = Review {
        checked,
        problems,
        estimate: None,
        unknown_users: Vec::new(),
        unknown_streams: Vec::new(),
        named,
    };
    if let Ok(Audience::Stream { streams, statuses }) = &review.checked.audience {
        // Each stream with its course, as the broadcast will be stored.
        let checked = audience::check_streams(pool, streams).await?;
        review.unknown_streams = checked.unknown;
        if !review.unknown_streams.is_empty() {
            let codes = review.unknown_streams.clone();
            review.problems.push(Problem::UnknownStreams(codes));
        }
        if !checked.ambiguous.is_empty() {
            review
                .problems
                .push(Problem::AmbiguousStreams(checked.ambiguous));
        } else if review.unknown_streams.is_empty() {
            review.checked.audience = Ok(Audience::Stream {
                streams: checked.resolved,
                statuses: statuses.clone(),
            });
        }
    }
    if let Ok(audience) = &review.checked.audience {
        match audience {
            Audience::Users { user_ids } => {
                review.unknown_users = audience::unknown_users(pool, user_ids).await?;
                if !review.unknown_users.is_empty() {
                    let ids = review.unknown_users.clone();
                    review.problems.push(Problem::UnknownUsers(ids));
                }
            }
            Audience::Stream { .. } | Audience::Segment { .. } => {}
        }
        let estimate = audience::estimate(pool, audience).await?;
        let unknown = !review.unknown_users.is_empty() || !review.unknown_streams.is_empty();
        if estimate.recipients() <= 0 && !unknown {
            review.problems.push(Problem::EmptyAudience {
                field: Field::of_audience(audience),
                blocked: estimate.blocked,
            });
        }
        review.estimate = Some(estimate);
    }
    review.problems.sort_by_key(Problem::field);
    Ok(review)
}
