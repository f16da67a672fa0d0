-- Account deletion (issue 18): a user's deletion scheduled after the grace period.

CREATE TABLE user_deletions (
    user_id text NOT NULL,
    due_at  timestamptz,
    CONSTRAINT user_deletions_pkey PRIMARY KEY (user_id),
    CONSTRAINT user_deletions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX user_deletions_due ON user_deletions (due_at);
