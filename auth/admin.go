package auth

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The operator's side of the service (the admin API). Every action, reads included, is audited
// with actor "admin:<name>", the subject, the operator's IP and user agent. Every write goes
// through the store's transactions (s.store.Update) or the service's own methods, never around
// them.

// Admin is an operator acting through the admin API. Name is the configured name of the admin
// token it presented; the audit trail records it as actor "admin:<Name>".
type Admin struct {
	Name string
	Meta Meta
}

// Actor returns the audit trail's actor id of the operator: "admin:<Name>".
func (a Admin) Actor() string { return "admin:" + a.Name }

func (a Admin) origin() origin { return origin{actor: a.Actor(), meta: a.Meta} }

// Page sizes of the admin API's lists.
const (
	DefaultAdminPage = 50
	MaxAdminPage     = 500
	recentEvents     = 50  // audit events in a UserDetail
	recentSessions   = 100 // sessions in a UserDetail
)

// pageLimit returns the page size for limit (0: the default). Errors: EINVALID (out of range).
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultAdminPage, nil
	case limit < 0 || limit > MaxAdminPage:
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "limit must be between 1 and %d", MaxAdminPage)
	}
	return limit, nil
}

// UserSummary is a user in a search result, with its business account's username ("" when none).
type UserSummary struct {
	User     *wxlogin.User
	Username string
}

// UserPage is one page of a user search; Next is the cursor of the next page ("" on the last).
type UserPage struct {
	Users []*UserSummary
	Next  string
}

// FindUsers returns a page of the users f selects, ordered by id (see wxlogin.UserFilter; f.Limit
// 0 means DefaultAdminPage; f.After is the previous page's Next). Usernames are matched
// case-insensitively. The search is audited (admin.users.search, with the names of the fields
// searched, not their values). Errors: EINVALID (limit out of range).
func (m *Administration) FindUsers(ctx context.Context, a Admin, f wxlogin.UserFilter) (*UserPage, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	f.Limit = limit + 1 // one more tells whether a next page exists
	f.Username = strings.ToLower(f.Username)
	users, err := m.store.Users(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &UserPage{Users: make([]*UserSummary, 0, len(users))}
	if len(users) > limit {
		users = users[:limit]
		page.Next = users[limit-1].ID
	}
	for _, u := range users {
		name, err := m.username(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		page.Users = append(page.Users, &UserSummary{User: u, Username: name})
	}
	m.audit(ctx, a.origin().event("admin.users.search", f.ID, detail("fields", filterFields(f), "results", strconv.Itoa(len(page.Users)))))
	return page, nil
}

// filterFields returns the names of f's search fields that are set, comma-separated.
func filterFields(f wxlogin.UserFilter) string {
	var names []string
	for _, kv := range [][2]string{{"id", f.ID}, {"username", f.Username}, {"appid", f.AppID}, {"openid", f.OpenID},
		{"unionid", f.UnionID}, {"country_code", f.CountryCode}, {"phone", f.Phone}} {
		if kv[1] != "" {
			names = append(names, kv[0])
		}
	}
	return strings.Join(names, ",")
}

// username returns the username of the user's business account, "" when there is none.
func (m *Administration) username(ctx context.Context, userID string) (string, error) {
	acct, err := m.store.AccountByUser(ctx, userID)
	switch wxlogin.ErrorCode(err) {
	case "":
		return acct.Username, nil
	case wxlogin.ENOTFOUND:
		return "", nil
	default:
		return "", err
	}
}

// UserDetail is one user as an operator sees it. Secrets are cleared: Account.PasswordHash and
// every Identity.SessionKey are empty.
type UserDetail struct {
	User       *wxlogin.User
	Account    *wxlogin.Account      // nil when the user has no business account
	Identities []*wxlogin.Identity   // ordered by CreatedAt
	Sessions   []*wxlogin.Session    // the newest sessions (up to 100), revoked and expired ones included
	Events     []*wxlogin.AuditEvent // the newest audit events about the user (up to 50)
}

// AdminUser returns the user with id, its account, identities, sessions and recent audit events.
// The read is audited (admin.user.read). Errors: ENOTFOUND.
func (m *Administration) AdminUser(ctx context.Context, a Admin, id string) (*UserDetail, error) {
	u, err := m.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &UserDetail{User: u}
	switch acct, err := m.store.AccountByUser(ctx, id); wxlogin.ErrorCode(err) {
	case "":
		acct.PasswordHash = ""
		d.Account = acct
	case wxlogin.ENOTFOUND:
	default:
		return nil, err
	}
	if d.Identities, err = m.store.IdentitiesByUser(ctx, id); err != nil {
		return nil, err
	}
	for _, ident := range d.Identities {
		ident.SessionKey = nil
	}
	if d.Sessions, err = m.store.SessionsByUser(ctx, id); err != nil {
		return nil, err
	}
	if len(d.Sessions) > recentSessions {
		d.Sessions = d.Sessions[:recentSessions]
	}
	if d.Events, err = m.store.AuditEvents(ctx, wxlogin.AuditFilter{UserID: id, Limit: recentEvents}); err != nil {
		return nil, err
	}
	m.audit(ctx, a.origin().event("admin.user.read", id, ""))
	return d, nil
}

// SetUserDisabled disables (or enables) the user with id and returns it. Disabling revokes every
// session of the user at once (see SetDisabled); a disabled user's logins answer EFORBIDDEN.
// Audited as user.disable / user.enable. Errors: ENOTFOUND.
func (m *Administration) SetUserDisabled(ctx context.Context, a Admin, id string, disabled bool) (*UserSummary, error) {
	if err := m.SetDisabled(ctx, a.Actor(), id, disabled, a.Meta); err != nil {
		return nil, err
	}
	u, err := m.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	name, err := m.username(ctx, id)
	if err != nil {
		return nil, err
	}
	return &UserSummary{User: u, Username: name}, nil
}

// RevokeUserSessions revokes every active session of the user with id and returns how many.
// Audited as session.revoke_all. Errors: ENOTFOUND (no such user).
func (m *Administration) RevokeUserSessions(ctx context.Context, a Admin, id string) (int, error) {
	var n int
	err := m.store.Update(ctx, func(tx wxlogin.Tx) error {
		n = 0
		if _, err := tx.User(ctx, id); err != nil {
			return err
		}
		now := m.now()
		ids, err := tx.RevokeUserSessions(ctx, id, now)
		if err != nil {
			return err
		}
		n = len(ids)
		e := a.origin().event("session.revoke_all", id, detail("sessions_revoked", strconv.Itoa(n)))
		e.Time = now
		return tx.AddAuditEvent(ctx, e)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RevokeAnySession revokes the session with id, whoever's it is (a revoked one stays revoked).
// Audited as session.revoke. Errors: ENOTFOUND.
func (m *Administration) RevokeAnySession(ctx context.Context, a Admin, id string) error {
	sess, err := m.store.Session(ctx, id)
	if err != nil {
		return err
	}
	return m.sessions.revokeSession(ctx, sess.UserID, id, a.Actor(), "session.revoke", a.Meta)
}

// AuditPage is one page of the audit trail, newest first; Next is the cursor of the next page (0
// on the last).
type AuditPage struct {
	Events []*wxlogin.AuditEvent
	Next   int64
}

// AuditTrail returns a page of the audit events f selects, newest first (f.Limit 0 means
// DefaultAdminPage; f.Before is the previous page's Next). The read is audited (admin.audit.read).
// Errors: EINVALID (limit out of range, Since not before Until).
func (m *Administration) AuditTrail(ctx context.Context, a Admin, f wxlogin.AuditFilter) (*AuditPage, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "since must be before until")
	}
	f.Limit = limit + 1
	events, err := m.store.AuditEvents(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.Next = events[limit-1].ID
	}
	m.audit(ctx, a.origin().event("admin.audit.read", f.UserID, detail("type", f.Type, "results", strconv.Itoa(len(page.Events)))))
	return page, nil
}

// PruneAuditEvents deletes the audit events older than before and returns how many.
func (m *Administration) PruneAuditEvents(ctx context.Context, before time.Time) (int64, error) {
	return m.store.PruneAuditEvents(ctx, before)
}

// PruneSessions deletes the sessions revoked or expired before before, with their refresh tokens,
// and returns how many sessions.
func (m *Administration) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	return m.store.PruneSessions(ctx, before)
}

// SetDisabled disables (or enables) a user. Disabling revokes every session of the user in the same
// transaction, so no access token of theirs is accepted from then on; a disabled user cannot log
// in, refresh, or be merged into another user. actor goes to the audit trail. Errors: ENOTFOUND.
func (m *Administration) SetDisabled(ctx context.Context, actor, userID string, disabled bool, meta Meta) error {
	return m.store.Update(ctx, func(tx wxlogin.Tx) error {
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		now := m.now()
		u.Disabled, u.UpdatedAt = disabled, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		event, revoked := "user.enable", []string(nil)
		if disabled {
			event = "user.disable"
			if revoked, err = tx.RevokeUserSessions(ctx, userID, now); err != nil {
				return err
			}
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: event, ActorID: actor, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("sessions_revoked", strconv.Itoa(len(revoked)))})
	})
}
