-- Every WeChat door (issue 15): an identity records its app's kind ('' for the mini programs of
-- before), and the single-use steps of the browser redirect flow live here, by the hash of the
-- value the browser carries, so that any instance finishes what another began.

ALTER TABLE wechat_identities ADD COLUMN kind text NOT NULL DEFAULT '';

CREATE TABLE web_tickets (
    hash       text NOT NULL,
    purpose    text NOT NULL,
    appid      text NOT NULL DEFAULT '',
    data       text NOT NULL DEFAULT '',
    created_at timestamptz,
    expires_at timestamptz NOT NULL,
    CONSTRAINT web_tickets_pkey PRIMARY KEY (hash)
);

CREATE INDEX web_tickets_expires ON web_tickets (expires_at);
