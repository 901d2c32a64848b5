//! The users list, the user page and its booking forms.

// --- users list ---

/// Any filter the list does not know: what each takes.
pub const BAD_FILTER: &str = "Неверный фильтр: поток — код потока, статус — -1, 0, 1, 2 или none, \
     порядок — activity или id.";

// --- user page ---

/// Banner after `?notice=saved`.
pub const NOTICE_SAVED: &str = "Заявка сохранена.";
/// Banner after `?notice=moved`.
pub const NOTICE_MOVED: &str = "Заявка переведена в другой поток.";

/// Booking fields in the audit history and the «you typed» list.
pub const FIELD_STATUS: &str = "Статус";
pub const FIELD_STREAM: &str = "Поток";
pub const FIELD_REFERRAL_CODE: &str = "Реферальный код";
pub const FIELD_DISCOUNT: &str = "Скидка, %";

/// A blank value the editor typed.
pub const EMPTY_VALUE: &str = "(пусто)";
/// The stream the editor chose: none.
pub const NO_STREAM: &str = "Без потока";

// --- booking edits: refusals ---

pub const BOOKING_NOT_FOUND: &str = "Заявка не найдена.";
pub const NO_ACTIVE_BOOKING: &str = "У пользователя нет активных бронирований.";
/// The booking changed since the form was opened.
pub const STALE_BOOKING: &str = "Заявку изменил другой пользователь, пока вы её редактировали. \
     Ничего не сохранено: в форме — её текущие значения, а то, что вы \
     ввели, показано рядом. Проверьте и сохраните снова.";

/// A status change the booking rules refuse.
pub fn bad_transition(from: &str, to: &str) -> String {
    format!("Нельзя сменить статус «{from}» на «{to}».")
}

pub fn stream_not_in_course(code: &str) -> String {
    format!("Поток {code} не зарегистрирован для курса этой заявки.")
}

pub fn stream_archived(code: &str) -> String {
    format!("Поток {code} в архиве: в него нельзя перевести заявку.")
}

pub fn stream_full(code: &str, capacity: i32) -> String {
    format!(
        "В потоке {code} нет мест (мест: {capacity}). \
         Чтобы перевести сверх лимита, отметьте «Сверх лимита мест»."
    )
}

pub const ALREADY_IN_STREAM: &str = "Пользователь уже находится в этом потоке.";

// --- booking edits: the form's fields ---

pub const STATUS_CHOICE: &str = "Статус: выберите из списка.";
pub const STREAM_CHOICE: &str = "Поток: выберите из списка.";
pub const BAD_REFERRAL_CODE: &str =
    "Реферальный код: от 1 до 64 латинских букв, цифр, «_» или «-».";
pub const BAD_DISCOUNT: &str = "Скидка: целое число от 0 до 100 или пусто.";
/// The move form without a stream.
pub const CHOOSE_STREAM: &str = "Выберите поток из списка.";

#[cfg(test)]
mod tests {
    use super::*;

    /// The long sentences are written over several source lines: they must
    /// read as one line with single spaces.
    #[test]
    fn long_sentences_are_one_line() {
        for text in [BAD_FILTER, STALE_BOOKING] {
            assert!(!text.contains('\n') && !text.contains("  "), "{text:?}");
        }
        assert!(BAD_FILTER.ends_with("или none, порядок — activity или id."));
    }
}
