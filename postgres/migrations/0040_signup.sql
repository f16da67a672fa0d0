-- Who may sign up (issue 19): the link tokens of logins refused by the existing_only policy
-- (stored by the SHA-256 of the token; the session_key sealed), and uploaded avatars.

CREATE TABLE link_tokens (
    hash        text NOT NULL,
    appid       text NOT NULL DEFAULT '',
    openid      text NOT NULL DEFAULT '',
    unionid     text NOT NULL DEFAULT '',
    session_key bytea, -- sealed
    created_at  timestamptz,
    expires_at  timestamptz,
    CONSTRAINT link_tokens_pkey PRIMARY KEY (hash)
);

CREATE INDEX link_tokens_expires ON link_tokens (expires_at);

CREATE TABLE avatars (
    id           text NOT NULL,
    content_type text NOT NULL DEFAULT '',
    data         bytea,
    created_at   timestamptz,
    CONSTRAINT avatars_pkey PRIMARY KEY (id)
);
