//! The composer's form read as a broadcast: each part valid, or the
//! mistake in it tied to the field it is in.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::form::{ButtonField, ComposerForm, MAX_BUTTON_SLOTS};
use crate::domain::audience::{Audience, AudienceError, RawAudience, Segment};
use crate::domain::broadcast::RawButton;
use crate::domain::content::{Content, ContentType, RawContent, RawMedia};
use crate::web::words::Label;

/// A mistake in the form: the field it belongs to and what to do, in Russian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mistake {
    pub field: &'static str,
    pub label: String,
}

impl Mistake {
    pub fn new(field: &'static str, label: impl Into<String>) -> Self {
        Self {
            field,
            label: label.into(),
        }
    }
}

/// The form read as a broadcast, each part valid or the mistake in it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub audience: Result<Audience, Mistake>,
    pub content: Result<Content, Mistake>,
    /// `None` sends now.
    pub scheduled_at: Result<Option<DateTime<Utc>>, Mistake>,
}

impl Checked {
    pub fn mistakes(&self) -> Vec<Mistake> {
        [
            self.audience.as_ref().err(),
            self.content.as_ref().err(),
            self.scheduled_at.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect()
    }
}

/// Checks everything that needs no database; `now` decides what is past.
pub fn check(form: &ComposerForm, tz: Tz, now: DateTime<Utc>) -> Checked {
    Checked {
        audience: audience(form),
        content: content(form),
        scheduled_at: schedule(form, tz, now),
    }
}

/// The ids typed into the users field, or the mistake in them.
pub fn user_ids(text: &str) -> Result<Vec<i64>, Mistake> {
    let mut ids = Vec::new();
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|token| !token.is_empty())
    {
        match token.parse::<i64>() {
            Ok(id) if id > 0 => ids.push(id),
            _ => {
                let shown: String = token.chars().take(40).collect();
                return Err(Mistake::new(
                    "user_ids",
                    format!("«{shown}» — не ID пользователя: нужно целое положительное число."),
                ));
            }
        }
    }
    Ok(ids)
}

fn audience(form: &ComposerForm) -> Result<Audience, Mistake> {
    let raw = match form.audience.as_str() {
        "users" => RawAudience::Users {
            user_ids: user_ids(&form.user_ids)?,
        },
        "stream" => {
            let mut statuses = Vec::with_capacity(form.statuses.len());
            for raw in &form.statuses {
                let status = raw.trim().parse::<i32>().map_err(|_| {
                    Mistake::new("statuses", format!("Неизвестный статус заявки: «{raw}»."))
                })?;
                statuses.push(status);
            }
            RawAudience::Stream {
                streams: form.streams.clone(),
                statuses: Some(statuses),
            }
        }
        "segment" => {
            let segment = Segment::ALL
                .into_iter()
                .find(|segment| segment.as_str() == form.segment)
                .ok_or_else(|| Mistake::new("segment", "Выберите сегмент."))?;
            RawAudience::Segment { segment }
        }
        _ => return Err(Mistake::new("audience", "Выберите, кому отправить.")),
    };
    Audience::parse(raw).map_err(|err| {
        let field = match err {
            AudienceError::NoUsers | AudienceError::TooManyUsers | AudienceError::BadUserIds(_) => {
                "user_ids"
            }
            AudienceError::NoStreams | AudienceError::BadStreamCode(_) => "streams",
            AudienceError::BadStatus(_) | AudienceError::NoStatuses => "statuses",
        };
        Mistake::new(field, err.label())
    })
}

/// The keyboard rows: slots grouped by their row number, rows in order.
fn button_rows(buttons: &[ButtonField]) -> Result<Vec<Vec<RawButton>>, Mistake> {
    if buttons.len() > MAX_BUTTON_SLOTS {
        return Err(Mistake::new(
            "buttons",
            format!("Кнопок больше {MAX_BUTTON_SLOTS}."),
        ));
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
                Mistake::new(
                    "buttons",
                    format!(
                        "Кнопка {}: ряд — число от 1 до 100, а не «{}».",
                        i + 1,
                        button.row.chars().take(20).collect::<String>()
                    ),
                )
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
            _ => {
                return Err(Mistake::new(
                    "buttons",
                    format!("Кнопка {}: выберите «ссылка» или «callback».", i + 1),
                ));
            }
        };
        rows.entry(row).or_default().push(raw);
    }
    Ok(rows.into_values().collect())
}

fn content(form: &ComposerForm) -> Result<Content, Mistake> {
    let kind = ContentType::parse(&form.content_type)
        .ok_or_else(|| Mistake::new("content_type", "Выберите тип сообщения."))?;
    let buttons = button_rows(&form.buttons)?;
    let raw = match kind {
        ContentType::Text => RawContent::Text {
            text: form.text.clone(),
            link_preview: form.link_preview,
            buttons,
        },
        media => {
            let media_raw = RawMedia {
                file_id: form.file_id.clone(),
                caption: form.text.clone(),
                buttons,
            };
            match media {
                ContentType::Photo => RawContent::Photo(media_raw),
                ContentType::Video => RawContent::Video(media_raw),
                _ => RawContent::Document(media_raw),
            }
        }
    };
    Content::parse(raw).map_err(|err| {
        use crate::domain::content::ContentError;
        let field = match err {
            ContentError::Html { .. } | ContentError::Control { .. } => "text",
            ContentError::Buttons(_) => "buttons",
            ContentError::FileId => "file_id",
        };
        Mistake::new(field, err.label())
    })
}

/// The moment typed into the schedule field, in the school's zone.
pub fn local_moment(raw: &str, tz: Tz) -> Result<DateTime<Utc>, Mistake> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Mistake::new(
            "scheduled_at",
            "Укажите дату и время отправки.",
        ));
    }
    let naive = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
        .ok_or_else(|| {
            Mistake::new(
                "scheduled_at",
                "Время отправки: укажите дату и время в виде ГГГГ-ММ-ДД ЧЧ:ММ.",
            )
        })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| {
            Mistake::new(
                "scheduled_at",
                format!("В зоне {tz} нет такого времени (перевод часов)."),
            )
        })
}

fn schedule(
    form: &ComposerForm,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Mistake> {
    match form.when.as_str() {
        "now" | "" => Ok(None),
        "at" => {
            let at = local_moment(&form.scheduled_at, tz)?;
            if at < now {
                return Err(Mistake::new("scheduled_at", "Время отправки уже прошло."));
            }
            Ok(Some(at))
        }
        _ => Err(Mistake::new(
            "scheduled_at",
            "Выберите «сейчас» или «запланировать».",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::pages::messages::compose::form::Posted;

    const MOSCOW: Tz = chrono_tz::Europe::Moscow;

    fn posted(body: &str) -> Posted {
        Posted::parse(body.as_bytes())
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
        let checked = check(&p.form, MOSCOW, Utc::now());
        assert!(checked.mistakes().is_empty(), "{:?}", checked.mistakes());
        let Audience::Stream { statuses, .. } = checked.audience.unwrap() else {
            panic!("a stream audience");
        };
        assert_eq!(statuses, [1, 2]);
    }

    #[test]
    fn each_mistake_names_its_field() {
        let field = |body: &str| {
            let p = posted(body);
            check(&p.form, MOSCOW, Utc::now())
                .mistakes()
                .into_iter()
                .map(|m| m.field)
                .collect::<Vec<_>>()
        };
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
