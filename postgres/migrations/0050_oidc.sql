-- The OpenID Connect provider's state (package oidc, wxlogin.OIDCStore): an authorization request
-- from /oidc/authorize to its code's exchange, and what a session started through OIDC was
-- granted. Lists (scopes, amr) are space-separated. Codes are stored only by their hash.

CREATE TABLE oidc_auth_requests (
    id                    text    NOT NULL,
    client_id             text    NOT NULL DEFAULT '',
    redirect_uri          text    NOT NULL DEFAULT '',
    scopes                text    NOT NULL DEFAULT '',
    state                 text    NOT NULL DEFAULT '',
    nonce                 text    NOT NULL DEFAULT '',
    response_mode         text    NOT NULL DEFAULT '',
    code_challenge        text    NOT NULL DEFAULT '',
    code_challenge_method text    NOT NULL DEFAULT '',
    created_at            timestamptz,
    expires_at            timestamptz,
    user_id               text    NOT NULL DEFAULT '',
    amr                   text    NOT NULL DEFAULT '',
    auth_time             timestamptz,
    browser               text    NOT NULL DEFAULT '',
    ip                    text    NOT NULL DEFAULT '',
    user_agent            text    NOT NULL DEFAULT '',
    code_hash             text    NOT NULL DEFAULT '',
    code_expires_at       timestamptz,
    code_used_at          timestamptz,
    code_reused           boolean NOT NULL DEFAULT false,
    session_id            text    NOT NULL DEFAULT '',
    CONSTRAINT oidc_auth_requests_pkey PRIMARY KEY (id)
);

-- A code belongs to one request; '' means none yet.
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (code_hash) WHERE code_hash <> '';
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

-- A grant dies with its session.
CREATE TABLE oidc_grants (
    session_id text NOT NULL,
    client_id  text NOT NULL DEFAULT '',
    user_id    text NOT NULL DEFAULT '',
    scopes     text NOT NULL DEFAULT '',
    amr        text NOT NULL DEFAULT '',
    auth_time  timestamptz,
    created_at timestamptz,
    expires_at timestamptz,
    CONSTRAINT oidc_grants_pkey PRIMARY KEY (session_id),
    CONSTRAINT oidc_grants_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
);

CREATE INDEX oidc_grants_expires ON oidc_grants (expires_at);
