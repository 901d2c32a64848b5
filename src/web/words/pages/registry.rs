//! The stream registry's pages (`/settings/streams`).

// --- banners after a redirect ---

pub const NOTICE_CREATED: &str = "Поток добавлен в реестр.";
pub const NOTICE_SAVED: &str = "Изменения сохранены.";
pub const NOTICE_ADOPTED: &str =
    "Поток добавлен в реестр. Проверьте название и укажите дату начала.";

// --- refusals ---

pub const STREAM_EXISTS: &str = "Поток с таким кодом уже есть в реестре.";
/// No course chosen, or one that is not in the list.
pub const COURSE_REQUIRED: &str = "Выберите курс из списка.";
/// Another stream of the course became the current intake meanwhile.
pub const CURRENT_TAKEN: &str =
    "Одновременно другой поток этого курса стал текущим набором. Попробуйте ещё раз.";
pub const NOTHING_TO_CHANGE: &str = "Нечего сохранять.";
/// The course chosen for adoption is not the one of the code's bookings.
pub const COURSE_OF_BOOKINGS: &str = "Выберите курс, в заявках которого есть этот поток.";
pub const STREAM_NOT_FOUND: &str = "Такого потока нет в реестре.";
pub const BAD_CODE: &str = "Код: от 1 до 50 латинских букв, цифр, «_» или «-».";

/// A «набор открыт с» the registry did not set: the default's day.
pub fn default_enrolment(day: &str) -> String {
    format!("{day} (по умолчанию)")
}
