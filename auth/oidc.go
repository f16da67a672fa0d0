package auth

import (
	"context"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// OIDC returns the sessions service as the OpenID Connect provider (package oidc) uses it: a
// session started through OIDC has the client id as its app (so sessions show the client, and its
// access tokens have aud = the client id, which verify/ and introspection accept).
func (k *SessionKeeper) OIDC() wxlogin.OIDCSessions { return oidcSessions{k} }

type oidcSessions struct{ k *SessionKeeper }

// StartSession creates a session for s.UserID at s.ClientID, writes its login.success audit event
// (method, client, amr) in the same transaction, and returns its tokens; the refresh token only
// when s.RefreshToken. Errors: ENOTFOUND (no such user), EFORBIDDEN (disabled user), EINVALID (no
// client id).
func (o oidcSessions) StartSession(ctx context.Context, s wxlogin.OIDCNewSession) (*wxlogin.OIDCSessionTokens, error) {
	k := o.k
	if s.ClientID == "" || s.UserID == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "a session through OpenID Connect needs a user and a client")
	}
	method := s.Method
	if method == "" {
		method = "oidc"
	}
	meta := Meta{IP: s.IP, UserAgent: s.UserAgent}
	org := loginOrigin(s.ClientID, meta)
	var login *Login
	err := k.update(ctx, func(tx wxlogin.Tx) error {
		user, err := tx.User(ctx, s.UserID)
		if err != nil {
			return err
		}
		if user.Disabled {
			return disabledLogin(user, method, org)
		}
		if login, err = k.startSession(ctx, tx, user, method, org); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: k.now(), Type: "login.success", ActorID: user.ID, UserID: user.ID,
			AppID: s.ClientID, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", method, "via", "oidc", "amr", strings.Join(s.AMR, " "))})
	})
	if err != nil {
		return nil, err
	}
	if login, err = k.signAccess(login); err != nil {
		return nil, err
	}
	if !s.RefreshToken {
		login.RefreshToken = "" // its hash stays unused in the store and dies with the session
	}
	return oidcTokens(login), nil
}

// Refresh spends a refresh token of a session of clientID (rotation; a spent token presented again
// revokes its session). A token of another client's session is refused and not spent.
// Errors: EUNAUTHORIZED, EFORBIDDEN (disabled user).
func (o oidcSessions) Refresh(ctx context.Context, clientID string, refreshToken wxlogin.Secret, ip, userAgent string) (*wxlogin.OIDCSessionTokens, error) {
	if clientID == "" {
		return nil, errRefresh
	}
	login, err := o.k.refresh(ctx, refreshToken.Reveal(), Meta{IP: ip, UserAgent: userAgent},
		func(appID string) bool { return appID == clientID })
	if err != nil {
		return nil, err
	}
	return oidcTokens(login), nil
}

// RevokeSession revokes a session on the provider's behalf (RP-initiated logout, a reused code)
// and writes a session.revoke audit event with the reason; a missing or revoked session is not an
// error.
func (o oidcSessions) RevokeSession(ctx context.Context, sessionID, reason string) error {
	k := o.k
	return k.store.Update(ctx, func(tx wxlogin.Tx) error {
		sess, err := tx.Session(ctx, sessionID)
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if !sess.RevokedAt.IsZero() {
			return nil
		}
		now := k.now()
		sess.RevokedAt = now
		if err := tx.UpdateSession(ctx, sess); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "session.revoke", UserID: sess.UserID,
			AppID: sess.AppID, SessionID: sess.ID, Detail: detail("via", "oidc", "reason", truncate(reason, 64))})
	})
}

// Authenticate returns who a valid access token of an active session speaks for; ClientID is the
// session's app. Errors: EUNAUTHORIZED.
func (o oidcSessions) Authenticate(ctx context.Context, accessToken string) (*wxlogin.OIDCPrincipal, error) {
	p, err := o.k.Authenticate(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	return &wxlogin.OIDCPrincipal{UserID: p.UserID, SessionID: p.SessionID, ClientID: p.AppID}, nil
}

func oidcTokens(l *Login) *wxlogin.OIDCSessionTokens {
	return &wxlogin.OIDCSessionTokens{SessionID: l.Session.ID, UserID: l.User.ID, AccessToken: l.AccessToken,
		ExpiresAt: l.ExpiresAt, RefreshToken: l.RefreshToken}
}

// CheckPassword implements wxlogin.PasswordChecker for the OIDC login page: it checks the password
// with the lock-out rules of every password login and returns the account's user id, without
// starting a session. Errors: ECREDENTIALS, ERATELIMITED, EFORBIDDEN (disabled user).
func (ac *Accounts) CheckPassword(ctx context.Context, username, password, ip, userAgent string) (string, error) {
	meta := Meta{IP: ip, UserAgent: userAgent}
	acct, err := ac.checkPassword(ctx, username, password, meta)
	if err != nil {
		return "", err
	}
	user, err := ac.store.User(ctx, acct.UserID)
	if err != nil {
		return "", err
	}
	if user.Disabled {
		ac.audit(ctx, &wxlogin.AuditEvent{Type: "login.failure", UserID: user.ID, IP: ip, UserAgent: userAgent,
			Detail: detail("method", "password", "via", "oidc", "reason", "disabled")})
		return "", wxlogin.Errorf(wxlogin.EFORBIDDEN, "%s", msgDisabled)
	}
	return user.ID, nil
}
