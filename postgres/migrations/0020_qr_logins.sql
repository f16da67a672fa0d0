-- A website's login by a scanned mini-program code (issue 16): one row per request, found by id
-- (the website's polls, with the hash of its poll token) or by (app, scene) (the mini program's
-- scan, confirm and deny). Expired rows are pruned by expiry.
CREATE TABLE qr_logins (
    id         text NOT NULL,
    app_id     text NOT NULL,
    scene      text NOT NULL,
    poll_hash  text NOT NULL DEFAULT '',
    status     text NOT NULL DEFAULT '',
    ip         text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT '',
    user_id    text NOT NULL DEFAULT '',
    session_id text NOT NULL DEFAULT '',
    created_at timestamptz,
    expires_at timestamptz,
    scanned_at timestamptz,
    decided_at timestamptz,
    CONSTRAINT qr_logins_pkey PRIMARY KEY (id)
);

CREATE UNIQUE INDEX qr_logins_scene ON qr_logins (app_id, scene);
CREATE INDEX qr_logins_expires ON qr_logins (expires_at);
