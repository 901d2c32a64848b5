-- Failed logins, for throttling by login and by client address. Rows older
-- than a day are pruned by the login handler.
CREATE TABLE login_failures (
    id BIGSERIAL PRIMARY KEY,
    -- What was typed, lowercased and cut to 64 characters: it may name no
    -- account, and it is never shown anywhere.
    login TEXT NOT NULL,
    client_addr INET,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_login_at ON login_failures (login, at);
CREATE INDEX login_failures_addr_at ON login_failures (client_addr, at);
CREATE INDEX login_failures_at ON login_failures (at);

-- Settings shared by every server process, e.g. the generated session key
-- when SESSION_KEY is not configured.
CREATE TABLE app_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
