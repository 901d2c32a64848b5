//! Staff roles, booking statuses, lead tiers, the users list's status
//! filter and the stream registry's refusals.

use super::{Badge, Label};
use crate::domain::booking::BookingStatus;
use crate::domain::lead::Tier;
use crate::domain::role::Role;
use crate::domain::stream::{SettingsError, leading_number};
use crate::domain::user::StatusFilter;

impl Label for Role {
    type Text = &'static str;

    /// Russian name for the UI.
    fn label(&self) -> &'static str {
        match self {
            Role::Viewer => "наблюдатель",
            Role::Editor => "редактор",
            Role::Admin => "администратор",
        }
    }
}

impl Label for BookingStatus {
    type Text = &'static str;

    /// Russian name for the UI.
    fn label(&self) -> &'static str {
        match self {
            BookingStatus::New => "Новая заявка",
            BookingStatus::Pending => "В ожидании",
            BookingStatus::Confirmed => "Подтверждено",
            BookingStatus::Cancelled => "Отменено",
            BookingStatus::Unknown => "Неизвестно",
        }
    }
}

impl Badge for BookingStatus {
    /// CSS modifier class for the status badge.
    fn badge(&self) -> &'static str {
        match self {
            BookingStatus::New => "new",
            BookingStatus::Pending => "warn",
            BookingStatus::Confirmed => "ok",
            BookingStatus::Cancelled => "bad",
            BookingStatus::Unknown => "unknown",
        }
    }
}

impl Label for Tier {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Tier::Hot => "Горячий",
            Tier::Warm => "Тёплый",
            Tier::Cool => "Прохладный",
            Tier::Cold => "Холодный",
        }
    }
}

impl Badge for Tier {
    /// CSS modifier of the tier's badge.
    fn badge(&self) -> &'static str {
        match self {
            Tier::Hot => "bad",
            Tier::Warm => "warn",
            Tier::Cool => "new",
            Tier::Cold => "unknown",
        }
    }
}

impl Label for StatusFilter {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Self::Latest(status) => status.label(),
            Self::NoBookings => "Нет бронирований",
        }
    }
}

impl Label for SettingsError {
    type Text = &'static str;

    fn label(&self) -> &'static str {
        match self {
            Self::DisplayName => "Название: от 1 до 100 символов.",
            Self::StartsOn => "Дата начала: в формате ГГГГ-ММ-ДД или пусто.",
            Self::Capacity => "Мест: целое число от 1 до 100000 или пусто (без ограничения).",
            Self::CurrentArchived => "Архивный поток не может быть текущим набором.",
            Self::EnrolmentOpensOn => "Набор открыт с: дата в формате ГГГГ-ММ-ДД или пусто.",
            Self::EnrolmentAfterStart => "Набор не может открыться позже даты начала потока.",
        }
    }
}

/// A Russian display name suggested when a stream is adopted into the registry: a code starting
/// with a number N gives "N-й поток" ("3rd_stream" → "3-й поток", "10th_stream" → "10-й поток");
/// anything else → the code itself (staff rename it on the registry page).
pub fn suggested_display_name(code: &str) -> String {
    match leading_number(code) {
        Some(n) => format!("{n}-й поток"),
        None => code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_labels_and_badges() {
        use BookingStatus::*;
        let table = [
            (New, "Новая заявка", "new"),
            (Pending, "В ожидании", "warn"),
            (Confirmed, "Подтверждено", "ok"),
            (Cancelled, "Отменено", "bad"),
            (Unknown, "Неизвестно", "unknown"),
        ];
        for (status, label, badge) in table {
            assert_eq!(status.label(), label);
            assert_eq!(status.badge(), badge);
        }
    }

    #[test]
    fn registry_refusals_are_in_russian() {
        assert!(SettingsError::CurrentArchived.label().contains("Архивный"));
    }

    #[test]
    fn suggested_display_names() {
        assert_eq!(suggested_display_name("3rd_stream"), "3-й поток");
        assert_eq!(suggested_display_name("10th_stream"), "10-й поток");
        assert_eq!(suggested_display_name("1st_stream"), "1-й поток");
        assert_eq!(suggested_display_name("007_stream"), "7-й поток");
        assert_eq!(suggested_display_name("mentoring"), "mentoring");
        assert_eq!(suggested_display_name("intensive"), "intensive");
        assert_eq!(suggested_display_name(""), "");
        let huge = format!("{}_stream", "9".repeat(100));
        assert_eq!(suggested_display_name(&huge), huge);
    }
}
