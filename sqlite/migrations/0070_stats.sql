-- The admin console's aggregates: logins (audit events of one type) since a time, and the users
-- created since a time (LoginCounts, NewUserCounts). Without the first, SQLite reads every
-- retained login through audit_events_type instead of the window's.

CREATE INDEX audit_events_type_time ON audit_events (type, time);
CREATE INDEX users_created ON users (created_at);
