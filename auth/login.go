package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/wxlogin/wxlogin"
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

// LoginWeChat exchanges a wx.login code and logs its WeChat user in: the user of (appid, openid),
// else the user of its unionid, else a new user. The same code sent again within the code window
// from the same client with the same request (the same account or none) logs the same identity in
// again (a new session) without asking WeChat, and changes nothing: it never binds, merges or
// creates; any other replay answers EINVALIDCODE.
// Errors: EINVALID, EINVALIDCODE, EUSERBLOCKED, EFORBIDDEN (disabled user), EUPSTREAMUNAVAIL,
// EUPSTREAM, ECREDENTIALS and ECONFLICT (with credentials).
func (d *Doors) LoginWeChat(ctx context.Context, in WeChatLogin, meta Meta) (*Login, error) {
	app, err := d.app(in.AppID)
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
		if bindTo, err = d.accounts.checkPassword(ctx, in.Username, in.Password, meta); err != nil {
			return nil, err
		}
	}

	key := codeKey(app.App.ID, in.Code)
	prior, err := d.codes.Claim(ctx, key)
	if err != nil {
		return nil, err
	}
	settle := func(*wxlogin.CodeResult) {}
	if prior == nil {
		done := false
		settle = func(res *wxlogin.CodeResult) {
			if !done {
				done = true
				_ = d.codes.Settle(context.WithoutCancel(ctx), key, res)
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
			d.audit(ctx, &wxlogin.AuditEvent{Type: "login.failure", AppID: app.App.ID, IP: meta.IP, UserAgent: meta.UserAgent,
				Detail: detail("method", "wechat", "reason", wxlogin.ErrorCode(wechatError(callCode2Session, err)))})
			return nil, wechatError(callCode2Session, err)
		}
		if ws.OpenID == "" || ws.SessionKey == "" {
			settle(nil)
			return nil, wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered without an openid or session_key")
		}
		openid, unionid = ws.OpenID, ws.UnionID
		if sessionKey, err = d.sealer.Seal([]byte(ws.SessionKey.Reveal()), SessionKeyAD(app.App.ID, openid)); err != nil {
			settle(nil)
			return nil, err
		}
	}

	var login *Login
	o := loginOrigin(app.App.ID, meta)
	o.door = DoorWeChat
	if prior == nil && bindTo == nil {
		if o.admission, err = d.admit(ctx, app, DoorWeChat, openid, unionid, false, meta); err != nil {
			return nil, err
		}
	}
	err = d.update(ctx, func(tx wxlogin.Tx) error {
		login = nil
		var res *upsertResult
		if prior != nil {
			res, err = replayIdentity(ctx, tx, app.App.ID, openid, bindTo)
		} else {
			res, err = d.upsertIdentity(ctx, tx, app.App, openid, unionid, sessionKey, bindTo, o)
		}
		if err != nil {
			return err
		}
		if res.user.Disabled {
			return disabledLogin(res.user, "wechat", o)
		}
		login, err = d.startSession(ctx, tx, res.user, "wechat", o)
		if err != nil {
			return err
		}
		login.NewUser = res.created
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "login.success", ActorID: res.user.ID, UserID: res.user.ID,
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
	return d.signAccess(login)
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
