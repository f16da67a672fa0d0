package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wxlogin/wxlogin"
)

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// tx implements wxlogin.Tx on q. On the Store, q is the pool and every method is a single
// statement, so each runs in its own (implicit) transaction; in Update, q is the transaction.
type tx struct {
	q querier
	// retry, when not nil, is set when a statement failed with a serialization failure or a
	// deadlock: the transaction is then aborted and Update runs fn again, whatever fn returned.
	retry *bool
}

var _ wxlogin.Tx = (*tx)(nil)

// scanner is what pgx.Row and pgx.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

func errNil(what string) error { return wxlogin.Errorf(wxlogin.EINVALID, "%s is nil", what) }

// mustAffect returns ENOTFOUND with msg when tag reports no row changed.
func mustAffect(tag pgconn.CommandTag, msg string) error {
	if tag.RowsAffected() == 0 {
		return wxlogin.Errorf(wxlogin.ENOTFOUND, "%s", msg)
	}
	return nil
}

// ---- users

const userCols = `id, nickname, avatar_url, unionid, phone, phone_country_code, phone_verified_at,
	disabled, created_at, updated_at`

func scanUser(s scanner) (*wxlogin.User, error) {
	u := &wxlogin.User{}
	err := s.Scan(&u.ID, &u.Nickname, &u.AvatarURL, &u.UnionID, &u.Phone, &u.PhoneCountryCode,
		timeCol{&u.PhoneVerifiedAt}, &u.Disabled, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// User returns the user with id, or ENOTFOUND.
func (t *tx) User(ctx context.Context, id string) (*wxlogin.User, error) {
	u, err := scanUser(t.q.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, t.notFound(err, "user not found", "get user")
	}
	return u, nil
}

// UserByUnionID returns the user holding unionid, or ENOTFOUND (always for "").
func (t *tx) UserByUnionID(ctx context.Context, unionid string) (*wxlogin.User, error) {
	if unionid == "" {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "user not found")
	}
	u, err := scanUser(t.q.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE unionid = $1`, unionid))
	if err != nil {
		return nil, t.notFound(err, "user not found", "get user by unionid")
	}
	return u, nil
}

// UserByPhone returns the user holding the verified phone number (country code, pure number), or
// ENOTFOUND (always for "").
func (t *tx) UserByPhone(ctx context.Context, countryCode, phone string) (*wxlogin.User, error) {
	if phone == "" {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "user not found")
	}
	u, err := scanUser(t.q.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE phone_country_code = $1 AND phone = $2`, countryCode, phone))
	if err != nil {
		return nil, t.notFound(err, "user not found", "get user by phone")
	}
	return u, nil
}

// CreateUser stores u: EINVALID without an id, ECONFLICT when the id or the (non-empty) unionid is
// taken.
func (t *tx) CreateUser(ctx context.Context, u *wxlogin.User) error {
	if u == nil {
		return errNil("user")
	}
	if u.ID == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "user id is required")
	}
	_, err := t.q.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Nickname, u.AvatarURL, u.UnionID, u.Phone, u.PhoneCountryCode, timeArg(u.PhoneVerifiedAt),
		u.Disabled, timeArg(u.CreatedAt), timeArg(u.UpdatedAt))
	return t.dbErr("create user", "", err)
}

// UpdateUser overwrites every field of the user with u.ID: ENOTFOUND when there is none, ECONFLICT
// when the new unionid belongs to another user.
func (t *tx) UpdateUser(ctx context.Context, u *wxlogin.User) error {
	if u == nil {
		return errNil("user")
	}
	res, err := t.q.Exec(ctx, `UPDATE users SET nickname = $1, avatar_url = $2, unionid = $3, phone = $4,
		phone_country_code = $5, phone_verified_at = $6, disabled = $7, created_at = $8, updated_at = $9
		WHERE id = $10`,
		u.Nickname, u.AvatarURL, u.UnionID, u.Phone, u.PhoneCountryCode, timeArg(u.PhoneVerifiedAt),
		u.Disabled, timeArg(u.CreatedAt), timeArg(u.UpdatedAt), u.ID)
	if err != nil {
		return t.dbErr("update user", "", err)
	}
	return mustAffect(res, "user not found")
}

// DeleteUser deletes the user and (by ON DELETE CASCADE) its account, identities, sessions and
// their refresh tokens, in one statement; ENOTFOUND when there is no such user.
func (t *tx) DeleteUser(ctx context.Context, id string) error {
	res, err := t.q.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return t.dbErr("delete user", "", err)
	}
	return mustAffect(res, "user not found")
}

// ---- accounts

const accountCols = `user_id, username, password_hash, failed_attempts, locked_until, created_at, updated_at`

func scanAccount(s scanner) (*wxlogin.Account, error) {
	a := &wxlogin.Account{}
	err := s.Scan(&a.UserID, &a.Username, &a.PasswordHash, &a.FailedAttempts, timeCol{&a.LockedUntil},
		timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Account returns the account with username, or ENOTFOUND.
func (t *tx) Account(ctx context.Context, username string) (*wxlogin.Account, error) {
	a, err := scanAccount(t.q.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE username = $1`, username))
	if err != nil {
		return nil, t.notFound(err, "account not found", "get account")
	}
	return a, nil
}

// AccountByUser returns the account of the user, or ENOTFOUND.
func (t *tx) AccountByUser(ctx context.Context, userID string) (*wxlogin.Account, error) {
	a, err := scanAccount(t.q.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE user_id = $1`, userID))
	if err != nil {
		return nil, t.notFound(err, "account not found", "get account by user")
	}
	return a, nil
}

// CreateAccount stores a: EINVALID without a username, ENOTFOUND when the user does not exist,
// ECONFLICT when the username is taken or the user already has an account.
func (t *tx) CreateAccount(ctx context.Context, a *wxlogin.Account) error {
	if a == nil {
		return errNil("account")
	}
	if a.Username == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "username is required")
	}
	_, err := t.q.Exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.UserID, a.Username, a.PasswordHash, a.FailedAttempts, timeArg(a.LockedUntil),
		timeArg(a.CreatedAt), timeArg(a.UpdatedAt))
	return t.dbErr("create account", "user", err)
}

// UpdateAccount overwrites the account of a.UserID (username included): ENOTFOUND when there is
// none, ECONFLICT when the new username is taken.
func (t *tx) UpdateAccount(ctx context.Context, a *wxlogin.Account) error {
	if a == nil {
		return errNil("account")
	}
	if a.Username == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "username is required")
	}
	res, err := t.q.Exec(ctx, `UPDATE accounts SET username = $1, password_hash = $2, failed_attempts = $3,
		locked_until = $4, created_at = $5, updated_at = $6 WHERE user_id = $7`,
		a.Username, a.PasswordHash, a.FailedAttempts, timeArg(a.LockedUntil), timeArg(a.CreatedAt),
		timeArg(a.UpdatedAt), a.UserID)
	if err != nil {
		return t.dbErr("update account", "", err)
	}
	return mustAffect(res, "account not found")
}

// ---- WeChat identities

const identityCols = `appid, openid, unionid, user_id, session_key, session_key_updated_at, created_at, updated_at`

func scanIdentity(s scanner) (*wxlogin.Identity, error) {
	i := &wxlogin.Identity{}
	err := s.Scan(&i.AppID, &i.OpenID, &i.UnionID, &i.UserID, &i.SessionKey, timeCol{&i.SessionKeyUpdatedAt},
		timeCol{&i.CreatedAt}, timeCol{&i.UpdatedAt})
	if err != nil {
		return nil, err
	}
	return i, nil
}

// Identity returns the identity (appid, openid), or ENOTFOUND.
func (t *tx) Identity(ctx context.Context, appid, openid string) (*wxlogin.Identity, error) {
	i, err := scanIdentity(t.q.QueryRow(ctx,
		`SELECT `+identityCols+` FROM wechat_identities WHERE appid = $1 AND openid = $2`, appid, openid))
	if err != nil {
		return nil, t.notFound(err, "identity not found", "get identity")
	}
	return i, nil
}

// IdentitiesByUser returns the user's identities ordered by CreatedAt (an empty slice when none).
func (t *tx) IdentitiesByUser(ctx context.Context, userID string) ([]*wxlogin.Identity, error) {
	rows, err := t.q.Query(ctx, `SELECT `+identityCols+` FROM wechat_identities WHERE user_id = $1
		ORDER BY created_at NULLS FIRST, appid, openid`, userID)
	if err != nil {
		return nil, t.dbErr("list identities", "", err)
	}
	defer rows.Close()
	out := []*wxlogin.Identity{}
	for rows.Next() {
		i, err := scanIdentity(rows)
		if err != nil {
			return nil, t.dbErr("list identities", "", err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr("list identities", "", err)
	}
	return out, nil
}

// CreateIdentity stores i: EINVALID without appid or openid, ENOTFOUND when the user does not
// exist, ECONFLICT when (appid, openid) is already stored.
func (t *tx) CreateIdentity(ctx context.Context, i *wxlogin.Identity) error {
	if i == nil {
		return errNil("identity")
	}
	if i.AppID == "" || i.OpenID == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "identity needs an appid and an openid")
	}
	_, err := t.q.Exec(ctx, `INSERT INTO wechat_identities (`+identityCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		i.AppID, i.OpenID, i.UnionID, i.UserID, i.SessionKey, timeArg(i.SessionKeyUpdatedAt),
		timeArg(i.CreatedAt), timeArg(i.UpdatedAt))
	return t.dbErr("create identity", "user", err)
}

// UpdateIdentity overwrites the identity (i.AppID, i.OpenID), its user included: ENOTFOUND when
// there is no such identity or no such user.
func (t *tx) UpdateIdentity(ctx context.Context, i *wxlogin.Identity) error {
	if i == nil {
		return errNil("identity")
	}
	res, err := t.q.Exec(ctx, `UPDATE wechat_identities SET unionid = $1, user_id = $2, session_key = $3,
		session_key_updated_at = $4, created_at = $5, updated_at = $6 WHERE appid = $7 AND openid = $8`,
		i.UnionID, i.UserID, i.SessionKey, timeArg(i.SessionKeyUpdatedAt), timeArg(i.CreatedAt),
		timeArg(i.UpdatedAt), i.AppID, i.OpenID)
	if err != nil {
		return t.dbErr("update identity", "user", err)
	}
	return mustAffect(res, "identity not found")
}

// DeleteIdentity deletes the identity (appid, openid), or returns ENOTFOUND.
func (t *tx) DeleteIdentity(ctx context.Context, appid, openid string) error {
	res, err := t.q.Exec(ctx, `DELETE FROM wechat_identities WHERE appid = $1 AND openid = $2`, appid, openid)
	if err != nil {
		return t.dbErr("delete identity", "", err)
	}
	return mustAffect(res, "identity not found")
}

// IdentitiesAfter returns at most limit identities ordered by (appid, openid), starting after
// (appid, openid): a cursor for paging through them all. EINVALID when limit < 1.
func (t *tx) IdentitiesAfter(ctx context.Context, appid, openid string, limit int) ([]*wxlogin.Identity, error) {
	if limit < 1 {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "limit must be at least 1")
	}
	rows, err := t.q.Query(ctx, `SELECT `+identityCols+` FROM wechat_identities
		WHERE (appid, openid) > ($1, $2) ORDER BY appid, openid LIMIT $3`, appid, openid, limit)
	if err != nil {
		return nil, t.dbErr("page identities", "", err)
	}
	defer rows.Close()
	out := []*wxlogin.Identity{}
	for rows.Next() {
		i, err := scanIdentity(rows)
		if err != nil {
			return nil, t.dbErr("page identities", "", err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr("page identities", "", err)
	}
	return out, nil
}

// ---- sessions

const sessionCols = `id, user_id, app_id, method, user_agent, ip, created_at, last_seen_at, expires_at, revoked_at`

func scanSession(s scanner) (*wxlogin.Session, error) {
	x := &wxlogin.Session{}
	err := s.Scan(&x.ID, &x.UserID, &x.AppID, &x.Method, &x.UserAgent, &x.IP, timeCol{&x.CreatedAt},
		timeCol{&x.LastSeenAt}, timeCol{&x.ExpiresAt}, timeCol{&x.RevokedAt})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// Session returns the session with id, or ENOTFOUND.
func (t *tx) Session(ctx context.Context, id string) (*wxlogin.Session, error) {
	x, err := scanSession(t.q.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return nil, t.notFound(err, "session not found", "get session")
	}
	return x, nil
}

// SessionsByUser returns the user's sessions newest (by CreatedAt) first, revoked and expired ones
// included (an empty slice when none).
func (t *tx) SessionsByUser(ctx context.Context, userID string) ([]*wxlogin.Session, error) {
	rows, err := t.q.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1
		ORDER BY created_at DESC NULLS LAST, id DESC`, userID)
	if err != nil {
		return nil, t.dbErr("list sessions", "", err)
	}
	defer rows.Close()
	out := []*wxlogin.Session{}
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, t.dbErr("list sessions", "", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr("list sessions", "", err)
	}
	return out, nil
}

// CreateSession stores s: EINVALID without an id, ENOTFOUND when the user does not exist,
// ECONFLICT when the id is taken.
func (t *tx) CreateSession(ctx context.Context, s *wxlogin.Session) error {
	if s == nil {
		return errNil("session")
	}
	if s.ID == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "session id is required")
	}
	_, err := t.q.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.ID, s.UserID, s.AppID, s.Method, s.UserAgent, s.IP, timeArg(s.CreatedAt), timeArg(s.LastSeenAt),
		timeArg(s.ExpiresAt), timeArg(s.RevokedAt))
	return t.dbErr("create session", "user", err)
}

// UpdateSession overwrites every field of the session s.ID: ENOTFOUND when there is none.
func (t *tx) UpdateSession(ctx context.Context, s *wxlogin.Session) error {
	if s == nil {
		return errNil("session")
	}
	res, err := t.q.Exec(ctx, `UPDATE sessions SET user_id = $1, app_id = $2, method = $3, user_agent = $4,
		ip = $5, created_at = $6, last_seen_at = $7, expires_at = $8, revoked_at = $9 WHERE id = $10`,
		s.UserID, s.AppID, s.Method, s.UserAgent, s.IP, timeArg(s.CreatedAt), timeArg(s.LastSeenAt),
		timeArg(s.ExpiresAt), timeArg(s.RevokedAt), s.ID)
	if err != nil {
		return t.dbErr("update session", "user", err)
	}
	return mustAffect(res, "session not found")
}

// RevokeUserSessions sets RevokedAt=at on every session of the user that is active at at (not
// revoked, expiring after at) and returns their ids, in no particular order (empty, not an error,
// when there are none). A zero at is EINVALID.
func (t *tx) RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error) {
	if at.IsZero() {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "revocation time is required")
	}
	rows, err := t.q.Query(ctx, `UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $3 RETURNING id`,
		timeArg(at), userID, timeArg(at))
	if err != nil {
		return nil, t.dbErr("revoke sessions", "", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, t.dbErr("revoke sessions", "", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr("revoke sessions", "", err)
	}
	return ids, nil
}

// ---- refresh tokens

const refreshCols = `hash, session_id, created_at, expires_at, used_at`

// RefreshToken returns the refresh token stored under hash, or ENOTFOUND.
func (t *tx) RefreshToken(ctx context.Context, hash string) (*wxlogin.RefreshToken, error) {
	rt := &wxlogin.RefreshToken{}
	err := t.q.QueryRow(ctx, `SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = $1`, hash).Scan(
		&rt.Hash, &rt.SessionID, timeCol{&rt.CreatedAt}, timeCol{&rt.ExpiresAt}, timeCol{&rt.UsedAt})
	if err != nil {
		return nil, t.notFound(err, "refresh token not found", "get refresh token")
	}
	return rt, nil
}

// CreateRefreshToken stores rt: EINVALID without a hash, ENOTFOUND when the session does not
// exist, ECONFLICT when the hash is already stored.
func (t *tx) CreateRefreshToken(ctx context.Context, rt *wxlogin.RefreshToken) error {
	if rt == nil {
		return errNil("refresh token")
	}
	if rt.Hash == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "refresh token hash is required")
	}
	_, err := t.q.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshCols+`) VALUES ($1, $2, $3, $4, $5)`,
		rt.Hash, rt.SessionID, timeArg(rt.CreatedAt), timeArg(rt.ExpiresAt), timeArg(rt.UsedAt))
	return t.dbErr("create refresh token", "session", err)
}

// UpdateRefreshToken overwrites the refresh token rt.Hash: ENOTFOUND when there is none.
func (t *tx) UpdateRefreshToken(ctx context.Context, rt *wxlogin.RefreshToken) error {
	if rt == nil {
		return errNil("refresh token")
	}
	res, err := t.q.Exec(ctx, `UPDATE refresh_tokens SET session_id = $1, created_at = $2, expires_at = $3,
		used_at = $4 WHERE hash = $5`,
		rt.SessionID, timeArg(rt.CreatedAt), timeArg(rt.ExpiresAt), timeArg(rt.UsedAt), rt.Hash)
	if err != nil {
		return t.dbErr("update refresh token", "session", err)
	}
	return mustAffect(res, "refresh token not found")
}

// ---- signing keys

const signingKeyCols = `id, algorithm, private, public, created_at, retired_at`

// SigningKeys returns every stored signing key, oldest (by CreatedAt) first.
func (t *tx) SigningKeys(ctx context.Context) ([]*wxlogin.SigningKey, error) {
	rows, err := t.q.Query(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at NULLS FIRST, id`)
	if err != nil {
		return nil, t.dbErr("list signing keys", "", err)
	}
	defer rows.Close()
	out := []*wxlogin.SigningKey{}
	for rows.Next() {
		k := &wxlogin.SigningKey{}
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.Public, timeCol{&k.CreatedAt}, timeCol{&k.RetiredAt}); err != nil {
			return nil, t.dbErr("list signing keys", "", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr("list signing keys", "", err)
	}
	return out, nil
}

// CreateSigningKey stores k: EINVALID without an id, ECONFLICT when the id is taken.
func (t *tx) CreateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error {
	if k == nil {
		return errNil("signing key")
	}
	if k.ID == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "signing key id is required")
	}
	_, err := t.q.Exec(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Algorithm, k.Private, k.Public, timeArg(k.CreatedAt), timeArg(k.RetiredAt))
	return t.dbErr("create signing key", "", err)
}

// UpdateSigningKey overwrites the signing key k.ID: ENOTFOUND when there is none.
func (t *tx) UpdateSigningKey(ctx context.Context, k *wxlogin.SigningKey) error {
	if k == nil {
		return errNil("signing key")
	}
	res, err := t.q.Exec(ctx, `UPDATE signing_keys SET algorithm = $1, private = $2, public = $3,
		created_at = $4, retired_at = $5 WHERE id = $6`,
		k.Algorithm, k.Private, k.Public, timeArg(k.CreatedAt), timeArg(k.RetiredAt), k.ID)
	if err != nil {
		return t.dbErr("update signing key", "", err)
	}
	return mustAffect(res, "signing key not found")
}

// ---- audit events

const auditCols = `id, time, type, actor_id, user_id, app_id, session_id, ip, user_agent, detail`

// AddAuditEvent stores e under a new id, larger than every earlier one, and sets e.ID.
func (t *tx) AddAuditEvent(ctx context.Context, e *wxlogin.AuditEvent) error {
	if e == nil {
		return errNil("audit event")
	}
	var id int64
	err := t.q.QueryRow(ctx, `INSERT INTO audit_events (time, type, actor_id, user_id, app_id,
		session_id, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		timeArg(e.Time), e.Type, e.ActorID, e.UserID, e.AppID, e.SessionID, e.IP, e.UserAgent, e.Detail).Scan(&id)
	if err != nil {
		return t.dbErr("add audit event", "", err)
	}
	e.ID = id
	return nil
}

// AuditEvents returns the events f selects, newest (highest ID) first: UserID and Type match
// exactly, Since is inclusive, Until exclusive, Before keeps IDs below it, and at most Limit
// events come back (100 when Limit <= 0).
func (t *tx) AuditEvents(ctx context.Context, f wxlogin.AuditFilter) ([]*wxlogin.AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) { // cond has one $ for the argument's placeholder
		args = append(args, arg)
		where = append(where, strings.Replace(cond, "$", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.UserID != "" {
		add("user_id = $", f.UserID)
	}
	if f.Type != "" {
		add("type = $", f.Type)
	}
	if !f.Since.IsZero() {
		add("time >= $", timeArg(f.Since))
	}
	if !f.Until.IsZero() {
		add("time < $", timeArg(f.Until))
	}
	if f.Before != 0 {
		add("id < $", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + auditCols + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))

	rows, err := t.q.Query(ctx, q, args...)
	if err != nil {
		return nil, t.dbErr("list audit events", "", err)
	}
	defer rows.Close()
	out := []*wxlogin.AuditEvent{}
	for rows.Next() {
		e := &wxlogin.AuditEvent{}
		if err := rows.Scan(&e.ID, timeCol{&e.Time}, &e.Type, &e.ActorID, &e.UserID, &e.AppID, &e.SessionID,
			&e.IP, &e.UserAgent, &e.Detail); err != nil {
			return nil, t.dbErr("list audit events", "", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr("list audit events", "", err)
	}
	return out, nil
}
