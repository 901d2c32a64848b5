//! The CSV exports' headings.

// --- columns ---

pub const USER_ID: &str = "ID пользователя";
pub const USERNAME: &str = "Ник в Telegram";
pub const FIRST_NAME: &str = "Имя";
pub const LAST_NAME: &str = "Фамилия";
pub const EMAIL: &str = "E-mail";
pub const LAST_ACTIVITY: &str = "Последняя активность";
pub const EVENTS: &str = "Событий";

// --- yes / no cells ---

pub const YES: &str = "да";
pub const NO: &str = "нет";

// --- exports ---

/// `/analytics/leads.csv`.
pub const LEADS: &[&str] = &[
    USER_ID,
    USERNAME,
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    "Уроки",
    "Уровень",
    "Событий за неделю",
    "Активных дней",
    "Последний активный день",
];

/// `/free-lessons.csv`.
pub const FREE_LESSONS: &[&str] = &[
    USER_ID,
    USERNAME,
    FIRST_NAME,
    LAST_NAME,
    EMAIL,
    "Тип урока",
    "Дата урока",
    "Записался",
    "Напоминание отправлено",
];

/// `/streams/{code}.csv` listing students.
pub const STREAM_STUDENTS: &[&str] = &[
    USER_ID,
    USERNAME,
    FIRST_NAME,
    LAST_NAME,
    "Статус",
    "Дата заявки",
    "ID заявки",
    LAST_ACTIVITY,
    EVENTS,
];

/// `/streams/{code}.csv?status=viewers`.
pub const STREAM_VIEWERS: &[&str] = &[
    USER_ID,
    USERNAME,
    FIRST_NAME,
    LAST_NAME,
    "Первый просмотр",
    "Последний просмотр",
    "Просмотров",
    LAST_ACTIVITY,
    EVENTS,
];

/// `/users.csv`.
pub const USERS: &[&str] = &[
    USER_ID,
    USERNAME,
    FIRST_NAME,
    LAST_NAME,
    "Последний поток",
    "Статус последней заявки",
    "Заявок",
    EVENTS,
    "Бесплатных уроков",
    "Впервые",
    LAST_ACTIVITY,
];
