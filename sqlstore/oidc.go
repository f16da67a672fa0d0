package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The OpenID Connect provider's rows. Lists (scopes, amr) are stored space-separated: their
// values (RFC 6749 scope tokens, RFC 8176 amr values) never contain a space.

const oidcRequestCols = `id, client_id, redirect_uri, scopes, state, nonce, response_mode, code_challenge,
	code_challenge_method, created_at, expires_at, user_id, amr, auth_time, browser, ip, user_agent,
	code_hash, code_expires_at, code_used_at, code_reused, session_id`

func scanOIDCRequest(s scanner) (*wxlogin.OIDCAuthRequest, error) {
	r := &wxlogin.OIDCAuthRequest{}
	var scopes, amr string
	err := s.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.ResponseMode, &r.CodeChallenge,
		&r.CodeChallengeMethod, timeCol{&r.CreatedAt}, timeCol{&r.ExpiresAt}, &r.UserID, &amr, timeCol{&r.AuthTime},
		&r.Browser, &r.IP, &r.UserAgent, &r.CodeHash, timeCol{&r.CodeExpiresAt}, timeCol{&r.CodeUsedAt}, &r.CodeReused,
		&r.SessionID)
	r.Scopes, r.AMR = splitList(scopes), splitList(amr)
	return r, err
}

// joinList returns l space-separated; splitList is its inverse (nil for "").
func joinList(l []string) string { return strings.Join(l, " ") }
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// oidcRequestRow returns the values of oidcRequestCols for r.
func (d *Dialect) oidcRequestRow(r *wxlogin.OIDCAuthRequest) []any {
	return []any{r.ID, r.ClientID, r.RedirectURI, joinList(r.Scopes), r.State, r.Nonce, r.ResponseMode, r.CodeChallenge,
		r.CodeChallengeMethod, d.Time(r.CreatedAt), d.Time(r.ExpiresAt), r.UserID, joinList(r.AMR), d.Time(r.AuthTime),
		r.Browser, r.IP, r.UserAgent, r.CodeHash, d.Time(r.CodeExpiresAt), d.Time(r.CodeUsedAt), d.Bool(r.CodeReused),
		r.SessionID}
}

// CreateOIDCAuthRequest stores r: EINVALID without an id, ECONFLICT when its id or code hash is taken.
func (t *Tx) CreateOIDCAuthRequest(ctx context.Context, r *wxlogin.OIDCAuthRequest) error {
	if r == nil || r.ID == "" {
		return invalid(r == nil, "auth request", "auth request id is required")
	}
	return t.insert(ctx, "create oidc auth request", "", `INSERT INTO oidc_auth_requests (`+oidcRequestCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, t.d.oidcRequestRow(r)...)
}

// OIDCAuthRequest returns the request with id, or ENOTFOUND.
func (t *Tx) OIDCAuthRequest(ctx context.Context, id string) (*wxlogin.OIDCAuthRequest, error) {
	return queryOne(ctx, t, "get oidc auth request", "auth request", scanOIDCRequest,
		`SELECT `+oidcRequestCols+` FROM oidc_auth_requests WHERE id = ?`, id)
}

// OIDCAuthRequestByCode returns the request whose code hashes to codeHash, or ENOTFOUND (always for "").
func (t *Tx) OIDCAuthRequestByCode(ctx context.Context, codeHash string) (*wxlogin.OIDCAuthRequest, error) {
	if codeHash == "" {
		return nil, notFoundf("auth request not found")
	}
	return queryOne(ctx, t, "get oidc auth request by code", "auth request", scanOIDCRequest,
		`SELECT `+oidcRequestCols+` FROM oidc_auth_requests WHERE code_hash = ?`, codeHash)
}

// UpdateOIDCAuthRequest overwrites every field of the request r.ID: ENOTFOUND when there is none,
// ECONFLICT when the code hash is another request's.
func (t *Tx) UpdateOIDCAuthRequest(ctx context.Context, r *wxlogin.OIDCAuthRequest) error {
	if r == nil {
		return errNil("auth request")
	}
	row := t.d.oidcRequestRow(r)
	return t.execOne(ctx, "update oidc auth request", "", "auth request", `UPDATE oidc_auth_requests SET client_id = ?,
		redirect_uri = ?, scopes = ?, state = ?, nonce = ?, response_mode = ?, code_challenge = ?, code_challenge_method = ?,
		created_at = ?, expires_at = ?, user_id = ?, amr = ?, auth_time = ?, browser = ?, ip = ?, user_agent = ?,
		code_hash = ?, code_expires_at = ?, code_used_at = ?, code_reused = ?, session_id = ? WHERE id = ?`,
		append(row[1:], r.ID)...)
}

// DeleteOIDCAuthRequestsBefore deletes the requests that expired before before and whose codes (if
// any) did too, and returns how many; EINVALID for a zero before.
func (t *Tx) DeleteOIDCAuthRequestsBefore(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune oidc auth requests", `DELETE FROM oidc_auth_requests WHERE id IN
		(SELECT id FROM oidc_auth_requests WHERE expires_at < ? AND (code_expires_at IS NULL OR code_expires_at < ?) LIMIT ?)`,
		t.d.Time(before), t.d.Time(before))
}

const oidcGrantCols = `session_id, client_id, user_id, scopes, amr, auth_time, created_at, expires_at`

func scanOIDCGrant(s scanner) (*wxlogin.OIDCGrant, error) {
	g := &wxlogin.OIDCGrant{}
	var scopes, amr string
	err := s.Scan(&g.SessionID, &g.ClientID, &g.UserID, &scopes, &amr, timeCol{&g.AuthTime}, timeCol{&g.CreatedAt},
		timeCol{&g.ExpiresAt})
	g.Scopes, g.AMR = splitList(scopes), splitList(amr)
	return g, err
}

// CreateOIDCGrant stores g: EINVALID without a session id, ENOTFOUND without its session,
// ECONFLICT when the session has a grant.
func (t *Tx) CreateOIDCGrant(ctx context.Context, g *wxlogin.OIDCGrant) error {
	if g == nil || g.SessionID == "" {
		return invalid(g == nil, "grant", "grant session id is required")
	}
	return t.insert(ctx, "create oidc grant", "session", `INSERT INTO oidc_grants (`+oidcGrantCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, g.SessionID, g.ClientID, g.UserID, joinList(g.Scopes), joinList(g.AMR),
		t.d.Time(g.AuthTime), t.d.Time(g.CreatedAt), t.d.Time(g.ExpiresAt))
}

// OIDCGrant returns the grant of a session, or ENOTFOUND.
func (t *Tx) OIDCGrant(ctx context.Context, sessionID string) (*wxlogin.OIDCGrant, error) {
	return queryOne(ctx, t, "get oidc grant", "grant", scanOIDCGrant,
		`SELECT `+oidcGrantCols+` FROM oidc_grants WHERE session_id = ?`, sessionID)
}

// DeleteOIDCGrantsBefore deletes the grants that expired before before and returns how many;
// EINVALID for a zero before.
func (t *Tx) DeleteOIDCGrantsBefore(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, wxlogin.Errorf(wxlogin.EINVALID, "prune time is required")
	}
	return t.pruneBatches(ctx, "prune oidc grants", `DELETE FROM oidc_grants WHERE session_id IN
		(SELECT session_id FROM oidc_grants WHERE expires_at < ? LIMIT ?)`, t.d.Time(before))
}
