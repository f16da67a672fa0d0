-- Every WeChat door (issue 15): an identity records its app's kind ('' for the mini programs of
-- before), and the single-use steps of the browser redirect flow live here, by the hash of the
-- value the browser carries, so that any instance finishes what another began.

ALTER TABLE wechat_identities ADD COLUMN kind TEXT NOT NULL DEFAULT '';

CREATE TABLE web_tickets (
    hash       TEXT NOT NULL PRIMARY KEY,
    purpose    TEXT NOT NULL,
    appid      TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '',
    created_at INTEGER,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX web_tickets_expires ON web_tickets (expires_at);
