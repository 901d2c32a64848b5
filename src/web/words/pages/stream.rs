//! The stream page and the workshops page.

// --- stream page ---

/// `?status=` not one the stream page lists.
pub const STATUS_FILTER: &str =
    "Фильтр статуса: confirmed, pending, cancelled, new, unknown или viewers.";
pub const BAD_STREAM_CODE: &str =
    "Код потока — от 1 до 50 символов: латинские буквы, цифры, «_» или «-».";

/// `?page=` not a number from 1 to `max`.
pub fn bad_page_number(max: i64) -> String {
    format!("Номер страницы — целое число от 1 до {max}.")
}

pub const STREAM_NOT_FOUND: &str = "Поток не найден.";

// --- workshops page ---

/// `?status=` not one the workshops page filters by.
pub const WORKSHOPS_STATUS_FILTER: &str = "Фильтр статуса: confirmed, pending, cancelled или new.";
