package auth

import (
	"context"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
)

// Principal is who an access token speaks for.
type Principal struct {
	UserID    string
	SessionID string
	AppID     string // "" when the session has no app
	Claims    *token.Claims
}

// Authenticate returns the principal of a valid access token whose session is still active.
// Errors: EUNAUTHORIZED.
func (k *SessionKeeper) Authenticate(ctx context.Context, accessToken string) (*Principal, error) {
	claims, err := k.store.verifiedClaims(accessToken, k.tokens.Verify)
	if err != nil {
		return nil, errUnauthorized
	}
	sess, err := k.store.cachedSession(ctx, claims.SessionID)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errUnauthorized
	} else if err != nil {
		return nil, err
	}
	if !sess.Active(k.now()) || sess.UserID != claims.UserID || claims.Audience != audience(sess.AppID) {
		return nil, errUnauthorized
	}
	return &Principal{UserID: sess.UserID, SessionID: sess.ID, AppID: sess.AppID, Claims: claims}, nil
}

// Refresh exchanges a refresh token for a new access token and a new refresh token. A refresh token
// works once: presenting a spent one revokes its whole session (someone else has a copy).
// Errors: EUNAUTHORIZED, EFORBIDDEN (disabled user).
func (k *SessionKeeper) Refresh(ctx context.Context, refreshToken string, meta Meta) (*Login, error) {
	return k.refresh(ctx, refreshToken, meta, nil)
}

// refresh is Refresh; when forApp is set, a token of a session whose app it refuses is not spent
// and answers errRefresh (the OIDC token endpoint refreshes only its own client's sessions).
func (k *SessionKeeper) refresh(ctx context.Context, refreshToken string, meta Meta, forApp func(appID string) bool) (*Login, error) {
	if refreshToken == "" || len(refreshToken) > 256 {
		return nil, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "the refresh token is invalid, expired or revoked")
	}
	hash := token.HashRefreshToken(refreshToken)
	var (
		login  *Login
		reused bool
	)
	// Every rule here is the WHERE of the write it guards (spend if unused, extend if active), so
	// the transaction needs row locks only, not SERIALIZABLE (wxlogin.RowUpdater).
	err := k.store.updateRows(ctx, func(tx wxlogin.Tx) error {
		login, reused = nil, false
		now := k.now()
		// Three statements on the writer: spend the token if unused, extend its session if active,
		// store the successor. A failed check rolls the spend back.
		rt, spent, err := tx.SpendRefreshToken(ctx, hash, now)
		if err != nil {
			return err
		}
		if forApp != nil { // only the OIDC token endpoint reads the session here; a refusal rolls the spend back
			sess, err := tx.Session(ctx, rt.SessionID)
			if err != nil {
				return err
			}
			if !forApp(sess.AppID) {
				return errRefresh
			}
		}
		if !spent {
			reused = true
			sess, err := tx.Session(ctx, rt.SessionID)
			if err != nil {
				return err
			}
			if sess.RevokedAt.IsZero() {
				sess.RevokedAt = now
				if err := tx.UpdateSession(ctx, sess); err != nil {
					return err
				}
			}
			return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "refresh.reuse", UserID: sess.UserID, AppID: sess.AppID,
				SessionID: sess.ID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("action", "session revoked")})
		}
		if !now.Before(rt.ExpiresAt) {
			return errRefresh
		}
		// A disabled user's sessions are revoked in the transaction that disables it, so an active
		// session is a user who may refresh; the user is read after this transaction, off the writer.
		sess, err := tx.TouchSession(ctx, rt.SessionID, now, now.Add(k.sessionTTL), meta.IP)
		if err != nil {
			return err // ENOTFOUND: revoked or expired, errRefresh below
		}
		next, nextHash := token.NewRefreshToken()
		if err := tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: nextHash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: sess.ExpiresAt}); err != nil {
			return err
		}
		login = &Login{RefreshToken: next, Session: sess}
		return nil
	})
	if err == nil && !reused {
		if login.User, err = k.store.User(ctx, login.Session.UserID); err == nil {
			login.Username, err = usernameOf(ctx, k.store, login.User.ID)
		}
	}
	switch {
	case wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND:
		return nil, errRefresh
	case err != nil:
		return nil, err
	case reused:
		return nil, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "this refresh token was already used; the session is revoked, log in again")
	}
	return k.signAccess(login)
}

var errRefresh = wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "the refresh token is invalid, expired or revoked")

// Logout revokes the session. Errors: ENOTFOUND.
func (k *SessionKeeper) Logout(ctx context.Context, p *Principal, meta Meta) error {
	return k.revokeSession(ctx, p.UserID, p.SessionID, p.UserID, "logout", meta)
}

// LogoutAll revokes every session of the principal's user.
func (k *SessionKeeper) LogoutAll(ctx context.Context, p *Principal, meta Meta) error {
	return k.store.Update(ctx, func(tx wxlogin.Tx) error {
		now := k.now()
		ids, err := tx.RevokeUserSessions(ctx, p.UserID, now)
		if err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "logout.all", ActorID: p.UserID, UserID: p.UserID,
			SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("sessions", strconv.Itoa(len(ids)))})
	})
}

// RevokeSession revokes one of the principal's own sessions. Errors: ENOTFOUND (no such session of
// this user).
func (k *SessionKeeper) RevokeSession(ctx context.Context, p *Principal, sessionID string, meta Meta) error {
	return k.revokeSession(ctx, p.UserID, sessionID, p.UserID, "session.revoke", meta)
}

func (k *SessionKeeper) revokeSession(ctx context.Context, userID, sessionID, actor, event string, meta Meta) error {
	return k.store.Update(ctx, func(tx wxlogin.Tx) error {
		sess, err := tx.Session(ctx, sessionID)
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND || (err == nil && sess.UserID != userID) {
			return wxlogin.Errorf(wxlogin.ENOTFOUND, "no such session")
		} else if err != nil {
			return err
		}
		now := k.now()
		if sess.RevokedAt.IsZero() {
			sess.RevokedAt = now
			if err := tx.UpdateSession(ctx, sess); err != nil {
				return err
			}
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: event, ActorID: actor, UserID: userID,
			AppID: sess.AppID, SessionID: sess.ID, IP: meta.IP, UserAgent: meta.UserAgent})
	})
}

// Sessions returns the user's active sessions, newest first.
func (k *SessionKeeper) Sessions(ctx context.Context, p *Principal) ([]*wxlogin.Session, error) {
	all, err := k.store.SessionsByUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	now := k.now()
	active := all[:0]
	for _, sess := range all {
		if sess.Active(now) {
			active = append(active, sess)
		}
	}
	return active, nil
}

// Introspection is the RFC 7662 answer about a token.
type Introspection struct {
	Active    bool
	UserID    string
	SessionID string
	Audience  string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Introspect tells a business service whether an access token is active and whom it speaks for.
// An invalid, expired or revoked token is simply not active (no error).
func (k *SessionKeeper) Introspect(ctx context.Context, accessToken string) (*Introspection, error) {
	p, err := k.Authenticate(ctx, accessToken)
	if wxlogin.ErrorCode(err) == wxlogin.EUNAUTHORIZED {
		return &Introspection{}, nil
	} else if err != nil {
		return nil, err
	}
	return &Introspection{Active: true, UserID: p.UserID, SessionID: p.SessionID, Audience: p.Claims.Audience,
		IssuedAt: p.Claims.IssuedAt, ExpiresAt: p.Claims.ExpiresAt}, nil
}

// Tokens returns the token issuer (JWKS for the HTTP layer).
func (k *SessionKeeper) Tokens() *token.Issuer { return k.tokens }

// JWKS returns the JSON Web Key Set of the keys that verify access tokens.
func (k *SessionKeeper) JWKS() []byte { return k.tokens.JWKS() }

// Ready returns nil when the store answers.
func (s *Service) Ready(ctx context.Context) error { return s.core.store.Ping(ctx) }
