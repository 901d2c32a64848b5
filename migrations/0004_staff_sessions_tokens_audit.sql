-- Staff accounts, server-side sessions, API tokens and the audit log. Secrets are stored only as hashes: argon2id for passwords,
-- SHA-256 for session ids and API tokens (both are 256-bit random values, so
-- a fast hash is enough and lookups stay O(1)).

CREATE TABLE staff (
    id BIGSERIAL PRIMARY KEY,
    login TEXT NOT NULL
        CONSTRAINT staff_login_format CHECK (login ~ '^[a-z0-9][a-z0-9._-]{1,31}$'),
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT staff_role_known CHECK (role IN ('viewer', 'editor', 'admin')),
    telegram_user_id BIGINT CONSTRAINT staff_telegram_user_id_positive CHECK (telegram_user_id > 0),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX staff_login_unique ON staff (login);

CREATE TABLE staff_sessions (
    id_hash BYTEA PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    client_addr INET,
    user_agent TEXT
);
CREATE INDEX staff_sessions_staff_id ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expires_at ON staff_sessions (expires_at);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL
        CONSTRAINT api_tokens_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    token_hash BYTEA NOT NULL,
    role TEXT NOT NULL CONSTRAINT api_tokens_role_known CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by TEXT NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX api_tokens_token_hash_unique ON api_tokens (token_hash);
-- A name is reusable once the old token is revoked.
CREATE UNIQUE INDEX api_tokens_active_name_unique ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT,
    before JSONB,
    after JSONB,
    client_addr INET,
    request_id TEXT
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
