package sqlstore

import (
	"context"

	"github.com/wxlogin/wxlogin"
)

// The store side of who may sign up (issue 19): the link tokens of refused logins, and avatars.

const linkCols = `hash, appid, openid, unionid, session_key, created_at, expires_at`

func scanLinkToken(s scanner) (*wxlogin.LinkToken, error) {
	l := &wxlogin.LinkToken{}
	return l, s.Scan(&l.Hash, &l.AppID, &l.OpenID, &l.UnionID, &l.SessionKey, timeCol{&l.CreatedAt}, timeCol{&l.ExpiresAt})
}

// CreateLinkToken stores l (EINVALID without a hash or an expiry, ECONFLICT when its hash is
// taken) and first deletes the link tokens that expired before l.CreatedAt, so the table holds
// only live tokens and those of the last minutes.
func (t *Tx) CreateLinkToken(ctx context.Context, l *wxlogin.LinkToken) error {
	if l == nil || l.Hash == "" || l.ExpiresAt.IsZero() {
		return invalid(l == nil, "link token", "link token hash and expiry are required")
	}
	if !l.CreatedAt.IsZero() {
		if _, err := t.exec(ctx, "prune link tokens", "", `DELETE FROM link_tokens WHERE expires_at < ?`, t.d.Time(l.CreatedAt)); err != nil {
			return err
		}
	}
	return t.insert(ctx, "create link token", "", `INSERT INTO link_tokens (`+linkCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.Hash, l.AppID, l.OpenID, l.UnionID, l.SessionKey, t.d.Time(l.CreatedAt), t.d.Time(l.ExpiresAt))
}

// LinkToken returns the link token stored under hash, expired or not, or ENOTFOUND.
func (t *Tx) LinkToken(ctx context.Context, hash string) (*wxlogin.LinkToken, error) {
	return queryOne(ctx, t, "get link token", "link token", scanLinkToken,
		`SELECT `+linkCols+` FROM link_tokens WHERE hash = ?`, hash)
}

// DeleteLinkToken deletes the link token stored under hash, or returns ENOTFOUND.
func (t *Tx) DeleteLinkToken(ctx context.Context, hash string) error {
	return t.execOne(ctx, "delete link token", "", "link token", `DELETE FROM link_tokens WHERE hash = ?`, hash)
}

// PutAvatar stores a (EINVALID without an id, a type or bytes); an id already stored is left as
// it is: the same id means the same bytes.
func (t *Tx) PutAvatar(ctx context.Context, a *wxlogin.Avatar) error {
	if a == nil || a.ID == "" || a.ContentType == "" || len(a.Data) == 0 {
		return invalid(a == nil, "avatar", "avatar id, content type and data are required")
	}
	return t.insert(ctx, "put avatar", "", `INSERT INTO avatars (id, content_type, data, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, a.ID, a.ContentType, a.Data, t.d.Time(a.CreatedAt))
}

// Avatar returns the avatar id, or ENOTFOUND.
func (t *Tx) Avatar(ctx context.Context, id string) (*wxlogin.Avatar, error) {
	scan := func(s scanner) (*wxlogin.Avatar, error) {
		a := &wxlogin.Avatar{}
		return a, s.Scan(&a.ID, &a.ContentType, &a.Data, timeCol{&a.CreatedAt})
	}
	return queryOne(ctx, t, "get avatar", "avatar", scan, `SELECT id, content_type, data, created_at FROM avatars WHERE id = ?`, id)
}
