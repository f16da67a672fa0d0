package auth

import (
	"context"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
)

// The core's rules, which every door ends in: find-or-create-or-merge (upsertIdentity, with the
// merge policy of merge.go), session issue (startSession, then signAccess once committed), and
// transactions that retry racing writers and audit final refusals (update).

type upsertResult struct {
	user     *wxlogin.User
	identity *wxlogin.Identity
	created  bool
}

// upsertIdentity finds or creates the user of (app, openid) and stores its new session_key (sealed;
// nil when WeChat gave none: a Cloud Run login). A replayed code never comes here (replayIdentity).
// Rules:
//   - a known identity keeps its user; a newly learned unionid is linked (see linkUnionID);
//   - an unknown identity with a unionid known to a user joins that user;
//   - otherwise a new user is created, or, with bindTo, the identity joins that account's user.
//
// o goes to the audit trail of merges and conflicts.
// Errors: ECONFLICT (the identity belongs to another user than bindTo, or unionid clash).
func (c *core) upsertIdentity(ctx context.Context, tx wxlogin.Tx, app wxlogin.App, openid, unionid string, sessionKey []byte, bindTo *wxlogin.Account, o origin) (*upsertResult, error) {
	now := c.now()
	id, err := tx.Identity(ctx, app.ID, openid)
	switch {
	case err == nil:
		if sessionKey != nil {
			id.SessionKey, id.SessionKeyUpdatedAt = sessionKey, now
		}
		if unionid != "" && id.UnionID != unionid {
			id.UnionID = unionid
		}
		id.UpdatedAt = now
		if bindTo != nil && id.UserID != bindTo.UserID {
			if err := c.mergeInto(ctx, tx, id.UserID, bindTo.UserID, "bind", o); err != nil {
				return nil, err
			}
			id.UserID = bindTo.UserID
		}
		if err := tx.UpdateIdentity(ctx, id); err != nil {
			return nil, err
		}
		user, err := tx.User(ctx, id.UserID)
		if err != nil {
			return nil, err
		}
		linked, err := c.linkUnionID(ctx, tx, user, unionid, o)
		var f *final
		switch {
		case err == nil:
			user = linked
		case errors.As(err, &f) && bindTo == nil:
			// A conflicting unionid must not lock the person out: log in the identity's user as
			// before; the conflict goes to the audit trail for the app to resolve.
			if f.event != nil {
				f.event.Time, f.event.SessionID = now, o.sessionID // stored with the change, session and all
				if err := tx.AddAuditEvent(ctx, f.event); err != nil {
					return nil, err
				}
			}
		default:
			return nil, err
		}
		return &upsertResult{user: user, identity: id}, nil
	case wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND:
		return nil, err
	}
	var user *wxlogin.User
	created := false
	if bindTo != nil {
		if err := oneIdentityPerApp(ctx, tx, bindTo.UserID, app.ID, openid); err != nil {
			return nil, err
		}
		if user, err = tx.User(ctx, bindTo.UserID); err != nil {
			return nil, err
		}
		if user, err = c.linkUnionID(ctx, tx, user, unionid, o); err != nil {
			return nil, err
		}
	} else if unionid != "" {
		user, err = tx.UserByUnionID(ctx, unionid)
		if err != nil && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			return nil, err
		}
	}
	if user == nil {
		user = &wxlogin.User{ID: wxlogin.NewID("usr"), UnionID: unionid, CreatedAt: now, UpdatedAt: now}
		if err := c.createUser(ctx, tx, user, &linkMaterial{appID: app.ID, openID: openid, unionID: unionid, sessionKey: sessionKey}, o); err != nil {
			return nil, err
		}
		created = true
	}
	id = &wxlogin.Identity{AppID: app.ID, OpenID: openid, UnionID: unionid, UserID: user.ID, Kind: app.Kind,
		SessionKey: sessionKey, SessionKeyUpdatedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateIdentity(ctx, id); err != nil {
		return nil, err
	}
	if !created { // an existing user gained an identity: audited (and an identity.bound event)
		e := o.event("identity.bind", user.ID, detail("openid", openid, "via", "login"))
		e.Time = now
		if err := tx.AddAuditEvent(ctx, e); err != nil {
			return nil, err
		}
	}
	return &upsertResult{user: user, identity: id, created: created}, nil
}

// oneIdentityPerApp returns a final ECONFLICT when userID already has an identity at appid other
// than openid: a user has at most one identity per app.
func oneIdentityPerApp(ctx context.Context, tx wxlogin.Tx, userID, appid, openid string) error {
	ids, err := tx.IdentitiesByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id.AppID == appid && id.OpenID != openid {
			return conflictf("this user already has another WeChat identity at app %s: unbind it first", appid)
		}
	}
	return nil
}

// startSession creates a session for user at o's app, with o's session id, IP and user agent, and
// its first refresh token. The access token is signed after the transaction commits (signAccess).
func (c *core) startSession(ctx context.Context, tx wxlogin.Tx, user *wxlogin.User, method string, o origin) (*Login, error) {
	now := c.now()
	sid := o.sessionID
	if sid == "" {
		sid = wxlogin.NewID("ses")
	}
	sess := &wxlogin.Session{ID: sid, UserID: user.ID, AppID: o.appID, Method: method,
		UserAgent: truncate(o.meta.UserAgent, 256), IP: o.meta.IP, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(c.sessionTTL)}
	if err := tx.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	refresh, hash := token.NewRefreshToken()
	if err := tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: hash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: sess.ExpiresAt}); err != nil {
		return nil, err
	}
	username, err := usernameOf(ctx, tx, user.ID)
	if err != nil {
		return nil, err
	}
	return &Login{RefreshToken: refresh, Session: sess, User: user, Username: username}, nil
}

// usernameOf returns the username of the user's business account, "" when there is none.
func usernameOf(ctx context.Context, tx wxlogin.Tx, userID string) (string, error) {
	a, err := tx.AccountByUser(ctx, userID)
	switch wxlogin.ErrorCode(err) {
	case "":
		return a.Username, nil
	case wxlogin.ENOTFOUND:
		return "", nil
	default:
		return "", err
	}
}

// signAccess fills in the access token of l.
func (c *core) signAccess(l *Login) (*Login, error) {
	tok, claims, err := c.tokens.Issue(l.User.ID, l.Session.ID, audience(l.Session.AppID))
	if err != nil {
		return nil, err
	}
	l.AccessToken, l.ExpiresAt = wxlogin.Secret(tok), claims.ExpiresAt
	return l, nil
}

// audience returns the aud claim for a session of appid.
func audience(appid string) string {
	if appid == "" {
		return "wxlogin"
	}
	return appid
}

// update runs fn in a transaction and runs it again (up to 3 times in all) when it fails with
// ECONFLICT from a concurrent writer, so that racing first logins find each other's rows. A final
// error's audit event is stored after the transaction rolled back.
func (c *core) update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	var err error
	for range 3 {
		err = c.store.Update(ctx, fn)
		var f *final
		if errors.As(err, &f) {
			if f.event != nil {
				c.audit(ctx, f.event)
			}
			if f.link != nil {
				return c.storeLink(ctx, f)
			}
			return err
		}
		if wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
			return err
		}
	}
	return err
}

// final wraps an error the service decided (a conflict of rules, not of racing writers): retrying
// the transaction cannot change it. Its event, if any, is audited once the transaction is over
// (writing it inside would be rolled back).
type final struct {
	err   *wxlogin.Error
	event *wxlogin.AuditEvent
	// link, when set, is stored after the rollback and noAccount answered (signup.go).
	link      *wxlogin.LinkToken
	noAccount *NoAccountError
}

func (f *final) Error() string { return f.err.Error() }
func (f *final) Unwrap() error { return f.err }

// conflictf returns a final ECONFLICT error.
func conflictf(format string, args ...any) error {
	return &final{err: wxlogin.Errorf(wxlogin.ECONFLICT, format, args...)}
}

// SessionKeyAD returns the additional data the session_key of identity (appid, openid) is sealed
// with: it binds the sealed key to its identity, so a sealed key copied to another row does not open.
func SessionKeyAD(appid, openid string) []byte {
	return []byte("session_key\x00" + appid + "\x00" + openid)
}

// detail returns a JSON object of the key/value pairs, for AuditEvent.Detail.
func detail(kv ...string) string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// app returns the configured app for appid; with appid "", the only app, else the only mini program.
// Errors: EINVALID (missing or unknown appid).
func (c *core) app(appid string) (AppClient, error) {
	if appid == "" {
		if len(c.appOrder) == 1 {
			return c.apps[c.appOrder[0]], nil
		}
		// The doors that may leave appid out are the mini program's (wx.login, phone, Cloud Run,
		// QR codes): official accounts, websites and apps beside one mini program do not make it
		// ambiguous.
		var only []AppClient
		for _, id := range c.appOrder {
			if a := c.apps[id]; a.App.AppKind() == wxlogin.KindMiniProgram {
				only = append(only, a)
			}
		}
		if len(only) == 1 {
			return only[0], nil
		}
		return AppClient{}, wxlogin.Errorf(wxlogin.EINVALID, "appid is required: several apps are configured")
	}
	a, ok := c.apps[appid]
	if !ok {
		return AppClient{}, wxlogin.Errorf(wxlogin.EINVALID, "unknown appid %q", appid)
	}
	return a, nil
}

// audit stores an audit event outside any transaction; failures are logged, never fatal to the
// caller's request. Inside Update, write events through the Tx instead.
func (c *core) audit(ctx context.Context, e *wxlogin.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = c.now()
	}
	if err := c.store.AddAuditEvent(ctx, e); err != nil {
		c.log.ErrorContext(ctx, "audit event not stored", "type", e.Type, "err", err)
	}
}

var errUnauthorized = wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "the access token is invalid, expired or revoked")

const maxCodeLen = 128

// checkCode returns EINVALID unless code can be a wx.login or phone code (see validCode).
func checkCode(code string) error {
	if !validCode(code) {
		return wxlogin.Errorf(wxlogin.EINVALID, "code must be 1 to %d printable ASCII characters", maxCodeLen)
	}
	return nil
}

// validCode reports whether code can be a wx.login or phone code: 1..128 printable ASCII.
func validCode(code string) bool {
	if code == "" || len(code) > maxCodeLen || !utf8.ValidString(code) {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < 0x21 || code[i] > 0x7e {
			return false
		}
	}
	return true
}
