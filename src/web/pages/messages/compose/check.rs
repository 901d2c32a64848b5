//! The composer's form read as a broadcast request: each part, or the
//! problem in the form that keeps it from being one. The rules of a
//! broadcast are not here: `app::broadcasts::review` applies them, as it
//! does to the API's requests.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::form::{ButtonField, ComposerForm, MAX_BUTTON_SLOTS};
use crate::app::broadcasts::Problem;
use crate::app::broadcasts::check::{FormProblem, Unchecked};
use crate::domain::audience::{RawAudience, Segment};
use crate::domain::broadcast::RawButton;
use crate::domain::content::{ContentType, RawContent, RawMedia};

fn form(problem: FormProblem) -> Problem {
    Problem::Form(problem)
}

/// Reads `form` as a request; times are in the school's zone `tz`.
pub fn read(form: &ComposerForm, tz: Tz) -> Unchecked {
    Unchecked {
        audience: audience(form),
        content: content(form),
        scheduled_at: schedule(form, tz),
    }
}

/// The ids typed into the users field, or the problem with them.
pub fn user_ids(text: &str) -> Result<Vec<i64>, Problem> {
    let mut ids = Vec::new();
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|token| !token.is_empty())
    {
        match token.parse::<i64>() {
            Ok(id) if id > 0 => ids.push(id),
            _ => {
                let shown: String = token.chars().take(40).collect();
                return Err(form(FormProblem::NotUserId(shown)));
            }
        }
    }
    Ok(ids)
}

/// The people the users field names, to show with their names.
pub fn named_ids(form: &ComposerForm) -> Vec<i64> {
    match user_ids(&form.user_ids) {
        Ok(ids) if form.audience == "users" => ids,
        _ => Vec::new(),
    }
}

fn audience(form_: &ComposerForm) -> Result<RawAudience, Problem> {
    Ok(match form_.audience.as_str() {
        "users" => RawAudience::Users {
            user_ids: user_ids(&form_.user_ids)?,
        },
        "stream" => {
            let mut statuses = Vec::with_capacity(form_.statuses.len());
            for raw in &form_.statuses {
                let status = raw
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| form(FormProblem::UnknownStatus(raw.clone())))?;
                statuses.push(status);
            }
            RawAudience::Stream {
                streams: form_.streams.clone(),
                statuses: Some(statuses),
            }
        }
        "segment" => {
            let segment = Segment::ALL
                .into_iter()
                .find(|segment| segment.as_str() == form_.segment)
                .ok_or_else(|| form(FormProblem::NoSegment))?;
            RawAudience::Segment { segment }
        }
        _ => return Err(form(FormProblem::NoAudienceKind)),
    })
}

/// The keyboard rows: slots grouped by their row number, rows in order.
fn button_rows(buttons: &[ButtonField]) -> Result<Vec<Vec<RawButton>>, Problem> {
    if buttons.len() > MAX_BUTTON_SLOTS {
        return Err(form(FormProblem::TooManyButtons {
            max: MAX_BUTTON_SLOTS,
        }));
    }
    let mut rows: BTreeMap<u32, Vec<RawButton>> = BTreeMap::new();
    for (i, button) in buttons.iter().enumerate() {
        let row = button
            .row
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|row| (1..=100).contains(row))
            .ok_or_else(|| {
                form(FormProblem::ButtonRow {
                    button: i + 1,
                    raw: button.row.chars().take(20).collect(),
                })
            })?;
        let value = button.value.trim().to_owned();
        let raw = match button.kind.as_str() {
            "url" | "" => RawButton {
                text: button.text.clone(),
                url: Some(value),
                callback_data: None,
            },
            "callback" => RawButton {
                text: button.text.clone(),
                url: None,
                callback_data: Some(value),
            },
            _ => return Err(form(FormProblem::ButtonKind { button: i + 1 })),
        };
        rows.entry(row).or_default().push(raw);
    }
    Ok(rows.into_values().collect())
}

fn content(form_: &ComposerForm) -> Result<RawContent, Problem> {
    let kind =
        ContentType::parse(&form_.content_type).ok_or_else(|| form(FormProblem::NoContentType))?;
    let buttons = button_rows(&form_.buttons)?;
    Ok(match kind {
        ContentType::Text => RawContent::Text {
            text: form_.text.clone(),
            link_preview: form_.link_preview,
            buttons,
        },
        media => {
            let media_raw = RawMedia {
                file_id: form_.file_id.clone(),
                caption: form_.text.clone(),
                buttons,
            };
            match media {
                ContentType::Photo => RawContent::Photo(media_raw),
                ContentType::Video => RawContent::Video(media_raw),
                _ => RawContent::Document(media_raw),
            }
        }
    })
}

/// The moment typed into the schedule field, in the school's zone.
pub fn local_moment(raw: &str, tz: Tz) -> Result<DateTime<Utc>, Problem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(form(FormProblem::NoTime));
    }
    let naive = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
        .ok_or_else(|| form(FormProblem::TimeFormat))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            form(FormProblem::NoSuchLocalTime {
                zone: tz.to_string(),
            })
        })
}

fn schedule(form_: &ComposerForm, tz: Tz) -> Result<Option<DateTime<Utc>>, Problem> {
    match form_.when.as_str() {
        "now" | "" => Ok(None),
        "at" => local_moment(&form_.scheduled_at, tz).map(Some),
        _ => Err(form(FormProblem::NoWhen)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::broadcasts::check::check;
    use crate::domain::audience::Audience;
    use crate::web::pages::messages::compose::form::Posted;

    const MOSCOW: Tz = chrono_tz::Europe::Moscow;

    fn posted(body: &str) -> Posted {
        Posted::parse(body.as_bytes())
    }

    /// The fields with problems, as the composer shows them (the past is
    /// the review's, which needs no database for it).
    fn fields(body: &str) -> Vec<&'static str> {
        let p = posted(body);
        let checked = check(read(&p.form, MOSCOW));
        let mut problems: Vec<Problem> = checked.problems().into_iter().cloned().collect();
        if let Ok(Some(at)) = checked.scheduled_at
            && let Some(past) = Problem::past(at, Utc::now())
        {
            problems.push(past);
        }
        problems.iter().map(|p| p.field().as_str()).collect()
    }

    #[test]
    fn repeated_fields_collect_and_blank_buttons_drop() {
        let p = posted(
            "intent=review&key=k1&audience=stream&stream=8&stream=9&status=2&status=1\
             &content_type=text&text=%3Cb%3EHi%3C%2Fb%3E&link_preview=on\
             &button_row=1&button_text=Go&button_kind=url&button_value=https%3A%2F%2Fa.b\
             &button_row=1&button_text=&button_kind=url&button_value=&csrf=x",
        );
        assert_eq!(p.intent, "review");
        assert_eq!(p.key, "k1");
        assert_eq!(p.form.streams, ["8", "9"]);
        assert_eq!(p.form.statuses, ["2", "1"]);
        assert_eq!(p.form.text, "<b>Hi</b>");
        assert!(p.form.link_preview);
        assert_eq!(p.form.buttons.len(), 1);
        let checked = check(read(&p.form, MOSCOW));
        assert!(checked.problems().is_empty(), "{:?}", checked.problems());
        let Audience::Stream { statuses, .. } = checked.audience.unwrap() else {
            panic!("a stream audience");
        };
        assert_eq!(statuses, [1, 2]);
    }

    #[test]
    fn each_mistake_names_its_field() {
        let field = fields;
        let text = "&content_type=text&text=x";
        assert_eq!(field(&format!("audience=nobody{text}")), ["audience"]);
        assert_eq!(
            field(&format!("audience=users&user_ids=1+abc{text}")),
            ["user_ids"]
        );
        assert_eq!(
            field(&format!("audience=users&user_ids={text}")),
            ["user_ids"]
        );
        assert_eq!(
            field(&format!("audience=stream{text}&status=2")),
            ["streams"]
        );
        assert_eq!(
            field(&format!("audience=stream&stream=8{text}")),
            ["statuses"]
        );
        assert_eq!(
            field(&format!("audience=stream&stream=8&status=7{text}")),
            ["statuses"]
        );
        assert_eq!(
            field(&format!("audience=stream&stream=a%20b&status=2{text}")),
            ["streams"]
        );
        assert_eq!(
            field(&format!("audience=segment&segment=vip{text}")),
            ["segment"]
        );
        let users = "audience=users&user_ids=1";
        assert_eq!(
            field(&format!("{users}&content_type=gif&text=x")),
            ["content_type"]
        );
        assert_eq!(
            field(&format!("{users}&content_type=text&text=%3Cdiv%3E")),
            ["text"]
        );
        assert_eq!(
            field(&format!("{users}&content_type=photo&file_id=a%20b")),
            ["file_id"]
        );
        assert_eq!(
            field(&format!(
                "{users}{text}&button_row=x&button_text=a&button_value=b"
            )),
            ["buttons"]
        );
        assert_eq!(
            field(&format!(
                "{users}{text}&button_row=1&button_text=a&button_kind=url&button_value=ftp%3A%2F%2Fx"
            )),
            ["buttons"]
        );
        assert_eq!(
            field(&format!("{users}{text}&when=at&scheduled_at=tomorrow")),
            ["scheduled_at"]
        );
        assert_eq!(
            field(&format!(
                "{users}{text}&when=at&scheduled_at=2020-01-01T10%3A00"
            )),
            ["scheduled_at"]
        );
        assert_eq!(
            field(&format!("{users}{text}&when=later")),
            ["scheduled_at"]
        );
    }

    #[test]
    fn the_schedule_is_read_in_the_school_zone() {
        let at = local_moment("2030-03-01T12:30", MOSCOW).unwrap();
        assert_eq!(at.to_rfc3339(), "2030-03-01T09:30:00+00:00");
        // A time a DST change skips does not exist.
        let berlin: Tz = chrono_tz::Europe::Berlin;
        assert!(local_moment("2030-03-31T02:30", berlin).is_err());
    }

    #[test]
    fn buttons_group_by_row_number() {
        let p = posted(
            "button_row=2&button_text=B&button_kind=callback&button_value=b\
             &button_row=1&button_text=A&button_kind=url&button_value=https%3A%2F%2Fa.b\
             &button_row=2&button_text=C&button_kind=callback&button_value=c",
        );
        let rows = button_rows(&p.form.buttons).unwrap();
        let texts: Vec<Vec<&str>> = rows
            .iter()
            .map(|row| row.iter().map(|b| b.text.as_str()).collect())
            .collect();
        assert_eq!(texts, [vec!["A"], vec!["B", "C"]]);
    }
}
