package http

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// The admin API (/admin/v1): operators find users, read one with its identities, sessions and
// audit events, disable and enable users, revoke sessions, and read the audit trail. Requests carry
// Authorization: Bearer <admin token>. With no admin token configured every /admin/v1 route answers
// 404 not_found exactly like an unknown route (the API does not announce itself); a missing or wrong
// token answers 401 unauthorized. Responses are never cacheable and hold no secret.

// adminToken is one configured admin token, kept only as its SHA-256.
type adminToken struct {
	name string
	hash [32]byte
}

// hashAdmins returns the hashes of the configured admin tokens, sorted by name.
func hashAdmins(m map[string]string) []adminToken {
	out := make([]adminToken, 0, len(m))
	for name, tok := range m {
		if tok == "" {
			continue
		}
		out = append(out, adminToken{name: name, hash: sha256.Sum256([]byte(tok))})
	}
	slices.SortFunc(out, func(a, b adminToken) int { return strings.Compare(a.name, b.name) })
	return out
}

// checkAdmin returns the name of the admin token tok, comparing its hash with every configured
// hash in constant time (no early exit, so the time taken tells nothing about which or how many
// entries were close).
func (s *server) checkAdmin(tok string) (string, bool) {
	got := sha256.Sum256([]byte(tok))
	match, name := 0, ""
	for _, a := range s.admins {
		eq := subtle.ConstantTimeCompare(a.hash[:], got[:])
		if eq == 1 {
			name = a.name
		}
		match |= eq
	}
	return name, match == 1 && tok != ""
}

type adminKey struct{}

// adminOnly requires a configured admin token and hands the operator to next (see adminFrom).
func (s *server) adminOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.admins) == 0 {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such route"))
			return
		}
		noStore(w)
		tok, ok := bearerToken(r)
		name, valid := s.checkAdmin(tok)
		if !ok || !valid {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "an Authorization: Bearer admin token is required"))
			return
		}
		a := auth.Admin{Name: name, Meta: s.meta(r)}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, a)))
	})
}

// adminFrom returns the operator of a request that passed adminOnly.
func adminFrom(r *http.Request) auth.Admin {
	a, _ := r.Context().Value(adminKey{}).(auth.Admin)
	return a
}

// ---- query parameters

// queryParams returns r's query parameters after checking that each is one of allowed, given at
// most once, and at most 128 bytes of printable UTF-8. Errors: EINVALID naming the parameter.
func queryParams(r *http.Request, allowed ...string) (map[string]string, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "the query string is malformed")
	}
	out := make(map[string]string, len(q))
	for name, vals := range q {
		if !slices.Contains(allowed, name) {
			if len(name) > 32 || !utf8.ValidString(name) {
				name = "?"
			}
			return nil, wxlogin.Errorf(wxlogin.EINVALID, "unknown query parameter %q; allowed: %s", name, strings.Join(allowed, ", "))
		}
		if len(vals) != 1 {
			return nil, wxlogin.Errorf(wxlogin.EINVALID, "query parameter %s must be given once", name)
		}
		v := vals[0]
		if len(v) > 128 || !utf8.ValidString(v) || strings.ContainsFunc(v, func(c rune) bool { return c < 0x20 || c == 0x7f }) {
			return nil, wxlogin.Errorf(wxlogin.EINVALID, "query parameter %s must be at most 128 printable characters", name)
		}
		if v != "" {
			out[name] = v
		}
	}
	return out, nil
}

// queryLimit parses the limit parameter ("" : 0, the default). Errors: EINVALID.
func queryLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > auth.MaxAdminPage {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "limit must be a whole number from 1 to %d", auth.MaxAdminPage)
	}
	return n, nil
}

// queryTime parses an RFC 3339 time parameter ("" : the zero time). Errors: EINVALID.
func queryTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, wxlogin.Errorf(wxlogin.EINVALID, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
	}
	return t, nil
}

// ---- response shapes

type adminUserJSON struct {
	ID               string     `json:"id"`
	Username         string     `json:"username,omitempty"`
	Nickname         string     `json:"nickname"`
	AvatarURL        string     `json:"avatar_url"`
	UnionID          string     `json:"unionid,omitempty"`
	Phone            string     `json:"phone,omitempty"`
	PhoneCountryCode string     `json:"phone_country_code,omitempty"`
	PhoneVerifiedAt  *time.Time `json:"phone_verified_at,omitempty"`
	Disabled         bool       `json:"disabled"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func newAdminUserJSON(u *wxlogin.User, username string) adminUserJSON {
	return adminUserJSON{ID: u.ID, Username: username, Nickname: u.Nickname, AvatarURL: u.AvatarURL, UnionID: u.UnionID,
		Phone: u.Phone, PhoneCountryCode: u.PhoneCountryCode, PhoneVerifiedAt: optTime(u.PhoneVerifiedAt),
		Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// optTime returns t in UTC, nil for the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

type adminAccountJSON struct {
	Username       string     `json:"username"`
	FailedAttempts int        `json:"failed_attempts"`
	LockedUntil    *time.Time `json:"locked_until,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
}

// adminIdentityJSON is an identity without its session_key (which never leaves the server).
type adminIdentityJSON struct {
	AppID               string     `json:"appid"`
	OpenID              string     `json:"openid"`
	UnionID             string     `json:"unionid,omitempty"`
	SessionKeyUpdatedAt *time.Time `json:"session_key_updated_at,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
}

type adminSessionJSON struct {
	ID         string     `json:"id"`
	AppID      string     `json:"appid,omitempty"`
	Method     string     `json:"method"`
	UserAgent  string     `json:"user_agent,omitempty"`
	IP         string     `json:"ip,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Active     bool       `json:"active"`
}

type auditEventJSON struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Type      string          `json:"type"`
	ActorID   string          `json:"actor_id,omitempty"`
	UserID    string          `json:"user_id,omitempty"`
	AppID     string          `json:"appid,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	Detail    json.RawMessage `json:"detail,omitempty"`
}

func newAuditEventsJSON(events []*wxlogin.AuditEvent) []auditEventJSON {
	out := make([]auditEventJSON, 0, len(events))
	for _, e := range events {
		j := auditEventJSON{ID: e.ID, Time: e.Time.UTC(), Type: e.Type, ActorID: e.ActorID, UserID: e.UserID, AppID: e.AppID,
			SessionID: e.SessionID, IP: e.IP, UserAgent: e.UserAgent}
		if e.Detail != "" && json.Valid([]byte(e.Detail)) {
			j.Detail = json.RawMessage(e.Detail)
		}
		out = append(out, j)
	}
	return out
}

type adminUsersResponse struct {
	Users      []adminUserJSON `json:"users"`
	NextCursor string          `json:"next_cursor"`
}

type adminUserResponse struct {
	User        adminUserJSON       `json:"user"`
	Account     *adminAccountJSON   `json:"account,omitempty"`
	Identities  []adminIdentityJSON `json:"identities"`
	Sessions    []adminSessionJSON  `json:"sessions"`
	AuditEvents []auditEventJSON    `json:"audit_events"`
}

type adminAuditResponse struct {
	Events     []auditEventJSON `json:"events"`
	NextCursor string           `json:"next_cursor"`
}

type adminRevokedResponse struct {
	Revoked int `json:"revoked"`
}

// ---- handlers

// handleAdminUsers: GET /admin/v1/users?id=|username=|appid=&openid=|unionid=|phone=[&country_code=]&cursor=&limit=
func (s *server) handleAdminUsers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := queryParams(r, "id", "username", "appid", "openid", "unionid", "phone", "country_code", "cursor", "limit")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f := wxlogin.UserFilter{ID: q["id"], Username: q["username"], AppID: q["appid"], OpenID: q["openid"],
			UnionID: q["unionid"], Phone: q["phone"], CountryCode: strings.TrimPrefix(q["country_code"], "+"), After: q["cursor"]}
		if f.Limit, err = queryLimit(q["limit"]); err != nil {
			s.writeError(w, r, err)
			return
		}
		page, err := s.svc.FindUsers(r.Context(), adminFrom(r), f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := adminUsersResponse{Users: make([]adminUserJSON, 0, len(page.Users)), NextCursor: page.Next}
		for _, u := range page.Users {
			out.Users = append(out.Users, newAdminUserJSON(u.User, u.Username))
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAdminUser: GET /admin/v1/users/{id}
func (s *server) handleAdminUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, err := s.svc.AdminUser(r.Context(), adminFrom(r), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		now := s.cfg.Now()
		out := adminUserResponse{Identities: make([]adminIdentityJSON, 0, len(d.Identities)),
			Sessions: make([]adminSessionJSON, 0, len(d.Sessions)), AuditEvents: newAuditEventsJSON(d.Events)}
		username := ""
		if d.Account != nil {
			username = d.Account.Username
			out.Account = &adminAccountJSON{Username: d.Account.Username, FailedAttempts: d.Account.FailedAttempts,
				LockedUntil: optTime(d.Account.LockedUntil), CreatedAt: d.Account.CreatedAt.UTC()}
		}
		out.User = newAdminUserJSON(d.User, username)
		for _, id := range d.Identities {
			out.Identities = append(out.Identities, adminIdentityJSON{AppID: id.AppID, OpenID: id.OpenID, UnionID: id.UnionID,
				SessionKeyUpdatedAt: optTime(id.SessionKeyUpdatedAt), CreatedAt: id.CreatedAt.UTC(), UpdatedAt: id.UpdatedAt.UTC()})
		}
		for _, x := range d.Sessions {
			out.Sessions = append(out.Sessions, adminSessionJSON{ID: x.ID, AppID: x.AppID, Method: x.Method, UserAgent: x.UserAgent,
				IP: x.IP, CreatedAt: x.CreatedAt.UTC(), LastSeenAt: x.LastSeenAt.UTC(), ExpiresAt: x.ExpiresAt.UTC(),
				RevokedAt: optTime(x.RevokedAt), Active: x.Active(now)})
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAdminSetDisabled: POST /admin/v1/users/{id}/disable and /enable.
func (s *server) handleAdminSetDisabled(disabled bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.svc.SetUserDisabled(r.Context(), adminFrom(r), r.PathValue("id"), disabled)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, newAdminUserJSON(u.User, u.Username))
	})
}

// handleAdminRevokeUserSessions: DELETE /admin/v1/users/{id}/sessions
func (s *server) handleAdminRevokeUserSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := s.svc.RevokeUserSessions(r.Context(), adminFrom(r), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, adminRevokedResponse{Revoked: n})
	})
}

// handleAdminRevokeSession: DELETE /admin/v1/sessions/{id}
func (s *server) handleAdminRevokeSession() http.Handler {
	return noContentHandler(s, func(r *http.Request) error {
		return s.svc.RevokeAnySession(r.Context(), adminFrom(r), r.PathValue("id"))
	})
}

// handleAdminAudit: GET /admin/v1/audit?user=&type=&since=&until=&cursor=&limit=
func (s *server) handleAdminAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := queryParams(r, "user", "type", "since", "until", "cursor", "limit")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f := wxlogin.AuditFilter{UserID: q["user"], Type: q["type"]}
		if f.Since, err = queryTime("since", q["since"]); err == nil {
			if f.Until, err = queryTime("until", q["until"]); err == nil {
				f.Limit, err = queryLimit(q["limit"])
			}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if c := q["cursor"]; c != "" {
			if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before < 1 {
				s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "cursor must be the next_cursor of a previous page"))
				return
			}
		}
		page, err := s.svc.AuditTrail(r.Context(), adminFrom(r), f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := adminAuditResponse{Events: newAuditEventsJSON(page.Events)}
		if page.Next != 0 {
			out.NextCursor = strconv.FormatInt(page.Next, 10)
		}
		encode(w, http.StatusOK, out)
	})
}
