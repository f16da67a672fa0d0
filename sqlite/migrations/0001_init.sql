-- Initial schema. Times are INTEGER unix nanoseconds (UTC); NULL is the zero time.
-- Optional text fields are '' rather than NULL. STRICT makes SQLite enforce column types.

CREATE TABLE users (
    id                 TEXT    NOT NULL PRIMARY KEY,
    nickname           TEXT    NOT NULL DEFAULT '',
    avatar_url         TEXT    NOT NULL DEFAULT '',
    unionid            TEXT    NOT NULL DEFAULT '',
    phone              TEXT    NOT NULL DEFAULT '',
    phone_country_code TEXT    NOT NULL DEFAULT '',
    phone_verified_at  INTEGER,
    disabled           INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER,
    updated_at         INTEGER
) STRICT;

-- No unionid belongs to two users; '' means unknown and may repeat.
CREATE UNIQUE INDEX users_unionid ON users (unionid) WHERE unionid <> '';
-- No verified phone number belongs to two users ('' means none).
CREATE UNIQUE INDEX users_phone ON users (phone_country_code, phone) WHERE phone <> '';

CREATE TABLE accounts (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    username        TEXT    NOT NULL UNIQUE,
    password_hash   TEXT    NOT NULL DEFAULT '',
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    created_at      INTEGER,
    updated_at      INTEGER
) STRICT;

CREATE TABLE wechat_identities (
    appid                  TEXT NOT NULL,
    openid                 TEXT NOT NULL,
    unionid                TEXT NOT NULL DEFAULT '',
    user_id                TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_key            BLOB, -- sealed by a wxlogin.Sealer, never the plain value
    session_key_updated_at INTEGER,
    created_at             INTEGER,
    updated_at             INTEGER,
    PRIMARY KEY (appid, openid)
) STRICT;

CREATE INDEX wechat_identities_user ON wechat_identities (user_id, created_at);
CREATE INDEX wechat_identities_unionid ON wechat_identities (unionid) WHERE unionid <> '';

CREATE TABLE sessions (
    id           TEXT NOT NULL PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id       TEXT NOT NULL DEFAULT '',
    method       TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    created_at   INTEGER,
    last_seen_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id, created_at);

-- Refresh tokens are stored only by the hash of the token.
CREATE TABLE refresh_tokens (
    hash       TEXT NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at INTEGER,
    expires_at INTEGER,
    used_at    INTEGER
) STRICT;

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id         TEXT NOT NULL PRIMARY KEY,
    algorithm  TEXT NOT NULL DEFAULT '',
    private    BLOB, -- sealed PKCS#8 DER
    public     BLOB, -- PKIX DER
    created_at INTEGER,
    retired_at INTEGER
) STRICT;

-- Audit events outlive the users they are about: no foreign keys here.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER,
    type       TEXT NOT NULL DEFAULT '',
    actor_id   TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    app_id     TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_time ON audit_events (time);
