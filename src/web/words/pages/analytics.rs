//! The analytics page, the home page's charts, the charts' tables and the
//! free-lessons page.

// --- analytics page: the period and the filter ---

/// `?days=` out of range.
pub const RANGE_DAYS: &str = "Период: число дней от 1 до 365.";
/// `?from=` / `?to=` not a date.
pub const RANGE_DATE: &str = "Даты периода — в виде ГГГГ-ММ-ДД.";
/// Only one of `from` and `to`.
pub const RANGE_INCOMPLETE: &str = "Укажите обе даты периода: «с» и «по».";
/// Both `days` and `from`/`to`.
pub const RANGE_BOTH: &str = "Укажите либо число дней, либо даты «с» и «по».";
pub const RANGE_REVERSED: &str = "Дата «с» позже даты «по».";
pub const RANGE_FUTURE: &str = "Дата «по» не может быть позже сегодняшней.";
pub const RANGE_TOO_LONG: &str = "Период — не больше 365 дней.";
/// `?tier=` not a lead tier.
pub const BAD_TIER: &str = "Уровень лида: hot, warm, cool или cold.";

// --- analytics page: cards and charts ---

/// «за N дн.», the period in the charts' summaries.
pub fn span(days: i64) -> String {
    format!("за {days} дн.")
}

/// A daily chart's summary: `what` over `span`, its total and the average.
pub fn daily_summary(what: &str, span: &str, total: &str, average: f64) -> String {
    format!("{what} {span}: {total}, в среднем {average:.1} в день.")
}

/// Number cards' labels (after the number).
pub const CARD_NEW_USERS: &str = "новых пользователей";
pub const CARD_BOOKINGS: &str = "заявок на курс";
pub const CARD_EVENTS: &str = "событий";

pub const NEW_USERS_CHART: &str = "Новые пользователи по дням";
/// The new-users chart's column and summary subject.
pub const NEW_USERS: &str = "Новых пользователей";
pub const GROWTH_CHART: &str = "Рост числа пользователей";
/// The growth line (here and on the home page).
pub const TOTAL_USERS: &str = "Всего пользователей";

/// The growth chart's summary: users added over the period.
pub fn growth_summary(added: &str) -> String {
    format!("Пользователей на конец каждого дня; за период прибавилось {added}.")
}

pub const BOOKINGS_CHART: &str = "Заявки на курс по дням";
/// The bookings chart's column.
pub const BOOKINGS_COLUMN: &str = "Заявок";
/// The bookings chart's summary subject.
pub const BOOKINGS: &str = "Заявок на курс";
pub const EVENTS_CHART: &str = "События по дням";
/// The events chart's column and summary subject; the ranking's column.
pub const EVENTS: &str = "Событий";
pub const EVENT_TYPES_CHART: &str = "Популярные типы событий";

/// The event types chart's summary.
pub fn event_types_summary(types: usize, span: &str, events: &str) -> String {
    format!("{types} типов событий {span}, всего {events} событий; доли — от всех событий периода.")
}

/// The leads' tab without a tier filter.
pub const ALL_TIERS: &str = "Все";

// --- home page ---

pub const HOME_GROWTH_CHART: &str = "Рост числа пользователей за 30 дней";

/// The home growth chart's summary: users added over 30 days.
pub fn home_growth_summary(added: &str) -> String {
    format!("Пользователей на конец дня; за 30 дней прибавилось {added}.")
}

pub const HOME_REGISTRATIONS_CHART: &str = "Заявки и записи на бесплатные уроки за 30 дней";
pub const BOOKINGS_SERIES: &str = "Заявки на курс";
pub const LESSONS_SERIES: &str = "Записи на бесплатный урок";

/// The home registrations chart's summary.
pub fn home_registrations_summary(bookings: &str, lessons: &str) -> String {
    format!("За 30 дней: заявок на курс {bookings}, записей на бесплатные уроки {lessons}.")
}

// --- charts' data tables ---

pub const DATE_COLUMN: &str = "Дата";
/// The ranking's category column.
pub const TYPE_COLUMN: &str = "Тип";
pub const SHARE_COLUMN: &str = "Доля";

// --- free-lessons page ---

/// A registration without a lesson type.
pub const NO_LESSON_TYPE: &str = "не указан";
/// A lesson date row without a date.
pub const NO_DATE: &str = "без даты";
