-- The webhook outbox (issue 18): events are written in the transaction of the change they report,
-- with one delivery per webhook endpoint; every attempt of a delivery is logged. Deliveries are
-- leased (lease_owner until lease_until) by one worker among the instances, one at a time per
-- (endpoint, user) in event order.

CREATE TABLE events (
    seq     bigint GENERATED ALWAYS AS IDENTITY,
    id      text NOT NULL,
    type    text NOT NULL DEFAULT '',
    user_id text NOT NULL DEFAULT '',
    time    timestamptz,
    data    text NOT NULL DEFAULT '',
    CONSTRAINT events_pkey PRIMARY KEY (seq)
);

CREATE UNIQUE INDEX events_id ON events (id);

CREATE TABLE webhook_deliveries (
    id           text   NOT NULL,
    event_seq    bigint NOT NULL,
    endpoint     text   NOT NULL,
    user_id      text   NOT NULL DEFAULT '',
    status       text   NOT NULL DEFAULT 'pending',
    attempts     bigint NOT NULL DEFAULT 0,
    next_at      timestamptz,
    lease_owner  text   NOT NULL DEFAULT '',
    lease_until  timestamptz,
    last_status  bigint NOT NULL DEFAULT 0,
    last_error   text   NOT NULL DEFAULT '',
    created_at   timestamptz,
    delivered_at timestamptz,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_event_seq_fkey FOREIGN KEY (event_seq) REFERENCES events (seq) ON DELETE CASCADE
);

CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq, endpoint);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at);
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (endpoint, user_id, status, event_seq);

CREATE TABLE webhook_attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    delivery_id text   NOT NULL,
    time        timestamptz,
    status_code bigint NOT NULL DEFAULT 0,
    error       text   NOT NULL DEFAULT '',
    duration_ms bigint NOT NULL DEFAULT 0,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_attempts_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
