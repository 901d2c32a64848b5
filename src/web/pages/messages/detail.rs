//! `GET /messages/{id}`: a broadcast as sent — content (rendered through
//! [`super::render`] and as its source), audience, times, the live
//! [`super::progress`] part, and its recipients with a status filter, 100
//! to a page.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::actions::PageAction;
use super::audience::summary;
use super::progress::{self, Progress};
use super::render::telegram_to_html;
use super::shared::{self, Id, MAX_PAGE, PageQuery, Words, with_query};
use crate::app::broadcasts::filters::RecipientFilter;
use crate::domain::broadcast::RecipientStatus;
use crate::domain::content::ContentType;
use crate::domain::input::Bounded;
use crate::domain::telegram_html::is_absolute_url;
use crate::store::broadcast_history::{self, NamedRecipient};
use crate::store::broadcasts::{self, Broadcast};
use crate::web::AppState;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::pages::{Layout, maybe_local_time, person_name, telegram_link};
use crate::web::routes::Routes;
use crate::web::words::{self, Label};

pub const RECIPIENTS_PAGE: i64 = 100;

pub fn routes() -> Routes {
    Routes::default()
        .get("/messages/{id}", Access::ADMIN, show)
        .get("/messages/{id}/progress", Access::ADMIN, progress::fragment)
}

/// `?status=…&page=N&done=…`: the recipients filter and page, and the
/// action just done (for its notice); blank fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    status: Option<RecipientFilter>,
    page: Option<Bounded<1, { MAX_PAGE }>>,
    done: Option<String>,
}

impl Words for DetailQuery {
    fn refusal(field: &str) -> Option<String> {
        (field == "status").then(|| words::messages::BAD_RECIPIENT_STATUS.to_owned())
    }
}

impl DetailQuery {
    /// The filter, the page (from 1) and the notice.
    fn read(&self) -> (Option<RecipientStatus>, i64, Option<&'static str>) {
        (
            self.status.map(|status| status.0),
            self.page.map_or(1, Bounded::get),
            self.done.as_deref().and_then(PageAction::notice),
        )
    }
}

/// An inline button as stored: its text and what it does.
pub struct ButtonView {
    pub text: String,
    /// A link the browser may follow.
    pub url: Option<String>,
    /// The URL or callback data, shown as text.
    pub target: String,
}

/// Stored (API.md) button rows as the pages show them.
pub fn buttons(raw: &Value) -> Vec<Vec<ButtonView>> {
    let field =
        |button: &Value, key: &str| button.get(key).and_then(Value::as_str).map(str::to_owned);
    raw.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .map(|row| {
            row.iter()
                .map(|button| {
                    let url = field(button, "url");
                    let callback = field(button, "callback_data");
                    ButtonView {
                        text: field(button, "text").unwrap_or_default(),
                        url: url.clone().filter(|url| is_absolute_url(url)),
                        target: match (url, callback) {
                            (Some(url), _) => url,
                            (None, Some(data)) => format!("callback: {data}"),
                            (None, None) => String::new(),
                        },
                    }
                })
                .collect()
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
pub struct MessagePage {
    layout: Layout,
    b: Broadcast,
    audience: String,
    kind: String,
    /// `b.text` as browser HTML, made safe by `telegram_to_html`.
    rendered: String,
    /// Whether the stored content passes today's checks.
    valid: bool,
    buttons: Vec<Vec<ButtonView>>,
    /// The [`Progress`] fragment, rendered.
    progress: String,
    notice: Option<&'static str>,
    recipients: Vec<NamedRecipient>,
    filter: Option<RecipientStatus>,
    filters: Vec<(RecipientStatus, i64)>,
    shown_total: i64,
    page: i64,
    pages: i64,
    tz: Tz,
}

impl MessagePage {
    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        maybe_local_time(self.tz, at)
    }

    fn page_href(&self, page: i64) -> String {
        let mut pairs = Vec::new();
        if let Some(status) = self.filter {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        format!(
            "{}#recipients",
            with_query(&format!("/messages/{}", self.b.id), &pairs)
        )
    }

    fn status_href(&self, status: &RecipientStatus) -> String {
        format!(
            "/messages/{}?status={}#recipients",
            self.b.id,
            status.as_str()
        )
    }

    fn is_filter(&self, status: &RecipientStatus) -> bool {
        self.filter == Some(*status)
    }

    fn recipient_status(row: &NamedRecipient) -> &'static str {
        row.status
            .parse::<RecipientStatus>()
            .map_or(words::messages::UNKNOWN_RECIPIENT_STATUS, |status| {
                status.label()
            })
    }

    fn name(row: &NamedRecipient) -> String {
        person_name(&row.first_name, &row.last_name)
    }

    fn link(username: &str) -> Option<String> {
        telegram_link(username)
    }
}

/// `GET /messages/{id}[?status=…][&page=N][&done=…]`.
#[tracing::instrument(skip_all, fields(id = id.0))]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    PageQuery(query): PageQuery<DetailQuery>,
) -> Result<MessagePage, AppError> {
    let (filter, page, notice) = query.read();
    let Id(id) = id;
    let b = broadcasts::get(&state.pool, id)
        .await?
        .ok_or_else(shared::not_found)?;
    let names = shared::stream_names(&state.pool).await?;
    let progress = Progress::of(&state, &b)
        .await?
        .render()
        .map_err(|err| AppError::Internal(err.into()))?;
    let recipients = broadcast_history::named_recipients(
        &state.pool,
        id,
        filter,
        RECIPIENTS_PAGE,
        (page - 1) * RECIPIENTS_PAGE,
    )
    .await?;
    let shown_total = broadcasts::recipient_total(&state.pool, id, filter).await?;
    let filters = b
        .counts
        .by_status()
        .into_iter()
        .filter(|(status, n)| *n > 0 || filter == Some(*status))
        .collect();
    Ok(MessagePage {
        layout: Layout::new("/messages", &principal),
        audience: summary(&b, &names),
        kind: ContentType::parse(&b.content_type)
            .map_or_else(|| b.content_type.clone(), |kind| kind.label().to_owned()),
        rendered: telegram_to_html(&b.text),
        valid: b.content().is_some(),
        buttons: buttons(&b.buttons),
        progress,
        notice,
        recipients,
        filter,
        filters,
        shown_total,
        page,
        pages: shared::pages(shown_total, RECIPIENTS_PAGE),
        tz: state.config.school_timezone,
        b,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(query: &str) -> Result<(Option<RecipientStatus>, i64, Option<&'static str>), String> {
        crate::web::extract::text_values::from_query::<DetailQuery>(query, true)
            .map(|query| query.read())
            .map_err(|problem| {
                DetailQuery::refusal(&problem.field).unwrap_or_else(|| problem.russian())
            })
    }

    #[test]
    fn query_is_checked() {
        assert_eq!(parse("status=&page=").unwrap(), (None, 1, None));
        assert_eq!(
            parse("status=failed&page=2&done=cancel").unwrap(),
            (Some(RecipientStatus::Failed), 2, Some("Рассылка отменена."))
        );
        assert_eq!(parse("done=nonsense").unwrap().2, None);
        for (bad, words) in [
            ("status=done", "Статус получателя"),
            ("page=0", "Номер страницы"),
            ("page=1.5", "Номер страницы"),
        ] {
            let message = parse(bad).unwrap_err();
            assert!(message.starts_with(words), "{bad}: {message}");
        }
    }

    #[test]
    fn only_absolute_button_urls_are_links() {
        let rows = buttons(&json!([
            [{"text": "Сайт", "url": "https://hashslash.school"}, {"text": "Да", "callback_data": "yes"}],
            [{"text": "x", "url": "javascript:alert(1)"}]
        ]));
        assert_eq!(rows[0][0].url.as_deref(), Some("https://hashslash.school"));
        assert_eq!(rows[0][1].target, "callback: yes");
        assert_eq!(rows[1][0].url, None);
        assert_eq!(rows[1][0].target, "javascript:alert(1)");
        assert!(buttons(&json!("nonsense")).is_empty());
    }
}
