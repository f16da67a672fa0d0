package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
)

// Login is the result of a successful login or refresh: wxlogin's own login state.
type Login struct {
	AccessToken  wxlogin.Secret
	ExpiresAt    time.Time
	RefreshToken wxlogin.Secret
	Session      *wxlogin.Session
	User         *wxlogin.User
	Username     string // the user's business account, "" when none
	NewUser      bool
}

// WeChatLogin is the input of LoginWeChat.
type WeChatLogin struct {
	AppID    string
	Code     string
	Username string // optional: bind this WeChat identity to the account
	Password string
}

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

// LoginWeChat exchanges a wx.login code and logs its WeChat user in: the user of (appid, openid),
// else the user of its unionid, else a new user. The same code sent again within the code window
// from the same client with the same request (the same account or none) logs the same identity in
// again (a new session) without asking WeChat, and changes nothing: it never binds, merges or
// creates; any other replay answers EINVALIDCODE.
// Errors: EINVALID, EINVALIDCODE, EUSERBLOCKED, EFORBIDDEN (disabled user), EUPSTREAMUNAVAIL,
// EUPSTREAM, ECREDENTIALS and ECONFLICT (with credentials).
func (s *Service) LoginWeChat(ctx context.Context, in WeChatLogin, meta Meta) (*Login, error) {
	app, err := s.app(in.AppID)
	if err != nil {
		return nil, err
	}
	if err := checkCode(in.Code); err != nil {
		return nil, err
	}
	if (in.Username == "") != (in.Password == "") {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "username and password go together")
	}
	var bindTo *wxlogin.Account
	if in.Username != "" {
		if bindTo, err = s.checkPassword(ctx, in.Username, in.Password, meta); err != nil {
			return nil, err
		}
	}

	key := codeKey(app.App.ID, in.Code)
	prior, err := s.codes.Claim(ctx, key)
	if err != nil {
		return nil, err
	}
	settle := func(*wxlogin.CodeResult) {}
	if prior == nil {
		done := false
		settle = func(res *wxlogin.CodeResult) {
			if !done {
				done = true
				_ = s.codes.Settle(context.WithoutCancel(ctx), key, res)
			}
		}
		defer settle(nil) // a panic or an early return must not leave waiters hanging
	}
	request := replayKey(in.Username, meta)
	if prior != nil && (prior.IP != meta.IP || prior.Request != request) {
		// A retry is the same request from the device that sent the code; anything else replaying
		// it gets what WeChat would have said.
		return nil, errCodeUsed
	}
	var (
		openid     string
		sessionKey []byte
		unionid    string
	)
	if prior != nil {
		openid = prior.OpenID
	} else {
		ws, err := app.WeChat.Code2Session(ctx, in.Code)
		if err != nil {
			settle(nil)
			s.audit(ctx, &wxlogin.AuditEvent{Type: "login.failure", AppID: app.App.ID, IP: meta.IP, UserAgent: meta.UserAgent,
				Detail: detail("method", "wechat", "reason", wxlogin.ErrorCode(wechatError(callCode2Session, err)))})
			return nil, wechatError(callCode2Session, err)
		}
		if ws.OpenID == "" || ws.SessionKey == "" {
			settle(nil)
			return nil, wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered without an openid or session_key")
		}
		openid, unionid = ws.OpenID, ws.UnionID
		if sessionKey, err = s.sealer.Seal([]byte(ws.SessionKey.Reveal()), SessionKeyAD(app.App.ID, openid)); err != nil {
			settle(nil)
			return nil, err
		}
	}

	var login *Login
	o := loginOrigin(app.App.ID, meta)
	err = s.update(ctx, func(tx wxlogin.Tx) error {
		login = nil
		var res *upsertResult
		if prior != nil {
			res, err = replayIdentity(ctx, tx, app.App.ID, openid, bindTo)
		} else {
			res, err = s.upsertIdentity(ctx, tx, app.App, openid, unionid, sessionKey, bindTo, o)
		}
		if err != nil {
			return err
		}
		if res.user.Disabled {
			return disabledLogin(res.user, "wechat", o)
		}
		login, err = s.startSession(ctx, tx, res.user, "wechat", o)
		if err != nil {
			return err
		}
		login.NewUser = res.created
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: s.now(), Type: "login.success", ActorID: res.user.ID, UserID: res.user.ID,
			AppID: app.App.ID, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", "wechat", "new_user", boolString(res.created), "dedup", boolString(prior != nil))})
	})
	if prior == nil {
		// WeChat consumed the code whatever happened next: remember whose it was.
		settle(&wxlogin.CodeResult{AppID: app.App.ID, OpenID: openid, IP: meta.IP, Request: request})
	}
	if err != nil {
		return nil, err
	}
	return s.signAccess(login)
}

var errCodeUsed = wxlogin.Errorf(wxlogin.EINVALIDCODE, "the code is invalid, expired or already used: call wx.login again")

// replayKey returns what identifies a code login request for a replay of its code: the account
// it names (any case) and the client's user agent, hashed. The address is compared apart
// (wxlogin.CodeResult.IP).
func replayKey(username string, meta Meta) string {
	sum := sha256.Sum256([]byte(UsernameKey(username) + "\x00" + meta.UserAgent))
	return hex.EncodeToString(sum[:16])
}

// replayIdentity returns the user of (appid, openid) for a replayed code, changing nothing: a
// replay repeats the first exchange's outcome and never binds, merges or creates. With bindTo (the
// same credentials as the first exchange, see replayKey), the identity must already be that
// account's. Errors: EINVALIDCODE (the first exchange left no such outcome).
func replayIdentity(ctx context.Context, tx wxlogin.Tx, appid, openid string, bindTo *wxlogin.Account) (*upsertResult, error) {
	id, err := tx.Identity(ctx, appid, openid)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errCodeUsed
	} else if err != nil {
		return nil, err
	}
	if bindTo != nil && id.UserID != bindTo.UserID {
		return nil, errCodeUsed
	}
	user, err := tx.User(ctx, id.UserID)
	if err != nil {
		return nil, err
	}
	return &upsertResult{user: user, identity: id}, nil
}

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
func (s *Service) upsertIdentity(ctx context.Context, tx wxlogin.Tx, app wxlogin.App, openid, unionid string, sessionKey []byte, bindTo *wxlogin.Account, o origin) (*upsertResult, error) {
	now := s.now()
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
			if err := s.mergeInto(ctx, tx, id.UserID, bindTo.UserID, "bind", o); err != nil {
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
		linked, err := s.linkUnionID(ctx, tx, user, unionid, o)
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
		if user, err = s.linkUnionID(ctx, tx, user, unionid, o); err != nil {
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
		if err := tx.CreateUser(ctx, user); err != nil {
			return nil, err
		}
		created = true
	}
	id = &wxlogin.Identity{AppID: app.ID, OpenID: openid, UnionID: unionid, UserID: user.ID,
		SessionKey: sessionKey, SessionKeyUpdatedAt: now, CreatedAt: now, UpdatedAt: now}
	if err := tx.CreateIdentity(ctx, id); err != nil {
		return nil, err
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
func (s *Service) startSession(ctx context.Context, tx wxlogin.Tx, user *wxlogin.User, method string, o origin) (*Login, error) {
	now := s.now()
	sid := o.sessionID
	if sid == "" {
		sid = wxlogin.NewID("ses")
	}
	sess := &wxlogin.Session{ID: sid, UserID: user.ID, AppID: o.appID, Method: method,
		UserAgent: truncate(o.meta.UserAgent, 256), IP: o.meta.IP, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.sessionTTL)}
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
func (s *Service) signAccess(l *Login) (*Login, error) {
	tok, claims, err := s.tokens.Issue(l.User.ID, l.Session.ID, audience(l.Session.AppID))
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
func (s *Service) update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	var err error
	for range 3 {
		err = s.store.Update(ctx, fn)
		var f *final
		if errors.As(err, &f) {
			if f.event != nil {
				s.audit(ctx, f.event)
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
