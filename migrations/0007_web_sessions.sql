-- Sign-in outside Telegram (the field engineers' PWA): the bot's /login hands out a one-time
-- link; exchanging it opens a session. Both tokens are random and stored only as sha256, so a
-- database read does not yield a usable token.
CREATE TABLE web_login_links (
    token_hash   text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    telegram_id  bigint NOT NULL REFERENCES telegram_users (telegram_id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX web_login_links_user_idx ON web_login_links (telegram_id);

CREATE TABLE web_sessions (
    token_hash    text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    telegram_id   bigint NOT NULL REFERENCES telegram_users (telegram_id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    user_agent    text NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_user_idx ON web_sessions (telegram_id);
