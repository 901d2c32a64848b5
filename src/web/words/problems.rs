//! The Russian for what can be wrong with a broadcast request
//! ([`Problem`]), shared by the composer and the API (whose answers carry
//! it as `label` next to the English `error`).

use super::Label;
use crate::app::broadcasts::Problem;
use crate::app::broadcasts::check::{FormProblem, Part, join};

/// `problem` in Russian, as the composer shows it next to its field.
pub fn label(problem: &Problem) -> String {
    match problem {
        Problem::Missing(Part::Audience) => "Выберите получателей.".to_owned(),
        Problem::Missing(Part::Content) => "Напишите сообщение.".to_owned(),
        Problem::Missing(Part::ScheduledAt) | Problem::BadTime => {
            "Время отправки: укажите дату и время с часовым поясом.".to_owned()
        }
        Problem::Shape { part, detail } => {
            let what = match part {
                Part::Audience => "Получатели",
                Part::Content => "Сообщение",
                Part::ScheduledAt => "Время отправки",
            };
            format!("{what}: неверный формат ({detail}).")
        }
        Problem::Audience(err) => err.label(),
        Problem::Content(err) => err.label(),
        Problem::InThePast { .. } => "Время отправки уже прошло.".to_owned(),
        Problem::UnknownUsers(ids) => format!("Бот не знает пользователей: {}.", join(ids)),
        Problem::UnknownStreams(codes) => format!("Неизвестные потоки: {}.", join(codes)),
        Problem::AmbiguousStreams(codes) => {
            let codes: Vec<&str> = codes.iter().map(|(code, _)| code.as_str()).collect();
            format!(
                "Поток с таким кодом есть в нескольких курсах, выберите курс: {}.",
                join(&codes)
            )
        }
        Problem::EmptyAudience { blocked, .. } if *blocked > 0 => {
            format!("Получателей нет: все {blocked} заблокировали бота.")
        }
        Problem::EmptyAudience { .. } => {
            "Получателей нет: под условия никто не подходит.".to_owned()
        }
        Problem::Form(problem) => form_label(problem),
    }
}

fn form_label(problem: &FormProblem) -> String {
    match problem {
        FormProblem::NoAudienceKind => "Выберите, кому отправить.".to_owned(),
        FormProblem::NotUserId(token) => {
            format!("«{token}» — не ID пользователя: нужно целое положительное число.")
        }
        FormProblem::UnknownStatus(raw) => format!("Неизвестный статус заявки: «{raw}»."),
        FormProblem::NoSegment => "Выберите сегмент.".to_owned(),
        FormProblem::NoContentType => "Выберите тип сообщения.".to_owned(),
        FormProblem::TooManyButtons { max } => format!("Кнопок больше {max}."),
        FormProblem::ButtonRow { button, raw } => {
            format!("Кнопка {button}: ряд — число от 1 до 100, а не «{raw}».")
        }
        FormProblem::ButtonKind { button } => {
            format!("Кнопка {button}: выберите «ссылка» или «callback».")
        }
        FormProblem::NoTime => "Укажите дату и время отправки.".to_owned(),
        FormProblem::TimeFormat => {
            "Время отправки: укажите дату и время в виде ГГГГ-ММ-ДД ЧЧ:ММ.".to_owned()
        }
        FormProblem::NoSuchLocalTime { zone } => {
            format!("В зоне {zone} нет такого времени (перевод часов).")
        }
        FormProblem::NoWhen => "Выберите «сейчас» или «запланировать».".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::broadcasts::Field;

    #[test]
    fn every_problem_has_its_russian() {
        assert_eq!(
            label(&Problem::UnknownUsers(vec![999_001, 999_002])),
            "Бот не знает пользователей: 999001, 999002."
        );
        assert_eq!(
            label(&Problem::EmptyAudience {
                field: Field::Segment,
                blocked: 2
            }),
            "Получателей нет: все 2 заблокировали бота."
        );
        assert_eq!(
            label(&Problem::Form(FormProblem::ButtonRow {
                button: 2,
                raw: "x".into()
            })),
            "Кнопка 2: ряд — число от 1 до 100, а не «x»."
        );
        assert_eq!(
            label(&Problem::BadTime),
            label(&Problem::Missing(Part::ScheduledAt))
        );
    }
}
