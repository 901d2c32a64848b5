//! Broadcasts: their statuses (words and badge styles) and the
//! composer's messages for a refused keyboard.

use super::{Badge, Label};
use crate::domain::broadcast::{
    BroadcastStatus, ButtonProblem, KeyboardError, MAX_BUTTON_TEXT, MAX_BUTTONS,
    MAX_BUTTONS_PER_ROW, MAX_CALLBACK_BYTES, RecipientStatus,
};

impl Label for BroadcastStatus {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Self::Draft => "черновик",
            Self::Scheduled => "запланирована",
            Self::Sending => "отправляется",
            Self::Paused => "на паузе",
            Self::Done => "завершено",
            Self::Cancelled => "отменена",
            Self::Failed => "ошибка",
        }
    }
}

impl Badge for BroadcastStatus {
    /// The badge style of the pages (`ok`, `bad`, `warn`, `new`, `unknown`).
    fn badge(&self) -> &'static str {
        match self {
            Self::Done => "ok",
            Self::Failed => "bad",
            Self::Paused => "warn",
            Self::Sending | Self::Scheduled => "new",
            Self::Draft | Self::Cancelled => "unknown",
        }
    }
}

impl Label for RecipientStatus {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Self::Pending => "в очереди",
            Self::Sending => "отправляется",
            Self::Sent => "доставлено",
            Self::Failed => "ошибка",
            Self::Blocked => "заблокировал бота",
            Self::Unknown => "неизвестно",
            Self::Skipped => "пропущен",
            Self::Deleted => "удалено",
        }
    }
}

impl Label for KeyboardError {
    type Text = String;

    /// The message in Russian, for the composer.
    fn label(&self) -> String {
        match self {
            Self::EmptyRow { row } => format!("Ряд кнопок {row} пуст."),
            Self::RowTooLong { row } => {
                format!("В ряду {row} больше {MAX_BUTTONS_PER_ROW} кнопок.")
            }
            Self::TooMany => format!("Кнопок больше {MAX_BUTTONS}."),
            Self::Button {
                row,
                column,
                problem,
            } => {
                let what = match problem {
                    ButtonProblem::Text => {
                        format!("текст — от 1 до {MAX_BUTTON_TEXT} символов")
                    }
                    ButtonProblem::Action => "укажите либо ссылку, либо callback_data".to_owned(),
                    ButtonProblem::Url => {
                        "ссылка должна начинаться с http://, https:// или tg://".to_owned()
                    }
                    ButtonProblem::CallbackData => {
                        format!("callback_data — от 1 до {MAX_CALLBACK_BYTES} байт")
                    }
                    ButtonProblem::Control => "недопустимый управляющий символ".to_owned(),
                };
                format!("Кнопка {row}.{column}: {what}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_words_and_a_badge() {
        for status in BroadcastStatus::ALL {
            assert!(!status.label().is_empty() && !status.badge().is_empty());
        }
        for status in RecipientStatus::ALL {
            assert!(!status.label().is_empty());
        }
    }

    #[test]
    fn a_refused_button_is_named_by_row_and_column() {
        let error = KeyboardError::Button {
            row: 2,
            column: 1,
            problem: ButtonProblem::Url,
        };
        assert_eq!(
            error.label(),
            "Кнопка 2.1: ссылка должна начинаться с http://, https:// или tg://."
        );
    }
}
