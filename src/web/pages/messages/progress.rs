//! The live part of a broadcast page: status, progress bar with counts per
//! delivery status, send rate, ETA and the actions the state allows.
//! `GET /messages/{id}/progress` answers it alone; htmx polls that every
//! 2 s while it may still change (`data-live`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::actions::{self, PageAction};
use super::shared::{self, Id};
use crate::domain::broadcast::{BroadcastStatus, RecipientStatus};
use crate::store::broadcasts::{Broadcast, Counts};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::pages::htmx::{Fragment, VARY};
use crate::web::words::{self, Badge, Label};

#[derive(Template, WebTemplate)]
#[template(path = "partials/message_progress.html")]
pub struct Progress {
    pub id: i32,
    pub status: BroadcastStatus,
    pub reason: Option<String>,
    pub counts: Counts,
    /// Recipients with a final outcome (for legacy broadcasts: the ones
    /// the old dashboard counted as delivered).
    pub settled: i64,
    pub percent: i64,
    pub rate: Option<String>,
    pub eta: Option<String>,
    /// Waiting to be sent, but there is no bot token.
    pub not_configured: bool,
    pub legacy: bool,
    pub actions: Vec<PageAction>,
    /// Whether it may still change by itself: keep polling.
    pub live: bool,
    /// An htmx poll found it final: load the page's other parts once.
    pub settle: bool,
}

/// «45 с», «3 мин 20 с», «2 ч 5 мин».
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..60 => words::messages::seconds(seconds),
        60..3600 => words::messages::minutes_seconds(seconds / 60, seconds % 60),
        _ => words::messages::hours_minutes(seconds / 3600, seconds % 3600 / 60),
    }
}

impl Progress {
    pub async fn of(state: &AppState, broadcast: &Broadcast) -> Result<Self, AppError> {
        let deletable = actions::deletable(state, broadcast).await?;
        let telegram = state.telegram.is_some();
        let counts = broadcast.counts;
        let settled = counts.sent
            + counts.failed
            + counts.blocked
            + counts.unknown
            + counts.skipped
            + counts.deleted;
        let percent = if counts.total > 0 {
            settled * 100 / counts.total
        } else {
            0
        };
        let status = broadcast.status;
        Ok(Self {
            id: broadcast.id,
            status,
            reason: broadcast.status_reason.as_ref().map(Label::label),
            counts,
            settled,
            percent,
            rate: broadcast
                .rate_per_sec()
                .map(|rate| format!("{rate:.1}").replace('.', ",")),
            eta: broadcast
                .eta_seconds(state.config.send_rate_per_sec)
                .filter(|_| telegram)
                .map(duration),
            not_configured: !telegram
                && matches!(
                    status,
                    BroadcastStatus::Scheduled | BroadcastStatus::Sending
                ),
            legacy: broadcast.legacy,
            actions: actions::available(broadcast, deletable),
            live: matches!(
                status,
                BroadcastStatus::Sending | BroadcastStatus::Scheduled | BroadcastStatus::Paused
            ),
            settle: false,
        })
    }

    /// The delivery statuses worth a line: the main four always, the rest
    /// when someone has them.
    fn lines(&self) -> Vec<(RecipientStatus, i64)> {
        self.counts
            .by_status()
            .into_iter()
            .enumerate()
            .filter(|(i, (_, n))| *i < 4 || *n > 0)
            .map(|(_, line)| line)
            .collect()
    }
}

/// `GET /messages/{id}/progress`: the fragment alone.
#[tracing::instrument(skip_all, fields(id = id.0))]
pub async fn fragment(
    State(state): State<AppState>,
    _principal: Principal,
    htmx: Fragment,
    id: Id,
) -> Result<Response, AppError> {
    let broadcast = shared::load(&state.pool, id).await?;
    let mut progress = Progress::of(&state, &broadcast).await?;
    // Only live cards poll, so an htmx request finding it final is the
    // poll that saw it finish.
    progress.settle = htmx.0 && !progress.live;
    Ok((
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            VARY,
        ],
        progress,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0 с");
        assert_eq!(duration(59), "59 с");
        assert_eq!(duration(200), "3 мин 20 с");
        assert_eq!(duration(7500), "2 ч 5 мин");
    }
}
