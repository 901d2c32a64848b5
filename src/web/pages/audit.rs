//! `/audit` (admin): the audit log with filters and pagination.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::{Layout, day_start};
use crate::domain::input::Bounded;
use crate::store::audit::{self, Entry, Filter};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words;
use crate::web::words::Label;

pub const PAGE_SIZE: i64 = 50;
const MAX_FILTER_CHARS: usize = 200;
const MAX_PAGE: i64 = 1_000_000;

/// The query string as typed, so the form shows it back (blank fields are
/// absent), and the page number.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    entity_type: Option<String>,
    entity_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<Bounded<1, MAX_PAGE>>,
}

fn text(value: &Option<String>, name: &str) -> Result<Option<String>, AppError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) if value.chars().count() > MAX_FILTER_CHARS => Err(AppError::BadRequest(
            words::common::audit_filter_too_long(name, MAX_FILTER_CHARS),
        )),
        Some(value) => Ok(Some(value.to_owned())),
    }
}

fn date(value: &Option<String>, name: &str) -> Result<Option<NaiveDate>, AppError> {
    text(value, name)?
        .map(|raw| {
            NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .map_err(|_| AppError::BadRequest(words::common::audit_bad_date(name)))
        })
        .transpose()
}

/// Validates the query into a store filter and a page number.
pub fn parse(query: &AuditQuery, tz: Tz) -> Result<(Filter, i64), AppError> {
    let from = date(&query.from, words::common::AUDIT_FROM)?;
    let to = date(&query.to, words::common::AUDIT_TO)?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(AppError::BadRequest(
            words::common::AUDIT_DATES_REVERSED.to_owned(),
        ));
    }
    let page = query.page.map_or(1, Bounded::get);
    let filter = Filter {
        actor: text(&query.actor, words::common::AUDIT_ACTOR)?,
        action: text(&query.action, words::common::AUDIT_ACTION)?,
        entity_type: text(&query.entity_type, words::common::AUDIT_ENTITY_TYPE)?,
        entity_id: text(&query.entity_id, words::common::AUDIT_ENTITY_ID)?,
        from: from.map(|day| day_start(day, tz)),
        until: to
            .and_then(|day| day.checked_add_days(Days::new(1)))
            .map(|day| day_start(day, tz)),
    };
    Ok((filter, page))
}

/// One changed field of an entry: (field, before, after).
pub type FieldChange = (String, String, String);

fn show_value(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "—".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// The fields that differ between `before` and `after`, in key order.
pub fn field_changes(entry: &Entry) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let as_object = |value: &Option<Value>| match value {
        Some(Value::Object(map)) => Some(map.clone()),
        _ => None,
    };
    let (before, after) = (as_object(&entry.before), as_object(&entry.after));
    if before.is_none() && after.is_none() {
        return match (&entry.before, &entry.after) {
            (None, None) => Vec::new(),
            (before, after) => vec![(
                String::new(),
                show_value(before.as_ref()),
                show_value(after.as_ref()),
            )],
        };
    }
    let (before, after) = (before.unwrap_or(empty.clone()), after.unwrap_or(empty));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            (
                key.clone(),
                show_value(before.get(key)),
                show_value(after.get(key)),
            )
        })
        .collect()
}

pub struct Row {
    entry: Entry,
    changes: Vec<FieldChange>,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    tz: Tz,
}

impl AuditPage {
    fn local(&self, at: &DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .format("%d.%m.%Y %H:%M:%S")
            .to_string()
    }

    fn field(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or_default()
    }

    /// The current filters with another page number, for pagination links.
    fn page_href(&self, page: i64) -> String {
        let q = &self.query;
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("actor", &q.actor),
            ("action", &q.action),
            ("entity_type", &q.entity_type),
            ("entity_id", &q.entity_id),
            ("from", &q.from),
            ("to", &q.to),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                url.append_pair(name, value);
            }
        }
        url.append_pair("page", &page.to_string());
        format!("/audit?{}", url.finish())
    }
}

/// `GET /audit`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    FormQuery(query): FormQuery<AuditQuery>,
) -> Result<AuditPage, AppError> {
    let tz = state.config.school_timezone;
    let (filter, page) = parse(&query, tz)?;
    let (entries, total) =
        audit::search(&state.pool, &filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let rows = entries
        .into_iter()
        .map(|entry| Row {
            changes: field_changes(&entry),
            entry,
        })
        .collect();
    Ok(AuditPage {
        layout: Layout::new("/audit", &principal),
        query,
        rows,
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        tz,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::web::extract::text_values::from_pairs;

    /// The form as the handler reads it (blank fields absent).
    fn read(pairs: &[(&str, &str)]) -> Result<AuditQuery, AppError> {
        from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            true,
        )
        .map_err(|problem| AppError::BadRequest(problem.russian()))
    }

    fn query(pairs: &[(&str, &str)]) -> AuditQuery {
        read(pairs).unwrap()
    }

    #[test]
    fn dates_are_whole_days_in_the_school_zone() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        let (filter, page) = parse(
            &query(&[
                ("from", "2026-11-01"),
                ("to", "2026-11-01"),
                ("actor", " admin "),
            ]),
            tz,
        )
        .unwrap();
        assert_eq!(page, 1);
        assert_eq!(filter.actor.as_deref(), Some("admin"));
        assert_eq!(
            filter.from.unwrap().to_rfc3339(),
            "2026-10-31T21:00:00+00:00"
        );
        assert_eq!(
            filter.until.unwrap().to_rfc3339(),
            "2026-11-01T21:00:00+00:00"
        );
    }

    #[test]
    fn bad_filters_are_refused_with_a_reason() {
        let tz: Tz = "Europe/Moscow".parse().unwrap();
        for page in ["0", "2x", "+2", " 2", "1000001"] {
            let err = read(&[("page", page)]).unwrap_err();
            assert!(
                matches!(&err, AppError::BadRequest(m) if m == "Номер страницы — целое число от 1 до 1000000."),
                "{page}: {err:?}"
            );
        }
        for (pairs, needle) in [
            (vec![("from", "01.11.2026")], "ГГГГ-ММ-ДД"),
            (vec![("from", "2026-11-02"), ("to", "2026-11-01")], "позже"),
        ] {
            let err = parse(&query(&pairs), tz).unwrap_err();
            assert!(
                matches!(&err, AppError::BadRequest(m) if m.contains(needle)),
                "{err:?}"
            );
        }
        let long = "x".repeat(201);
        assert!(parse(&query(&[("actor", &long)]), tz).is_err());
        // Empty fields (an untouched form) mean "any".
        let (filter, _) = parse(&query(&[("actor", ""), ("page", "")]), tz).unwrap();
        assert!(filter.actor.is_none());
    }

    #[test]
    fn changes_list_only_the_fields_that_differ() {
        let entry = Entry {
            id: 1,
            at: Utc::now(),
            actor: "a".into(),
            action: "staff.set_role".into(),
            entity_type: "staff".into(),
            entity_id: Some("bob".into()),
            before: Some(json!({"role": "viewer", "login": "bob", "gone": 1})),
            after: Some(json!({"role": "editor", "login": "bob"})),
            client_addr: None,
            request_id: None,
        };
        assert_eq!(
            field_changes(&entry),
            vec![
                ("gone".into(), "1".into(), "—".into()),
                ("role".into(), "viewer".into(), "editor".into()),
            ]
        );
        let created = Entry {
            before: None,
            after: Some(json!({"name": "ci"})),
            ..entry
        };
        assert_eq!(
            field_changes(&created),
            vec![("name".into(), "—".into(), "ci".into())]
        );
    }
}
