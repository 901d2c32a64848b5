//! What staff call the bot's event and free-lesson types.

/// What staff call the bot's event types; `None` for types it does not know.
pub fn event_label(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "start_command" => "Запустил бота",
        "view_program" => "Смотрел программу курса",
        "lesson_link_clicked" => "Перешёл по ссылке на урок",
        "booking_status_changed" => "Статус заявки изменился",
        "view_reviews" => "Смотрел отзывы",
        "payment_instructions_viewed" => "Смотрел, как оплатить",
        "help_command" => "Открыл помощь",
        "contact_manager" => "Написал менеджеру",
        "faq_opened" => "Открыл FAQ",
        _ => return None,
    })
}

/// What staff call the free-lesson types the bot knows; `None` otherwise.
pub fn lesson_label(lesson_type: &str) -> Option<&'static str> {
    Some(match lesson_type {
        "cursor_lesson" => "Урок по Cursor",
        "vibe_coding_intro" => "Введение в вайб-кодинг",
        "ai_agents_lesson" => "Урок про ИИ-агентов",
        _ => return None,
    })
}
