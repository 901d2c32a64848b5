-- Why a broadcast failed or paused (message_history.status_reason) and
-- what happened to a recipient (message_recipients.last_error) are now
-- codes with parameters stored as JSON text (domain::reason::Reason), e.g.
-- {"code": "rate_limited", "retry_after_s": 12}, translated when shown.
-- Both columns are ours (0008). The sentences the engine wrote before are
-- rewritten into their codes; any other text is kept as
-- {"code": "legacy", "text": ...} and shown as it was. (The reader also
-- shows text that is not JSON as it is, should an older sender write one.)

UPDATE message_history SET status_reason = CASE
    WHEN status_reason LIKE 'Telegram отклонил содержимое: %' THEN
        jsonb_build_object('code', 'telegram_rejected_content',
            'detail', substr(status_reason, length('Telegram отклонил содержимое: ') + 1))
    WHEN status_reason LIKE 'бот не может отправлять сообщения: %' THEN
        jsonb_build_object('code', 'bot_unusable',
            'detail', substr(status_reason, length('бот не может отправлять сообщения: ') + 1))
    WHEN status_reason ~ '^[0-9]{1,9} отправок подряд не удались; последняя ошибка: ' THEN
        jsonb_build_object('code', 'too_many_failures',
            'count', substring(status_reason FROM '^([0-9]+) ')::integer,
            'last', substring(status_reason
                              FROM '^[0-9]+ отправок подряд не удались; последняя ошибка: (.*)$'))
    WHEN status_reason = 'не удалось прочитать аудиторию рассылки' THEN
        jsonb_build_object('code', 'audience_unreadable')
    WHEN status_reason LIKE 'содержимое рассылки некорректно: %' THEN
        jsonb_build_object('code', 'content_invalid',
            'detail', substr(status_reason, length('содержимое рассылки некорректно: ') + 1))
    ELSE jsonb_build_object('code', 'legacy', 'text', status_reason)
    END::text
WHERE status_reason IS NOT NULL;

UPDATE message_recipients SET last_error = CASE
    WHEN last_error = 'рассылка отменена' THEN jsonb_build_object('code', 'cancelled')
    WHEN last_error ~ '^429: повтор через [0-9]{1,9} с$' THEN
        jsonb_build_object('code', 'rate_limited',
            'retry_after_s', substring(last_error FROM 'через ([0-9]+) с$')::bigint)
    WHEN last_error = 'исход неизвестен: отправитель остановился во время отправки' THEN
        jsonb_build_object('code', 'outcome_unknown_sender_stopped')
    WHEN last_error LIKE 'не получает сообщения бота: %' THEN
        jsonb_build_object('code', 'not_receiving',
            'reason', substr(last_error, length('не получает сообщения бота: ') + 1))
    ELSE jsonb_build_object('code', 'legacy', 'text', last_error)
    END::text
WHERE last_error IS NOT NULL;
