-- Broadcasts extend the previous dashboard's tables, which are ours: every
-- old row stays, and old broadcasts show as finished legacy ones. Nothing is
-- rewritten: new columns get their legacy value through ADD COLUMN's default
-- (a catalogue change, no table rewrite), then the default for new rows is
-- set. Constraints on values the old code wrote freely are NOT VALID, so
-- they bind new rows without failing on old ones.

ALTER TABLE message_history
    ADD COLUMN IF NOT EXISTS legacy boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'done',
    ADD COLUMN IF NOT EXISTS content_type text NOT NULL DEFAULT 'text',
    ADD COLUMN IF NOT EXISTS file_id text,
    ADD COLUMN IF NOT EXISTS buttons jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN IF NOT EXISTS link_preview boolean NOT NULL DEFAULT false,
    -- domain::audience::Audience as JSON; NULL for legacy broadcasts, whose
    -- recipient_type / recipient_group say what little is known.
    ADD COLUMN IF NOT EXISTS audience jsonb,
    ADD COLUMN IF NOT EXISTS created_by text,
    ADD COLUMN IF NOT EXISTS scheduled_by text,
    ADD COLUMN IF NOT EXISTS cancelled_by text,
    ADD COLUMN IF NOT EXISTS idempotency_key text,
    -- A digest of the request, so a key reused for another request is refused.
    ADD COLUMN IF NOT EXISTS idempotency_digest text,
    -- The first response to that key, returned again on a repeat.
    ADD COLUMN IF NOT EXISTS first_response jsonb,
    ADD COLUMN IF NOT EXISTS started_at timestamptz,
    ADD COLUMN IF NOT EXISTS finished_at timestamptz,
    ADD COLUMN IF NOT EXISTS status_reason text,
    ADD COLUMN IF NOT EXISTS delete_requested_at timestamptz,
    ADD COLUMN IF NOT EXISTS delete_requested_by text,
    -- The per-status recipient counts (store::broadcasts::Counts), with
    -- total_recipients and successful_deliveries kept in step: written when
    -- the broadcast changes state, so lists of finished broadcasts need not
    -- count recipient rows. NULL for legacy broadcasts.
    ADD COLUMN IF NOT EXISTS counts jsonb,
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE message_history
    ALTER COLUMN legacy SET DEFAULT false,
    ALTER COLUMN status SET DEFAULT 'draft';

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'message_history_status_known') THEN
        ALTER TABLE message_history ADD CONSTRAINT message_history_status_known
            CHECK (status IN ('draft', 'scheduled', 'sending', 'paused', 'done', 'cancelled', 'failed'));
        ALTER TABLE message_history ADD CONSTRAINT message_history_content_type_known
            CHECK (content_type IN ('text', 'photo', 'video', 'document'));
    END IF;
END $$;

UPDATE message_history SET started_at = sent_at, finished_at = sent_at
WHERE legacy AND started_at IS NULL;

CREATE UNIQUE INDEX IF NOT EXISTS message_history_idempotency_key
    ON message_history (idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The scheduler's questions: what is due, what is sending.
CREATE INDEX IF NOT EXISTS message_history_due
    ON message_history (scheduled_at) WHERE status = 'scheduled';
CREATE INDEX IF NOT EXISTS message_history_active
    ON message_history (id) WHERE status = 'sending';

ALTER TABLE message_recipients
    ADD COLUMN IF NOT EXISTS legacy boolean NOT NULL DEFAULT true,
    ADD COLUMN IF NOT EXISTS attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz,
    -- While `sending`: until when the claim holds. A row still `sending`
    -- after that was in flight when its sender died: its outcome is unknown.
    ADD COLUMN IF NOT EXISTS lease_until timestamptz,
    ADD COLUMN IF NOT EXISTS last_error text,
    ADD COLUMN IF NOT EXISTS sent_at timestamptz,
    -- A failed attempt to delete the message from the chat (not retried).
    ADD COLUMN IF NOT EXISTS delete_error text,
    ADD COLUMN IF NOT EXISTS updated_at timestamptz;

ALTER TABLE message_recipients ALTER COLUMN legacy SET DEFAULT false;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'message_recipients_status_known') THEN
        ALTER TABLE message_recipients ADD CONSTRAINT message_recipients_status_known
            CHECK (delivery_status IN ('pending', 'sending', 'sent', 'failed', 'blocked',
                                       'unknown', 'skipped', 'deleted')) NOT VALID;
    END IF;
END $$;

-- One row per person per broadcast. The old dashboard wrote duplicates; they
-- stay (marked legacy) and only new rows are held to it.
CREATE UNIQUE INDEX IF NOT EXISTS message_recipients_once
    ON message_recipients (message_id, user_id) WHERE NOT legacy;
-- The sender's claim: the next pending rows of a broadcast, oldest first.
CREATE INDEX IF NOT EXISTS message_recipients_pending
    ON message_recipients (message_id, id) WHERE delivery_status = 'pending';
-- Leases that ran out.
CREATE INDEX IF NOT EXISTS message_recipients_in_flight
    ON message_recipients (lease_until) WHERE delivery_status = 'sending';
-- Send rate: the recent deliveries of a broadcast.
CREATE INDEX IF NOT EXISTS message_recipients_sent_at
    ON message_recipients (message_id, sent_at) WHERE sent_at IS NOT NULL;

-- People Telegram told us cannot be messaged (blocked the bot, deactivated,
-- chat not found). Broadcasts skip them.
CREATE TABLE IF NOT EXISTS blocked_users (
    user_id bigint PRIMARY KEY,
    reason text NOT NULL CHECK (reason IN ('blocked', 'deactivated', 'chat_not_found')),
    error text,
    message_id integer REFERENCES message_history (id) ON DELETE SET NULL,
    blocked_at timestamptz NOT NULL DEFAULT now()
);
