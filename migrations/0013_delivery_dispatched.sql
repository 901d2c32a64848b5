-- When a claimed recipient's request to Telegram started. A row is claimed
-- (`sending`, under a lease) a little before its turn in the send budget
-- comes; only once its request starts can Telegram have it. So when a
-- sender dies, its rows without `dispatched_at` go back to `pending`, and
-- only those with it become `unknown` ("may have been delivered").
ALTER TABLE message_recipients ADD COLUMN IF NOT EXISTS dispatched_at timestamptz;

-- Rows in flight while the dashboard is upgraded were sent by a version
-- that did not record this: they count as started.
UPDATE message_recipients SET dispatched_at = coalesce(updated_at, now())
WHERE delivery_status = 'sending' AND dispatched_at IS NULL;
