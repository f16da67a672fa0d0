-- A website's login by a scanned mini-program code (issue 16): one row per request, found by id
-- (the website's polls, with the hash of its poll token) or by (app, scene) (the mini program's
-- scan, confirm and deny). Expired rows are pruned by expiry.
CREATE TABLE qr_logins (
    id         TEXT NOT NULL PRIMARY KEY,
    app_id     TEXT NOT NULL,
    scene      TEXT NOT NULL,
    poll_hash  TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    user_id    TEXT NOT NULL DEFAULT '',
    session_id TEXT NOT NULL DEFAULT '',
    created_at INTEGER,
    expires_at INTEGER,
    scanned_at INTEGER,
    decided_at INTEGER
) STRICT;

CREATE UNIQUE INDEX qr_logins_scene ON qr_logins (app_id, scene);
CREATE INDEX qr_logins_expires ON qr_logins (expires_at);
