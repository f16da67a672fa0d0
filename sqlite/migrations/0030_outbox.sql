-- The webhook outbox (issue 18): events are written in the transaction of the change they report,
-- with one delivery per webhook endpoint; every attempt of a delivery is logged. Deliveries are
-- leased (lease_owner until lease_until) by one worker among the instances, one at a time per
-- (endpoint, user) in event order.

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL,
    type    TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    time    INTEGER,
    data    TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE UNIQUE INDEX events_id ON events (id);

CREATE TABLE webhook_deliveries (
    id           TEXT    NOT NULL PRIMARY KEY,
    event_seq    INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    endpoint     TEXT    NOT NULL,
    user_id      TEXT    NOT NULL DEFAULT '',
    status       TEXT    NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER,
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  INTEGER,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER,
    delivered_at INTEGER
) STRICT;

CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq, endpoint);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (endpoint, user_id, status, event_seq);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    time        INTEGER,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
