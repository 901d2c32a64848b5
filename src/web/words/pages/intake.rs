//! Intake routing on the registry page (`/settings/streams`) and its marker
//! on the stream and user pages.

use crate::store::intake::Idle;
use crate::web::words::Label;

pub const TITLE: &str = "Новые заявки из бота";
pub const EXPLAINED: &str = "Бот записывает каждую новую заявку, любого курса, в поток по \
умолчанию. Пока правило курса включено, сервер в течение нескольких секунд переносит такие \
заявки, созданные после включения, в текущий набор курса. Заявки, которые меняли сотрудники, \
более старые заявки и заявки других потоков оно не трогает; лимит мест перенос не \
останавливает (бот о нём не знает).";

/// The rule in words, around its source code: «новые заявки из бота
/// (`4th_stream`) — в текущий набор».
pub const RULE_BEFORE_CODE: &str = "новые заявки из бота (";
pub const RULE_AFTER_CODE: &str = ") — в текущий набор";

pub const COLUMN_COURSE: &str = "Курс";
pub const COLUMN_RULE: &str = "Правило";
pub const COLUMN_TARGET: &str = "Куда переносит";
pub const COLUMN_SINCE: &str = "Включено с";
pub const COLUMN_MOVED: &str = "Перенесено заявок";

pub const STATE_ON: &str = "включено";
pub const STATE_OFF: &str = "выключено";
pub const SWITCH_ON: &str = "Включить";
pub const SWITCH_OFF: &str = "Выключить";
pub const NO_COURSES: &str = "Курсов нет.";

pub const NOTICE_ON: &str = "Правило включено: новые заявки из бота пойдут в текущий набор.";
pub const NOTICE_OFF: &str = "Правило выключено: заявки больше не переносятся.";

/// The refusal of a form naming a course that is not there.
pub const COURSE_NOT_FOUND: &str = "Такого курса нет.";
/// The form's `enabled` field is neither `on` nor `off`.
pub const BAD_SWITCH: &str = "Правило можно только включить (on) или выключить (off).";

/// The marker of a booking the rule moved, on the stream and user pages.
pub const AUTO_MOVED: &str = "перенесено автоматически";

impl Label for Idle {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Idle::Off => "Правило выключено: заявки остаются там, куда их записал бот.",
            Idle::NoCurrentIntake => {
                "Не работает: у курса нет текущего набора. Отметьте поток курса как текущий \
                 набор — и правило начнёт переносить заявки туда."
            }
            Idle::TargetIsSource => {
                "Не работает: текущий набор курса — сам поток, в который пишет бот; \
                 переносить некуда."
            }
        }
    }
}
