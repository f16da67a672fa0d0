-- Who may sign up (issue 19): the link tokens of logins refused by the existing_only policy
-- (stored by the SHA-256 of the token; the session_key sealed), and uploaded avatars.

CREATE TABLE link_tokens (
    hash        TEXT NOT NULL PRIMARY KEY,
    appid       TEXT NOT NULL DEFAULT '',
    openid      TEXT NOT NULL DEFAULT '',
    unionid     TEXT NOT NULL DEFAULT '',
    session_key BLOB, -- sealed
    created_at  INTEGER,
    expires_at  INTEGER
) STRICT;

CREATE INDEX link_tokens_expires ON link_tokens (expires_at);

CREATE TABLE avatars (
    id           TEXT NOT NULL PRIMARY KEY,
    content_type TEXT NOT NULL DEFAULT '',
    data         BLOB,
    created_at   INTEGER
) STRICT;
