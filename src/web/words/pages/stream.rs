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

// --- stream numbers (workshops cards and the stream page's head) ---

/// The fill bar's caption, in people: «7 из 30 мест».
pub fn places(taken: i64, capacity: i32) -> String {
    let word = crate::web::words::messages::plural(i64::from(capacity), "места", "мест", "мест");
    let word = word
        .split_once(' ')
        .map_or("мест", |(_, word)| word)
        .to_owned();
    format!("{taken} из {capacity} {word}")
}

/// People beyond the capacity: «+12 сверх лимита».
pub fn overflow(over: i64) -> String {
    format!("+{over} сверх лимита")
}

/// The stale flag: «5 заявок в ожидании дольше 3 дней».
pub fn stale_pending(count: i64, days: u32) -> String {
    use crate::web::words::messages::plural;
    format!(
        "{} в ожидании дольше {}",
        plural(count, "заявка", "заявки", "заявок"),
        plural(i64::from(days), "дня", "дней", "дней")
    )
}

/// `?older_than_days=` not a whole number of days from 1 to 365, or given
/// without `status=pending`.
pub const OLDER_THAN_DAYS: &str =
    "older_than_days — целое число дней от 1 до 365, и только вместе с status=pending.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_russian() {
        assert_eq!(places(7, 30), "7 из 30 мест");
        assert_eq!(places(1, 1), "1 из 1 места");
        assert_eq!(places(22, 21), "22 из 21 места");
        assert_eq!(places(3, 4), "3 из 4 мест");
        assert_eq!(overflow(12), "+12 сверх лимита");
        assert_eq!(stale_pending(1, 3), "1 заявка в ожидании дольше 3 дней");
        assert_eq!(stale_pending(5, 1), "5 заявок в ожидании дольше 1 дня");
        assert_eq!(stale_pending(22, 21), "22 заявки в ожидании дольше 21 дня");
    }
}
