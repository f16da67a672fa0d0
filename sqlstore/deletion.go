package sqlstore

import (
	"context"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Account deletion: schedules, and forgetting a user.

// ScheduleDeletion schedules the user's deletion at due, replacing an earlier schedule: ENOTFOUND
// without the user.
func (t *Tx) ScheduleDeletion(ctx context.Context, userID string, due time.Time) error {
	if _, err := t.exec(ctx, "unschedule deletion", "", `DELETE FROM user_deletions WHERE user_id = ?`, userID); err != nil {
		return err
	}
	return t.insert(ctx, "schedule deletion", "user", `INSERT INTO user_deletions (user_id, due_at) VALUES (?, ?)`,
		userID, t.d.Time(due))
}

// DueDeletions returns at most limit ids of users whose deletion is due at now, soonest first.
func (t *Tx) DueDeletions(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "limit must be at least 1")
	}
	return queryAll(ctx, t, t.r, "due deletions", func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, `SELECT user_id FROM user_deletions WHERE due_at <= ? ORDER BY due_at, user_id LIMIT ?`, t.d.Time(now), limit)
}

// ForgetUser deletes the user and (ON DELETE CASCADE) all that is its, pseudonymizes its audit
// events and clears the data of its outbox events: ENOTFOUND without the user.
func (t *Tx) ForgetUser(ctx context.Context, userID, pseudonym string) error {
	if userID == "" || pseudonym == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "a user id and a pseudonym are required")
	}
	if err := t.execOne(ctx, "forget user", "", "user", `DELETE FROM users WHERE id = ?`, userID); err != nil {
		return err
	}
	for _, q := range []string{
		`UPDATE audit_events SET user_id = ?, session_id = '', ip = '', user_agent = '', detail = '{}' WHERE user_id = ?`,
		`UPDATE audit_events SET actor_id = ?, session_id = '', ip = '', user_agent = '', detail = '{}' WHERE actor_id = ?`,
	} {
		if _, err := t.exec(ctx, "pseudonymize audit events", "", q, pseudonym, userID); err != nil {
			return err
		}
	}
	_, err := t.exec(ctx, "clear events", "", `UPDATE events SET data = '{}' WHERE user_id = ?`, userID)
	return err
}
