-- The OpenID Connect provider's state (package oidc, wxlogin.OIDCStore): an authorization request
-- from /oidc/authorize to its code's exchange, and what a session started through OIDC was
-- granted. Lists (scopes, amr) are space-separated. Codes are stored only by their hash.

CREATE TABLE oidc_auth_requests (
    id                    TEXT    NOT NULL PRIMARY KEY,
    client_id             TEXT    NOT NULL DEFAULT '',
    redirect_uri          TEXT    NOT NULL DEFAULT '',
    scopes                TEXT    NOT NULL DEFAULT '',
    state                 TEXT    NOT NULL DEFAULT '',
    nonce                 TEXT    NOT NULL DEFAULT '',
    response_mode         TEXT    NOT NULL DEFAULT '',
    code_challenge        TEXT    NOT NULL DEFAULT '',
    code_challenge_method TEXT    NOT NULL DEFAULT '',
    created_at            INTEGER,
    expires_at            INTEGER,
    user_id               TEXT    NOT NULL DEFAULT '',
    amr                   TEXT    NOT NULL DEFAULT '',
    auth_time             INTEGER,
    browser               TEXT    NOT NULL DEFAULT '',
    ip                    TEXT    NOT NULL DEFAULT '',
    user_agent            TEXT    NOT NULL DEFAULT '',
    code_hash             TEXT    NOT NULL DEFAULT '',
    code_expires_at       INTEGER,
    code_used_at          INTEGER,
    code_reused           INTEGER NOT NULL DEFAULT 0,
    session_id            TEXT    NOT NULL DEFAULT ''
) STRICT;

-- A code belongs to one request; '' means none yet.
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (code_hash) WHERE code_hash <> '';
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- A grant dies with its session.
CREATE TABLE oidc_grants (
    session_id TEXT NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    scopes     TEXT NOT NULL DEFAULT '',
    amr        TEXT NOT NULL DEFAULT '',
    auth_time  INTEGER,
    created_at INTEGER,
    expires_at INTEGER
) STRICT;

CREATE INDEX oidc_grants_expires ON oidc_grants (expires_at);
