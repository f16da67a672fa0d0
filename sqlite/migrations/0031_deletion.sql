-- Account deletion (issue 18): a user's deletion scheduled after the grace period.

CREATE TABLE user_deletions (
    user_id TEXT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    due_at  INTEGER
) STRICT;

CREATE INDEX user_deletions_due ON user_deletions (due_at);
