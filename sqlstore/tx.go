package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

var _ wxlogin.Tx = (*Tx)(nil)

const userCols = `id, nickname, avatar_url, unionid, phone, phone_country_code, phone_verified_at,
	disabled, created_at, updated_at`

func scanUser(s scanner) (*wxlogin.User, error) {
	u := &wxlogin.User{}
	return u, s.Scan(&u.ID, &u.Nickname, &u.AvatarURL, &u.UnionID, &u.Phone, &u.PhoneCountryCode,
		timeCol{&u.PhoneVerifiedAt}, &u.Disabled, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
}

// User returns the user with id, or ENOTFOUND.
func (t *Tx) User(ctx context.Context, id string) (*wxlogin.User, error) {
	return queryOne(ctx, t, "get user", "user", scanUser, `SELECT `+userCols+` FROM users WHERE id = ?`, id)
}

// UserByUnionID returns the user holding unionid, or ENOTFOUND (always for "").
func (t *Tx) UserByUnionID(ctx context.Context, unionid string) (*wxlogin.User, error) {
	if unionid == "" {
		return nil, notFoundf("user not found")
	}
	return queryOne(ctx, t, "get user by unionid", "user", scanUser, `SELECT `+userCols+` FROM users WHERE unionid = ?`, unionid)
}

// UserByPhone returns the user holding the verified phone (countryCode, phone), or ENOTFOUND.
func (t *Tx) UserByPhone(ctx context.Context, countryCode, phone string) (*wxlogin.User, error) {
	if phone == "" {
		return nil, notFoundf("user not found")
	}
	return queryOne(ctx, t, "get user by phone", "user", scanUser,
		`SELECT `+userCols+` FROM users WHERE phone_country_code = ? AND phone = ?`, countryCode, phone)
}

// CreateUser stores u: EINVALID without an id, ECONFLICT when the id or unionid is taken.
func (t *Tx) CreateUser(ctx context.Context, u *wxlogin.User) error {
	if u == nil || u.ID == "" {
		return invalid(u == nil, "user", "user id is required")
	}
	return t.insert(ctx, "create user", "", `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.d.userRow(u)...)
}

// userRow returns the values of userCols for u (CreateUser and Seed write them).
func (d *Dialect) userRow(u *wxlogin.User) []any {
	return []any{u.ID, u.Nickname, u.AvatarURL, u.UnionID, u.Phone, u.PhoneCountryCode, d.Time(u.PhoneVerifiedAt),
		d.Bool(u.Disabled), d.Time(u.CreatedAt), d.Time(u.UpdatedAt)}
}

// UpdateUser overwrites the user u.ID: ENOTFOUND when there is none, ECONFLICT when the unionid is taken.
func (t *Tx) UpdateUser(ctx context.Context, u *wxlogin.User) error {
	if u == nil {
		return errNil("user")
	}
	return t.execOne(ctx, "update user", "", "user", `UPDATE users SET nickname = ?, avatar_url = ?, unionid = ?, phone = ?,
		phone_country_code = ?, phone_verified_at = ?, disabled = ?, created_at = ?, updated_at = ?
		WHERE id = ?`,
		u.Nickname, u.AvatarURL, u.UnionID, u.Phone, u.PhoneCountryCode, t.d.Time(u.PhoneVerifiedAt),
		t.d.Bool(u.Disabled), t.d.Time(u.CreatedAt), t.d.Time(u.UpdatedAt), u.ID)
}

// DeleteUser deletes the user and (ON DELETE CASCADE) all that is its, or returns ENOTFOUND.
func (t *Tx) DeleteUser(ctx context.Context, id string) error {
	return t.execOne(ctx, "delete user", "", "user", `DELETE FROM users WHERE id = ?`, id)
}

const accountCols = `user_id, username, password_hash, failed_attempts, locked_until, created_at, updated_at`

func scanAccount(s scanner) (*wxlogin.Account, error) {
	a := &wxlogin.Account{}
	return a, s.Scan(&a.UserID, &a.Username, &a.PasswordHash, &a.FailedAttempts, timeCol{&a.LockedUntil},
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
}

// Account returns the account with username, or ENOTFOUND.
func (t *Tx) Account(ctx context.Context, username string) (*wxlogin.Account, error) {
	return queryOne(ctx, t, "get account", "account", scanAccount, `SELECT `+accountCols+` FROM accounts WHERE username = ?`, username)
}

// AccountByUser returns the account of the user, or ENOTFOUND.
func (t *Tx) AccountByUser(ctx context.Context, userID string) (*wxlogin.Account, error) {
	return queryOne(ctx, t, "get account by user", "account", scanAccount, `SELECT `+accountCols+` FROM accounts WHERE user_id = ?`, userID)
}

// CreateAccount stores a: EINVALID without a username, ENOTFOUND when the user does not exist,
// ECONFLICT when the username is taken or the user already has an account.
func (t *Tx) CreateAccount(ctx context.Context, a *wxlogin.Account) error {
	if a == nil || a.Username == "" {
		return invalid(a == nil, "account", "username is required")
	}
	return t.insert(ctx, "create account", "user", `INSERT INTO accounts (`+accountCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.UserID, a.Username, a.PasswordHash, a.FailedAttempts, t.d.Time(a.LockedUntil),
		t.d.Time(a.CreatedAt), t.d.Time(a.UpdatedAt))
}

// UpdateAccount overwrites the account of a.UserID: ENOTFOUND when none, ECONFLICT when the username is taken.
func (t *Tx) UpdateAccount(ctx context.Context, a *wxlogin.Account) error {
	if a == nil || a.Username == "" {
		return invalid(a == nil, "account", "username is required")
	}
	return t.execOne(ctx, "update account", "", "account", `UPDATE accounts SET username = ?, password_hash = ?, failed_attempts = ?,
		locked_until = ?, created_at = ?, updated_at = ? WHERE user_id = ?`,
		a.Username, a.PasswordHash, a.FailedAttempts, t.d.Time(a.LockedUntil), t.d.Time(a.CreatedAt),
		t.d.Time(a.UpdatedAt), a.UserID)
}

const identityCols = `appid, openid, unionid, user_id, session_key, session_key_updated_at, created_at, updated_at, kind`

func scanIdentity(s scanner) (*wxlogin.Identity, error) {
	i := &wxlogin.Identity{}
	return i, s.Scan(&i.AppID, &i.OpenID, &i.UnionID, &i.UserID, &i.SessionKey, timeCol{&i.SessionKeyUpdatedAt},
		timeCol{&i.CreatedAt}, timeCol{&i.UpdatedAt}, &i.Kind)
}

// Identity returns the identity (appid, openid), or ENOTFOUND.
func (t *Tx) Identity(ctx context.Context, appid, openid string) (*wxlogin.Identity, error) {
	return queryOne(ctx, t, "get identity", "identity", scanIdentity,
		`SELECT `+identityCols+` FROM wechat_identities WHERE appid = ? AND openid = ?`, appid, openid)
}

// IdentitiesByUser returns the user's identities by CreatedAt, those without one first (or none).
func (t *Tx) IdentitiesByUser(ctx context.Context, userID string) ([]*wxlogin.Identity, error) {
	return queryAll(ctx, t, t.r, "list identities", scanIdentity, `SELECT `+identityCols+` FROM wechat_identities
		WHERE user_id = ? ORDER BY created_at NULLS FIRST, appid, openid`, userID)
}

// CreateIdentity stores i: EINVALID without appid or openid, ENOTFOUND when the user does not
// exist, ECONFLICT when (appid, openid) is already stored.
func (t *Tx) CreateIdentity(ctx context.Context, i *wxlogin.Identity) error {
	if i == nil || i.AppID == "" || i.OpenID == "" {
		return invalid(i == nil, "identity", "identity needs an appid and an openid")
	}
	return t.insert(ctx, "create identity", "user", `INSERT INTO wechat_identities (`+identityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.d.identityRow(i)...)
}

// identityRow returns the values of identityCols for i (CreateIdentity and Seed write them).
func (d *Dialect) identityRow(i *wxlogin.Identity) []any {
	return []any{i.AppID, i.OpenID, i.UnionID, i.UserID, i.SessionKey, d.Time(i.SessionKeyUpdatedAt),
		d.Time(i.CreatedAt), d.Time(i.UpdatedAt), string(i.Kind)}
}

// UpdateIdentity overwrites the identity (i.AppID, i.OpenID): ENOTFOUND without it or its user.
func (t *Tx) UpdateIdentity(ctx context.Context, i *wxlogin.Identity) error {
	if i == nil {
		return errNil("identity")
	}
	return t.execOne(ctx, "update identity", "user", "identity", `UPDATE wechat_identities SET unionid = ?, user_id = ?,
		session_key = ?, session_key_updated_at = ?, created_at = ?, updated_at = ?, kind = ? WHERE appid = ? AND openid = ?`,
		i.UnionID, i.UserID, i.SessionKey, t.d.Time(i.SessionKeyUpdatedAt), t.d.Time(i.CreatedAt),
		t.d.Time(i.UpdatedAt), string(i.Kind), i.AppID, i.OpenID)
}

// DeleteIdentity deletes the identity (appid, openid), or returns ENOTFOUND.
func (t *Tx) DeleteIdentity(ctx context.Context, appid, openid string) error {
	return t.execOne(ctx, "delete identity", "", "identity", `DELETE FROM wechat_identities WHERE appid = ? AND openid = ?`, appid, openid)
}

// IdentitiesAfter returns at most limit identities after (appid, openid), in order; EINVALID when limit < 1.
func (t *Tx) IdentitiesAfter(ctx context.Context, appid, openid string, limit int) ([]*wxlogin.Identity, error) {
	if limit < 1 {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "limit must be at least 1")
	}
	return queryAll(ctx, t, t.r, "page identities", scanIdentity, `SELECT `+identityCols+` FROM wechat_identities
		WHERE (appid, openid) > (?, ?) ORDER BY appid, openid LIMIT ?`, appid, openid, limit)
}

const sessionCols = `id, user_id, app_id, method, user_agent, ip, created_at, last_seen_at, expires_at, revoked_at`

func scanSession(s scanner) (*wxlogin.Session, error) {
	x := &wxlogin.Session{}
	return x, s.Scan(&x.ID, &x.UserID, &x.AppID, &x.Method, &x.UserAgent, &x.IP, timeCol{&x.CreatedAt},
		timeCol{&x.LastSeenAt}, timeCol{&x.ExpiresAt}, timeCol{&x.RevokedAt})
}

// Session returns the session with id, or ENOTFOUND.
func (t *Tx) Session(ctx context.Context, id string) (*wxlogin.Session, error) {
	return queryOne(ctx, t, "get session", "session", scanSession, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id)
}

// SessionsByUser returns all the user's sessions, newest (by CreatedAt) first, those without one last.
func (t *Tx) SessionsByUser(ctx context.Context, userID string) ([]*wxlogin.Session, error) {
	return queryAll(ctx, t, t.r, "list sessions", scanSession, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? ORDER BY created_at DESC NULLS LAST, id DESC`, userID)
}

// CreateSession stores s: EINVALID without an id, ENOTFOUND without its user, ECONFLICT when taken.
func (t *Tx) CreateSession(ctx context.Context, s *wxlogin.Session) error {
	if s == nil || s.ID == "" {
		return invalid(s == nil, "session", "session id is required")
	}
	return t.insert(ctx, "create session", "user", `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.d.sessionRow(s)...)
}

// sessionRow returns the values of sessionCols for s (CreateSession and Seed write them).
func (d *Dialect) sessionRow(s *wxlogin.Session) []any {
	return []any{s.ID, s.UserID, s.AppID, s.Method, s.UserAgent, s.IP, d.Time(s.CreatedAt), d.Time(s.LastSeenAt),
		d.Time(s.ExpiresAt), d.Time(s.RevokedAt)}
}

// UpdateSession overwrites every field of the session s.ID: ENOTFOUND when there is none.
func (t *Tx) UpdateSession(ctx context.Context, s *wxlogin.Session) error {
	if s == nil {
		return errNil("session")
	}
	return t.execOne(ctx, "update session", "user", "session", `UPDATE sessions SET user_id = ?, app_id = ?, method = ?,
		user_agent = ?, ip = ?, created_at = ?, last_seen_at = ?, expires_at = ?, revoked_at = ? WHERE id = ?`,
		s.UserID, s.AppID, s.Method, s.UserAgent, s.IP, t.d.Time(s.CreatedAt), t.d.Time(s.LastSeenAt),
		t.d.Time(s.ExpiresAt), t.d.Time(s.RevokedAt), s.ID)
}

// RevokeUserSessions revokes at at the user's sessions active at at and returns their ids (in no
// order, empty when none). A zero at is EINVALID.
func (t *Tx) RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error) {
	if at.IsZero() {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "revocation time is required")
	}
	scanID := func(s scanner) (id string, err error) { return id, s.Scan(&id) }
	return queryAll(ctx, t, t.w, "revoke sessions", scanID, `UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? RETURNING id`,
		t.d.Time(at), userID, t.d.Time(at))
}

// TouchSession extends the session id active at at (LastSeenAt, ExpiresAt and, unless ip is "",
// IP) in one UPDATE … RETURNING and returns it as written; ENOTFOUND when no such session is active.
func (t *Tx) TouchSession(ctx context.Context, id string, at, expires time.Time, ip string) (*wxlogin.Session, error) {
	if at.IsZero() {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "touch time is required")
	}
	sess, err := scanSession(t.w.QueryRowContext(ctx, t.d.Q(`UPDATE sessions SET last_seen_at = ?, expires_at = ?,
		ip = COALESCE(NULLIF(?, ''), ip) WHERE id = ? AND revoked_at IS NULL AND expires_at > ? RETURNING `+sessionCols),
		t.d.Time(at), t.d.Time(expires), ip, id, t.d.Time(at)))
	if err != nil {
		return nil, t.notFound(err, "session not found", "touch session")
	}
	return sess, nil
}

const refreshCols = `hash, session_id, created_at, expires_at, used_at`

func scanRefreshToken(s scanner) (*wxlogin.RefreshToken, error) {
	rt := &wxlogin.RefreshToken{}
	return rt, s.Scan(&rt.Hash, &rt.SessionID, timeCol{&rt.CreatedAt}, timeCol{&rt.ExpiresAt}, timeCol{&rt.UsedAt})
}

// RefreshToken returns the refresh token stored under hash, or ENOTFOUND.
func (t *Tx) RefreshToken(ctx context.Context, hash string) (*wxlogin.RefreshToken, error) {
	return queryOne(ctx, t, "get refresh token", "refresh token", scanRefreshToken,
		`SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = ?`, hash)
}

// CreateRefreshToken stores rt: EINVALID without a hash, ENOTFOUND without its session, ECONFLICT when taken.
func (t *Tx) CreateRefreshToken(ctx context.Context, rt *wxlogin.RefreshToken) error {
	if rt == nil || rt.Hash == "" {
		return invalid(rt == nil, "refresh token", "refresh token hash is required")
	}
	return t.insert(ctx, "create refresh token", "session", `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES (?, ?, ?, ?, ?)`,
		t.d.refreshRow(rt)...)
}

// refreshRow returns the values of refreshCols for rt (CreateRefreshToken and Seed write them).
func (d *Dialect) refreshRow(rt *wxlogin.RefreshToken) []any {
	return []any{rt.Hash, rt.SessionID, d.Time(rt.CreatedAt), d.Time(rt.ExpiresAt), d.Time(rt.UsedAt)}
}

// UpdateRefreshToken overwrites the refresh token rt.Hash: ENOTFOUND when there is none.
func (t *Tx) UpdateRefreshToken(ctx context.Context, rt *wxlogin.RefreshToken) error {
	if rt == nil {
		return errNil("refresh token")
	}
	return t.execOne(ctx, "update refresh token", "session", "refresh token", `UPDATE refresh_tokens SET session_id = ?,
		created_at = ?, expires_at = ?, used_at = ? WHERE hash = ?`,
		rt.SessionID, t.d.Time(rt.CreatedAt), t.d.Time(rt.ExpiresAt), t.d.Time(rt.UsedAt), rt.Hash)
}

// SpendRefreshToken sets used_at on the unused refresh token hash in one conditional UPDATE …
// RETURNING; only when it changed no row does it read the token (used before, or none: ENOTFOUND).
func (t *Tx) SpendRefreshToken(ctx context.Context, hash string, at time.Time) (*wxlogin.RefreshToken, bool, error) {
	if at.IsZero() {
		return nil, false, wxlogin.Errorf(wxlogin.EINVALID, "spend time is required")
	}
	rt, err := scanRefreshToken(t.w.QueryRowContext(ctx, t.d.Q(`UPDATE refresh_tokens SET used_at = ?
		WHERE hash = ? AND used_at IS NULL RETURNING `+refreshCols), t.d.Time(at), hash))
	if err == nil {
		return rt, true, nil
	}
	if err = t.notFound(err, "refresh token not found", "spend refresh token"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		return nil, false, err
	}
	rt, err = scanRefreshToken(t.w.QueryRowContext(ctx, t.d.Q(`SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = ?`), hash))
	if err != nil {
		return nil, false, t.notFound(err, "refresh token not found", "get refresh token")
	}
	return rt, false, nil
}

const signingKeyCols = `id, algorithm, private, public, created_at, retired_at`

func scanSigningKey(s scanner) (*wxlogin.SigningKey, error) {
	k := &wxlogin.SigningKey{}
	return k, s.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, timeCol{&k.CreatedAt}, timeCol{&k.RetiredAt})
}

// SigningKeys returns every stored signing key, oldest (by CreatedAt, those without one first) first.
func (t *Tx) SigningKeys(ctx context.Context) ([]*wxlogin.SigningKey, error) {
	return queryAll(ctx, t, t.r, "list signing keys", scanSigningKey,
		`SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at NULLS FIRST, id`)
}

// CreateSigningKey stores k: EINVALID without an id, ECONFLICT when the id is taken.
func (t *Tx) CreateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error {
	if k == nil || k.ID == "" {
		return invalid(k == nil, "signing key", "signing key id is required")
	}
	return t.insert(ctx, "create signing key", "", `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.Private, k.Public, t.d.Time(k.CreatedAt), t.d.Time(k.RetiredAt))
}

// UpdateSigningKey overwrites the signing key k.ID: ENOTFOUND when there is none.
func (t *Tx) UpdateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error {
	if k == nil {
		return errNil("signing key")
	}
	return t.execOne(ctx, "update signing key", "", "signing key", `UPDATE signing_keys SET algorithm = ?, private = ?,
		public = ?, created_at = ?, retired_at = ? WHERE id = ?`,
		k.Algorithm, k.Private, k.Public, t.d.Time(k.CreatedAt), t.d.Time(k.RetiredAt), k.ID)
}

const auditCols = `id, time, type, actor_id, user_id, app_id, session_id, ip, user_agent, detail`

func scanAuditEvent(s scanner) (*wxlogin.AuditEvent, error) {
	e := &wxlogin.AuditEvent{}
	return e, s.Scan(&e.ID, timeCol{&e.Time}, &e.Type, &e.ActorID, &e.UserID, &e.AppID, &e.SessionID,
		&e.IP, &e.UserAgent, &e.Detail)
}

// AddAuditEvent stores e under a new id, larger than every earlier one, and sets e.ID.
func (t *Tx) AddAuditEvent(ctx context.Context, e *wxlogin.AuditEvent) error {
	if e == nil {
		return errNil("audit event")
	}
	err := t.w.QueryRowContext(ctx, t.d.Q(`INSERT INTO audit_events (time, type, actor_id, user_id, app_id,
		session_id, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		t.d.Time(e.Time), e.Type, e.ActorID, e.UserID, e.AppID, e.SessionID, e.IP, e.UserAgent, e.Detail).Scan(&e.ID)
	return t.fail("add audit event", "", err)
}

// AuditEvents returns the events f selects, newest (highest ID) first: UserID and Type match
// exactly, Since is inclusive, Until exclusive, Before keeps IDs below it, and at most Limit
// events come back (100 when Limit <= 0).
func (t *Tx) AuditEvents(ctx context.Context, f wxlogin.AuditFilter) ([]*wxlogin.AuditEvent, error) {
	var w where
	if f.UserID != "" {
		w.add("user_id = ?", f.UserID)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if !f.Since.IsZero() {
		w.add("time >= ?", t.d.Time(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("time < ?", t.d.Time(f.Until))
	}
	if f.Before != 0 {
		w.add("id < ?", f.Before)
	}
	q, args := w.query(`SELECT `+auditCols+` FROM audit_events`, `ORDER BY id DESC`, f.Limit)
	return queryAll(ctx, t, t.r, "list audit events", scanAuditEvent, q, args...)
}

// where collects the conditions of a filter query and their arguments.
type where struct {
	conds []string
	args  []any
}

// add adds cond, whose placeholders take args in order.
func (w *where) add(cond string, args ...any) {
	w.conds, w.args = append(w.conds, cond), append(w.args, args...)
}

// query returns sel with w's conditions, order and a limit (100 when limit <= 0), and its arguments.
func (w *where) query(sel, order string, limit int) (string, []any) {
	if limit <= 0 {
		limit = 100
	}
	if len(w.conds) > 0 {
		sel += ` WHERE ` + strings.Join(w.conds, " AND ")
	}
	return sel + ` ` + order + ` LIMIT ?`, append(w.args, limit)
}
