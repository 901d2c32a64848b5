//! The composer's words: content kinds, refused content and HTML (with
//! the position), audience segments and refused audiences.

use super::Label;
use crate::domain::audience::{AudienceError, MAX_USER_IDS, Segment};
use crate::domain::content::{ContentError, ContentType};
use crate::domain::telegram_html::{HtmlError, Problem};
use crate::domain::text;

impl Label for ContentType {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Self::Text => "текст",
            Self::Photo => "фото",
            Self::Video => "видео",
            Self::Document => "документ",
        }
    }
}

impl Label for ContentError {
    type Text = String;

    /// The message in Russian, for the composer.
    fn label(&self) -> String {
        match self {
            Self::Html { field, error } => {
                let what = if *field == "caption" {
                    "Подпись"
                } else {
                    "Текст"
                };
                format!("{what}: {}", error.label())
            }
            Self::Buttons(error) => error.label(),
            Self::FileId => "file_id: только латинские буквы, цифры, «-» и «_», \
                             до 256 символов."
                .to_owned(),
            Self::Control { field, found } => {
                let what = if *field == "caption" {
                    "Подпись"
                } else {
                    "Текст"
                };
                format!(
                    "{what} содержит недопустимый управляющий символ {}.",
                    text::describe(*found)
                )
            }
        }
    }
}

impl Label for HtmlError {
    type Text = String;

    /// The message in Russian, with the position, for the composer.
    fn label(&self) -> String {
        match &self.problem {
            Problem::Empty | Problem::TooLong { .. } => self.problem.label(),
            _ => format!(
                "Строка {}, символ {}: {}",
                self.at.line,
                self.at.column,
                self.problem.label()
            ),
        }
    }
}

impl Label for Problem {
    type Text = String;

    fn label(&self) -> String {
        match self {
            Self::UnsupportedTag(tag) => format!("Telegram не поддерживает тег <{tag}>."),
            Self::BadAttribute { tag, attribute } => {
                format!("у тега <{tag}> не может быть атрибута {attribute}.")
            }
            Self::MissingAttribute { tag, attribute } => {
                format!("у тега <{tag}> нужен атрибут {attribute}.")
            }
            Self::BadLink(href) => {
                format!("ссылка «{href}» должна начинаться с http://, https:// или tg://.")
            }
            Self::UnfinishedTag => "«<» не начинает тег; напишите &lt;.".to_owned(),
            Self::MismatchedClose { expected, found } => {
                format!("</{found}> закрывает тег, но ещё открыт <{expected}>.")
            }
            Self::UnexpectedClose(tag) => format!("</{tag}> закрывает тег, который не открыт."),
            Self::Unclosed(tag) => format!("тег <{tag}> не закрыт."),
            Self::BadNesting { tag, inside } => {
                format!("тег <{tag}> нельзя вкладывать в <{inside}>.")
            }
            Self::UnescapedGreaterThan => "«>» вне тега; напишите &gt;.".to_owned(),
            Self::BadEntity(entity) => {
                format!("«{entity}» — неизвестная HTML-сущность; для «&» напишите &amp;.")
            }
            Self::Empty => "Текст пуст.".to_owned(),
            Self::TooLong { len, max } => format!(
                "После разметки в тексте {len} символов, Telegram принимает не больше {max}."
            ),
        }
    }
}

impl Label for Segment {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Self::NeverPaid => "ни разу не оплатившие",
            Self::Hackathon => "участники хакатона",
            Self::All => "все пользователи",
        }
    }
}

impl Label for AudienceError {
    type Text = String;

    fn label(&self) -> String {
        match self {
            Self::NoUsers => "Выберите хотя бы одного получателя.".to_owned(),
            Self::TooManyUsers => format!("Не больше {MAX_USER_IDS} получателей в списке."),
            Self::BadUserIds(ids) => format!(
                "ID пользователей должны быть положительными: {}.",
                join(ids)
            ),
            Self::NoStreams => "Выберите хотя бы один поток.".to_owned(),
            Self::BadStreamCode(code) => format!("«{code}» — не код потока."),
            Self::BadStatus(status) => format!("Неизвестный статус заявки: {status}."),
            Self::NoStatuses => "Выберите хотя бы один статус заявки.".to_owned(),
        }
    }
}

fn join(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::content::Content;
    use crate::domain::telegram_html::{Kind, Position, TelegramHtml};

    fn parse(value: Value) -> Result<Content, ContentError> {
        Content::parse(serde_json::from_value(value).expect("shape"))
    }

    fn err(raw: &str) -> HtmlError {
        TelegramHtml::parse(raw, Kind::Message).expect_err(raw)
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        let long_caption = "я".repeat(1025);
        let err = parse(json!({"type": "document", "file_id": "a", "caption": long_caption}))
            .unwrap_err();
        assert!(err.label().starts_with("Подпись: "), "{}", err.label());

        let err = parse(json!({"type": "text", "text": "a<br>b"})).unwrap_err();
        assert!(
            err.label().starts_with("Текст: Строка 1, символ 2"),
            "{}",
            err.label()
        );
    }

    #[test]
    fn positions_are_line_and_column() {
        let e = err("Первая строка\nвторая <br> строка");
        assert_eq!(e.at, Position { line: 2, column: 8 });
        assert_eq!(
            e.label(),
            "Строка 2, символ 8: Telegram не поддерживает тег <br>."
        );
        assert_eq!(err("").label(), "Текст пуст.");
    }

    #[test]
    fn audiences_have_words() {
        for segment in Segment::ALL {
            assert!(!segment.label().is_empty());
        }
        assert_eq!(
            AudienceError::BadUserIds(vec![0, -3]).label(),
            "ID пользователей должны быть положительными: 0, -3."
        );
    }
}
