-- The admin console counts the users created per day since a date (NewUserCounts).

CREATE INDEX users_created ON users (created_at);
