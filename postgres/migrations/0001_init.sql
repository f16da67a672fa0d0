-- Initial schema. Times are timestamptz (microsecond precision, returned in UTC); NULL is the zero
-- time. Optional text fields are '' rather than NULL. Constraint and index names are part of the
-- contract: the store maps them to its ECONFLICT messages (see codec.go).

CREATE TABLE users (
    id                 text        NOT NULL,
    nickname           text        NOT NULL DEFAULT '',
    avatar_url         text        NOT NULL DEFAULT '',
    unionid            text        NOT NULL DEFAULT '',
    phone              text        NOT NULL DEFAULT '',
    phone_country_code text        NOT NULL DEFAULT '',
    phone_verified_at  timestamptz,
    disabled           boolean     NOT NULL DEFAULT false,
    created_at         timestamptz,
    updated_at         timestamptz,
    CONSTRAINT users_pkey PRIMARY KEY (id)
);

-- No unionid belongs to two users; '' means unknown and may repeat.
CREATE UNIQUE INDEX users_unionid ON users (unionid) WHERE unionid <> '';
-- No verified phone number belongs to two users ('' means none).
CREATE UNIQUE INDEX users_phone ON users (phone_country_code, phone) WHERE phone <> '';

CREATE TABLE accounts (
    user_id         text   NOT NULL,
    username        text   NOT NULL,
    password_hash   text   NOT NULL DEFAULT '',
    failed_attempts bigint NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz,
    updated_at      timestamptz,
    CONSTRAINT accounts_pkey PRIMARY KEY (user_id),
    CONSTRAINT accounts_username_key UNIQUE (username),
    CONSTRAINT accounts_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE wechat_identities (
    appid                  text  NOT NULL,
    openid                 text  NOT NULL,
    unionid                text  NOT NULL DEFAULT '',
    user_id                text  NOT NULL,
    session_key            bytea, -- sealed by a wxlogin.Sealer, never the plain value
    session_key_updated_at timestamptz,
    created_at             timestamptz,
    updated_at             timestamptz,
    CONSTRAINT wechat_identities_pkey PRIMARY KEY (appid, openid),
    CONSTRAINT wechat_identities_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX wechat_identities_user ON wechat_identities (user_id, created_at);
CREATE INDEX wechat_identities_unionid ON wechat_identities (unionid) WHERE unionid <> '';

CREATE TABLE sessions (
    id           text NOT NULL,
    user_id      text NOT NULL,
    app_id       text NOT NULL DEFAULT '',
    method       text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    created_at   timestamptz,
    last_seen_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX sessions_user ON sessions (user_id, created_at);

-- Refresh tokens are stored only by the hash of the token.
CREATE TABLE refresh_tokens (
    hash       text NOT NULL,
    session_id text NOT NULL,
    created_at timestamptz,
    expires_at timestamptz,
    used_at    timestamptz,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (hash),
    CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
);

CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id         text  NOT NULL,
    algorithm  text  NOT NULL DEFAULT '',
    private    bytea, -- sealed PKCS#8 DER
    public     bytea, -- PKIX DER
    created_at timestamptz,
    retired_at timestamptz,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (id)
);

-- Audit events outlive the users they are about: no foreign keys here.
CREATE TABLE audit_events (
    id         bigint GENERATED ALWAYS AS IDENTITY,
    time       timestamptz,
    type       text NOT NULL DEFAULT '',
    actor_id   text NOT NULL DEFAULT '',
    user_id    text NOT NULL DEFAULT '',
    app_id     text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT '',
    CONSTRAINT audit_events_pkey PRIMARY KEY (id)
);

CREATE INDEX audit_events_user ON audit_events (user_id, id);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_time ON audit_events (time);
