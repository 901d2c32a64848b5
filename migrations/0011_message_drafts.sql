-- Composer drafts: what an admin typed into /messages/new, kept as the raw
-- form so an unfinished message (no audience yet, HTML with a typo) can be
-- saved and resumed. A draft becomes a broadcast only when it is sent; then
-- it is deleted. `source_broadcast` remembers a «duplicate as new draft».
CREATE TABLE IF NOT EXISTS message_drafts (
    id bigserial PRIMARY KEY,
    form jsonb NOT NULL,
    created_by text NOT NULL,
    updated_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    source_broadcast integer
);

CREATE INDEX IF NOT EXISTS message_drafts_updated ON message_drafts (updated_at DESC, id DESC);
