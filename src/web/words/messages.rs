//! The broadcast pages' Russian: the history, a broadcast's page and its
//! actions, the composer, and the audience summaries they share.

// --- numbers with their nouns ---

/// «1 пользователь», «3 пользователя», «5 пользователей».
pub fn plural(n: i64, one: &str, few: &str, many: &str) -> String {
    let (tens, ones) = (n.abs() % 100, n.abs() % 10);
    let word = if (11..=14).contains(&tens) {
        many
    } else if ones == 1 {
        one
    } else if (2..=4).contains(&ones) {
        few
    } else {
        many
    };
    format!("{n} {word}")
}

/// «3 пользователя».
pub fn users(n: i64) -> String {
    plural(n, "пользователь", "пользователя", "пользователей")
}

/// «3 получателя».
pub fn recipients(n: i64) -> String {
    plural(n, "получатель", "получателя", "получателей")
}

/// «у 3 получателей»: the genitive, after «у».
pub fn recipients_genitive(n: i64) -> String {
    plural(n, "получателя", "получателей", "получателей")
}

// --- shared by the broadcast pages ---

/// The `{id}` of a broadcast page is not a positive integer.
pub const BAD_BROADCAST_ID: &str =
    "Номер рассылки — целое положительное число (id must be a positive integer).";
pub const BROADCAST_NOT_FOUND: &str = "Рассылка не найдена.";

// --- audience summaries ---

// A stream audience's booking statuses, as a group of people.
pub const STATUS_CONFIRMED: &str = "подтверждённые";
pub const STATUS_PENDING: &str = "в ожидании";
pub const STATUS_NEW: &str = "новые заявки";
pub const STATUS_CANCELLED: &str = "отменённые";
/// A stream audience that takes every booking status.
pub const ALL_STATUSES: &str = "все статусы";

/// A booking status the pages have no words for.
pub fn other_status(status: i32) -> String {
    format!("статус {status}")
}

/// An audience definition that does not parse.
pub const UNKNOWN_AUDIENCE: &str = "неизвестная аудитория";

// The old dashboard's `recipient_type`s.
pub const LEGACY_GROUP: &str = "группа";
pub const LEGACY_INDIVIDUAL: &str = "отдельные пользователи";
pub const LEGACY_ALL: &str = "все пользователи";
/// An old dashboard's broadcast that recorded no audience.
pub const LEGACY_UNKNOWN: &str = "неизвестно (старая рассылка)";

// --- history page ---

pub const BAD_HISTORY_STATUS: &str = "Статус рассылки — один из: draft, scheduled, sending, paused, \
                                      done, cancelled, failed.";
pub const BAD_STREAM_CODE: &str = "Поток — код потока: латинские буквы, цифры, «_» и «-».";

pub fn bad_author(max: usize) -> String {
    format!("Автор — логин сотрудника, не длиннее {max} символов.")
}

// --- broadcast page ---

pub const BAD_RECIPIENT_STATUS: &str = "Статус получателя — один из: pending, sending, sent, \
                                        failed, blocked, unknown, skipped, deleted.";
/// A recipient status the pages do not know.
pub const UNKNOWN_RECIPIENT_STATUS: &str = "неизвестно";

// Sending time: «45 с», «3 мин 20 с», «2 ч 5 мин».
pub fn seconds(s: i64) -> String {
    format!("{s} с")
}

pub fn minutes_seconds(m: i64, s: i64) -> String {
    format!("{m} мин {s} с")
}

pub fn hours_minutes(h: i64, m: i64) -> String {
    format!("{h} ч {m} мин")
}

// --- broadcast actions ---

// The buttons.
pub const CANCEL: &str = "Отменить";
pub const PAUSE: &str = "Приостановить";
pub const RESUME: &str = "Продолжить";
pub const RETRY_FAILED: &str = "Повторить неудачные";
pub const RETRY_UNKNOWN: &str = "Повторить неизвестные";
pub const DELETE_FROM_CHATS: &str = "Удалить из чатов";
pub const DUPLICATE: &str = "Дублировать как черновик";

// The banners after an action was done.
pub const CANCELLED: &str = "Рассылка отменена.";
pub const PAUSED: &str = "Рассылка приостановлена.";
pub const RESUMED: &str = "Рассылка продолжается.";
pub const FAILED_REQUEUED: &str = "Получатели с ошибкой снова в очереди.";
pub const UNKNOWN_REQUEUED: &str = "Получатели с неизвестным исходом снова в очереди.";
pub const DELETING_FROM_CHATS: &str = "Сообщения удаляются из чатов.";

// Why an action is not offered.
pub fn action_not_allowed(action: &str, status: &str) -> String {
    format!("Действие «{action}» недоступно: статус рассылки — «{status}».")
}

pub const LEGACY_READ_ONLY: &str = "Рассылки старой панели изменить нельзя.";
pub const NOTHING_FAILED: &str = "Нет получателей с ошибкой — повторять некому.";
pub const NOTHING_UNKNOWN: &str = "Нет получателей с неизвестным исходом — повторять некому.";

/// Nothing was delivered within the `hours` Telegram lets the bot delete in.
pub fn nothing_to_delete(hours: i64) -> String {
    format!(
        "За последние {hours} часов сообщение этой рассылки никому не доставлено \
         — удалять из чатов нечего."
    )
}

/// A broadcast whose content no longer passes the check cannot be duplicated.
pub const CANNOT_DUPLICATE: &str =
    "Содержание этой рассылки не проходит проверку Telegram HTML — дублировать его нельзя.";

// The confirmation pages: the question, then what will happen.
pub const CANCEL_DRAFT_QUESTION: &str = "Отменить черновик?";
pub const CANCEL_DRAFT_EFFECT: &str = "Он останется в истории отменённым; отправлен не будет.";
pub const CANCEL_SCHEDULED_QUESTION: &str = "Отменить запланированную рассылку?";

pub fn cancel_scheduled_effect(at: &str) -> String {
    format!("Она не будет отправлена (запланирована на {at}).")
}

pub const CANCEL_SENDING_QUESTION: &str = "Отменить рассылку?";

/// «3 получателя ещё не получили сообщение — им оно не придёт.»
pub fn cancel_not_received(remaining: i64) -> String {
    format!(
        "{} ещё не {} сообщение — {} не придёт.",
        recipients(remaining),
        if remaining % 10 == 1 && remaining % 100 != 11 {
            "получил"
        } else {
            "получили"
        },
        if remaining == 1 {
            "ему оно"
        } else {
            "им оно"
        },
    )
}

pub fn cancel_already_delivered(sent: i64) -> String {
    format!("Уже доставлено: {sent}. Эти сообщения останутся в чатах.")
}

pub const PAUSE_QUESTION: &str = "Приостановить рассылку?";

pub fn pause_progress(sent: i64, total: i64, remaining: i64) -> String {
    format!("Доставлено {sent} из {total}; в очереди {remaining}.")
}

pub const PAUSE_EFFECT: &str =
    "Сообщения, которые уже отправляются, дойдут. Остальные уйдут после «Продолжить».";
pub const RESUME_QUESTION: &str = "Продолжить рассылку?";

pub fn resume_effect(remaining: i64) -> String {
    format!(
        "В очереди {} — отправка продолжится сразу.",
        recipients(remaining)
    )
}

pub const RETRY_FAILED_QUESTION: &str = "Повторить отправку получателям с ошибкой?";
pub const RETRY_UNKNOWN_QUESTION: &str = "Повторить отправку получателям с неизвестным исходом?";

/// What a retry puts back in the queue: `n` recipients.
pub fn requeued(n: i64) -> String {
    format!("Снова в очередь: {}.", recipients(n))
}

pub const RETRY_UNKNOWN_WARNING: &str =
    "Часть из них могла уже получить сообщение и получит его дважды.";
pub const DELETE_QUESTION: &str = "Удалить сообщение из чатов?";

/// Deleted for `deletable` recipients, those reached within `hours`.
pub fn delete_effect(deletable: i64, hours: i64) -> String {
    format!(
        "Оно будет удалено у {} — у тех, кому доставлено за последние {hours} часов.",
        recipients_genitive(deletable)
    )
}

pub const DELETE_WARNING: &str = "Вернуть удалённые сообщения нельзя.";
pub const DUPLICATE_QUESTION: &str = "Создать черновик из этой рассылки?";
pub const DUPLICATE_EFFECT: &str = "Новый черновик получит то же содержание и аудиторию. Ничего \
                                    не будет отправлено, пока вы его не отправите.";

// --- composer ---

pub const BAD_DRAFT_ID: &str = "Номер черновика — целое положительное число.";
pub const DRAFT_SAVED: &str = "Черновик сохранён.";

pub fn draft_copy_of(source: i32) -> String {
    format!("Черновик — копия рассылки №{source}.")
}

/// A draft in the list whose text is empty.
pub const DRAFT_WITHOUT_TEXT: &str = "(без текста)";

pub fn chosen_users(n: usize) -> String {
    format!("Выбранные пользователи: {n}")
}

/// Editing: the broadcast is no longer scheduled (`status` in words).
pub fn only_scheduled_editable(status: &str) -> String {
    format!("Изменить можно только запланированную рассылку, а эта — {status}.")
}

pub fn edit_too_late(id: i32, status: &str) -> String {
    format!("Рассылку №{id} уже нельзя изменить: она {status}. Изменения не сохранены.")
}

/// The form's key was already sent, as broadcast `id` when known, with
/// other data.
pub fn form_already_sent(id: Option<i32>) -> String {
    let which = id.map_or_else(String::new, |id| format!(" №{id}"));
    format!(
        "Эта форма уже отправлена как рассылка{which}, а сейчас в ней другие данные. \
         Откройте рассылку или начните новую — так одно нажатие не создаст две рассылки."
    )
}

// «Отправить себе».
pub const FIX_BEFORE_TEST: &str = "Исправьте сообщение, чтобы отправить его себе.";

pub fn test_sent(chat: i64) -> String {
    format!("Тестовое сообщение отправлено вам в Telegram ({chat}).")
}

/// The signed-in `login` has no Telegram ID to send to.
pub fn no_telegram_id(login: &str) -> String {
    format!(
        "У вашей учётной записи нет Telegram ID. Его задаёт администратор: \
         hsl-dashboard staff set-telegram {login} <user_id>."
    )
}

pub const TELEGRAM_NOT_CONFIGURED: &str = "Telegram не настроен: не задан TELEGRAM_BOT_TOKEN.";

pub fn telegram_refused(message: &str) -> String {
    format!("Telegram не принял сообщение: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        let p = |n| plural(n, "получатель", "получателя", "получателей");
        assert_eq!(p(1), "1 получатель");
        assert_eq!(p(2), "2 получателя");
        assert_eq!(p(5), "5 получателей");
        assert_eq!(p(11), "11 получателей");
        assert_eq!(p(21), "21 получатель");
        assert_eq!(p(112), "112 получателей");
        assert_eq!(p(0), "0 получателей");
    }
}
