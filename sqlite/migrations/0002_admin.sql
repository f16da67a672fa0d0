-- The admin API finds users by openid at any app, and by phone number without its country code;
-- the pruning job deletes dead sessions by expiry and revocation time.

CREATE INDEX wechat_identities_openid ON wechat_identities (openid);
CREATE INDEX users_phone_number ON users (phone) WHERE phone <> '';
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
