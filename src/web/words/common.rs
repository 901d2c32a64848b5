//! The Russian of the pages' shared parts: error pages, refused input,
//! navigation, sign-in, the staff and audit pages, and the few Russian
//! answers the JSON API sends on purpose (API.md documents them).

use std::fmt::Display;

// --- error pages: (title, explanation) ---

pub const BAD_REQUEST_TITLE: &str = "Неверный запрос";
pub const UNAUTHORIZED_TITLE: &str = "Нужно войти";
pub const FORBIDDEN_TITLE: &str = "Недостаточно прав";
pub const FORBIDDEN_TEXT: &str =
    "Эта страница или действие доступны сотрудникам с более высокой ролью.";
/// A form sent without its CSRF token, or with a stale one.
pub const CSRF_REJECTED_TITLE: &str = "Форма устарела";
pub const CSRF_REJECTED_TEXT: &str = "Обновите страницу и отправьте форму ещё раз.";
pub const NOT_FOUND_TITLE: &str = "Страница не найдена";
pub const CONFLICT_TITLE: &str = "Конфликт";
pub const METHOD_NOT_ALLOWED_TITLE: &str = "Метод не поддерживается";
pub const PAYLOAD_TOO_LARGE_TITLE: &str = "Слишком большой запрос";

/// The body limit, in KiB.
pub fn payload_too_large(limit_kib: usize) -> String {
    format!("Данные формы больше {limit_kib} КБ.")
}

/// Telegram refused or failed (a 502).
pub const BAD_GATEWAY_TITLE: &str = "Ошибка Telegram";
pub const UNAVAILABLE_TITLE: &str = "База данных недоступна";
pub const UNAVAILABLE_TEXT: &str = "Попробуйте обновить страницу через несколько секунд.";
pub const INTERNAL_TITLE: &str = "Внутренняя ошибка";
pub const INTERNAL_TEXT: &str = "Ошибка записана в журнал сервера.";

// --- refused input: text fields, query strings and paths ---

pub fn field_not_utf8(field: &str) -> String {
    format!("Поле «{field}»: текст не в кодировке UTF-8.")
}

/// `character` is described as `U+0000 (NUL)`.
pub fn field_control_character(field: &str, character: &str) -> String {
    format!("Поле «{field}» содержит недопустимый управляющий символ {character}.")
}

/// The `page` parameter, as staff know it.
pub const PAGE_NUMBER: &str = "Номер страницы";
/// The `events_page` parameter of the user page.
pub const EVENTS_PAGE_NUMBER: &str = "Номер страницы событий";

/// Any other parameter, by its name.
pub fn parameter(name: &str) -> String {
    format!("Параметр «{name}»")
}

/// A query or path that failed as a whole; `message` is the decoder's.
pub fn bad_query(message: &str) -> String {
    format!("Неверный запрос: {message}.")
}

pub fn integer_between(min: i64, max: i64) -> String {
    format!("целое число от {min} до {max}")
}

pub const POSITIVE_INTEGER: &str = "целое положительное число";
pub const NON_NEGATIVE_INTEGER: &str = "целое неотрицательное число";
pub const INTEGER: &str = "целое число";

/// `Номер страницы — целое число от 1 до 1000.`
pub fn parameter_must_be(label: &str, what: &str) -> String {
    format!("{label} — {what}.")
}

/// A parameter's problem the words above don't cover, as the decoder put it.
pub fn parameter_problem(label: &str, message: &str) -> String {
    format!("{label}: {message}.")
}

// --- navigation ---

pub const NAV_HOME: &str = "Главная";
pub const NAV_WORKSHOPS: &str = "Курсы";
pub const NAV_USERS: &str = "Пользователи";
pub const NAV_MESSAGES: &str = "Сообщения";
pub const NAV_ANALYTICS: &str = "Аналитика";
pub const NAV_FREE_LESSONS: &str = "Бесплатные уроки";
pub const NAV_STREAMS: &str = "Потоки";
pub const NAV_STAFF: &str = "Сотрудники";
pub const NAV_AUDIT: &str = "Журнал";

// --- login page ---

/// The sign-in form's CSRF token is missing or stale.
pub const LOGIN_FORM_EXPIRED: &str = "Форма входа устарела. Попробуйте войти ещё раз.";
pub const LOGIN_FIELDS_EMPTY: &str = "Введите логин и пароль.";
/// Every sign-in slot or password-hashing slot is taken.
pub const LOGIN_BUSY: &str =
    "Сервер занят проверкой других входов. Попробуйте ещё раз через несколько секунд.";
/// Too many failures from the client's network.
pub const LOGIN_TOO_MANY_FAILURES: &str =
    "Слишком много неудачных попыток входа. Подождите 15 минут и попробуйте снова.";
pub const LOGIN_WRONG_CREDENTIALS: &str = "Неверный логин или пароль.";
pub const LOGIN_ACCOUNT_DISABLED: &str = "Учётная запись отключена. Обратитесь к администратору.";

// --- staff page ---

/// Banners after a redirect.
pub const STAFF_TOKEN_REVOKED: &str = "Токен отозван.";
pub const STAFF_ROLE_CHANGED: &str = "Роль изменена; сеансы сотрудника завершены.";
pub const STAFF_DISABLED: &str = "Учётная запись отключена; её сеансы завершены.";
pub const STAFF_ENABLED: &str = "Учётная запись снова активна.";

pub const TOKEN_NAME_TAKEN: &str = "Активный токен с таким именем уже есть.";
/// An admin may not change their own role or disable themselves.
pub const OWN_ACCOUNT: &str = "Нельзя менять роль или отключать собственную учётную запись.";
pub const TOKEN_NAME_RULE: &str =
    "Имя токена: 1–64 латинских букв, цифр, «.», «_» или «-»; первая — буква или цифра.";
pub const TOKEN_ROLE_MISSING: &str = "Выберите роль токена.";
pub const ROLE_INVALID: &str = "Роль должна быть viewer, editor или admin.";
pub const DISABLED_INVALID: &str = "Поле disabled должно быть true или false.";

// --- audit page: its filters, as the form names them ---

pub const AUDIT_FROM: &str = "с";
pub const AUDIT_TO: &str = "по";
pub const AUDIT_ACTOR: &str = "кто";
pub const AUDIT_ACTION: &str = "действие";
pub const AUDIT_ENTITY_TYPE: &str = "объект";
pub const AUDIT_ENTITY_ID: &str = "id объекта";

pub fn audit_filter_too_long(filter: &str, max_chars: impl Display) -> String {
    format!("Фильтр «{filter}» длиннее {max_chars} символов.")
}

pub fn audit_bad_date(filter: &str) -> String {
    format!("Дата «{filter}» должна быть в формате ГГГГ-ММ-ДД.")
}

/// The «с» date is after the «по» date.
pub const AUDIT_DATES_REVERSED: &str = "Дата «с» позже даты «по».";

// --- the JSON API's Russian answers (API.md) ---

/// The users family's legacy answer: a 400 for a user without an active booking.
pub const NO_ACTIVE_BOOKING: &str = "У пользователя нет активных бронирований";
/// The users family's legacy answer: a 409 for a move to the user's own stream.
pub const ALREADY_IN_STREAM: &str = "Пользователь уже находится в этом потоке";
/// No bot token: said by ops, by waiting broadcasts and by a refused test send.
pub const TELEGRAM_NOT_CONFIGURED: &str = "Telegram не настроен";
