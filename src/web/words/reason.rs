//! Why a broadcast failed or paused, what happened to a recipient
//! ([`Reason`]), in the Russian the engine used to store.

use super::Label;
use crate::domain::reason::Reason;

impl Label for Reason {
    type Text = String;

    fn label(&self) -> String {
        match self {
            Self::ContentInvalid { detail } => {
                format!("содержимое рассылки некорректно: {detail}")
            }
            Self::TelegramRejectedContent { detail } => {
                format!("Telegram отклонил содержимое: {detail}")
            }
            Self::BotUnusable { detail } => format!("бот не может отправлять сообщения: {detail}"),
            Self::TooManyFailures { count, last } => {
                format!("{count} отправок подряд не удались; последняя ошибка: {last}")
            }
            Self::AudienceUnreadable => "не удалось прочитать аудиторию рассылки".to_owned(),
            Self::RateLimited { retry_after_s } => format!("429: повтор через {retry_after_s} с"),
            Self::Cancelled => "рассылка отменена".to_owned(),
            Self::OutcomeUnknownSenderStopped => {
                "исход неизвестен: отправитель остановился во время отправки".to_owned()
            }
            Self::NotReceiving { reason } => format!("не получает сообщения бота: {reason}"),
            Self::TelegramError { detail } => detail.clone(),
            Self::Legacy { text } => text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reason::tests::every_reason;

    #[test]
    fn every_reason_reads_as_the_sentence_stored_before() {
        let labels: Vec<String> = every_reason().iter().map(Label::label).collect();
        assert_eq!(
            labels,
            [
                "содержимое рассылки некорректно: buttons: row 1 is empty",
                "Telegram отклонил содержимое: Bad Request: can't parse entities",
                "бот не может отправлять сообщения: Unauthorized",
                "50 отправок подряд не удались; последняя ошибка: Bad Request: x",
                "не удалось прочитать аудиторию рассылки",
                "429: повтор через 12 с",
                "рассылка отменена",
                "исход неизвестен: отправитель остановился во время отправки",
                "не получает сообщения бота: blocked",
                "Forbidden: bot was blocked by the user",
                "старый текст",
            ]
        );
    }

    #[test]
    fn old_text_that_is_no_code_is_shown_as_it_is() {
        assert_eq!(Reason::from_stored("timeout").label(), "timeout");
        assert_eq!(
            Reason::from_stored(r#"{"code":"cancelled"}"#).label(),
            "рассылка отменена"
        );
    }
}
