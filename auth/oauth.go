package auth

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// The web OAuth door (docs/wechat-api.md §9): official-account pages (snsapi_base,
// snsapi_userinfo), websites (qrconnect, snsapi_login) and mobile apps (the WeChat SDK's SendAuth)
// all bring back a code that /sns/oauth2/access_token exchanges for the user's openid (and unionid).
// The door ends in the same find-or-create-or-merge (upsertIdentity) and session issue as the mini
// program's, with the same code de-duplication. The user's OAuth access and refresh tokens are
// used once, for /sns/userinfo, and then dropped: nothing keeps them, so nothing can leak them.

// OAuthWeChat is what the web OAuth door uses of an app's WeChat client; *wechat.Client implements it.
type OAuthWeChat interface {
	OAuthExchange(ctx context.Context, code string) (*wechat.OAuthToken, error)
	OAuthUserInfo(ctx context.Context, accessToken wxlogin.Secret, openid string) (*wechat.OAuthUserProfile, error)
}

// MethodOAuth is the session method of the web OAuth door.
const MethodOAuth = "wechat_oauth"

// OAuthLogin is the input of LoginOAuth.
type OAuthLogin struct {
	AppID string // an official account, a website or a mobile app
	Code  string // from /connect/oauth2/authorize, /connect/qrconnect or the WeChat SDK
}

// LoginOAuth exchanges a web OAuth code of an official account, a website or a mobile app and logs
// its WeChat user in: the user of (appid, openid), else the user of its unionid, else a new user.
// With snsapi_userinfo or snsapi_login it reads the profile (nickname, avatar, unionid) and fills
// in a user's empty nickname and avatar. The same code sent again within the code window by the
// same client logs the same identity in again without asking WeChat; any other replay answers
// EINVALIDCODE.
// Errors: EINVALID (unknown appid, a mini program, bad code), EINVALIDCODE, ESNAPSHOTUSER (a
// snapshot-page visitor: nothing is created or bound), EFORBIDDEN (disabled user),
// EUPSTREAMUNAVAIL, EUPSTREAM.
func (d *Doors) LoginOAuth(ctx context.Context, in OAuthLogin, meta Meta) (*Login, error) {
	var login *Login
	err := d.oauthDoor(ctx, in, meta, func(ctx context.Context, tx wxlogin.Tx, app wxlogin.App, res *upsertResult, o origin, dedup bool) error {
		var err error
		login, err = d.startSession(ctx, tx, res.user, MethodOAuth, o)
		if err != nil {
			return err
		}
		login.NewUser = res.created
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "login.success", ActorID: res.user.ID, UserID: res.user.ID,
			AppID: app.ID, SessionID: login.Session.ID, IP: o.meta.IP, UserAgent: o.meta.UserAgent,
			Detail: detail("method", MethodOAuth, "kind", string(app.AppKind()), "new_user", boolString(res.created), "dedup", boolString(dedup))})
	})
	if err != nil {
		return nil, err
	}
	return d.signAccess(login)
}

// oauthDoor exchanges in's code and finds, creates or merges its user, then calls then inside the
// same transaction (dedup: the code was a replay answered from the first exchange). Errors: those
// of LoginOAuth, and then's.
func (d *Doors) oauthDoor(ctx context.Context, in OAuthLogin, meta Meta,
	then func(ctx context.Context, tx wxlogin.Tx, app wxlogin.App, res *upsertResult, o origin, dedup bool) error) error {
	app, err := d.app(in.AppID)
	if err != nil {
		return err
	}
	ow, ok := app.WeChat.(OAuthWeChat)
	if !app.App.AppKind().WebOAuth() || !ok {
		return wxlogin.Errorf(wxlogin.EINVALID, "app %s is a %s, not an official account, website or mobile app", app.App.ID, app.App.AppKind())
	}
	if err := checkCode(in.Code); err != nil {
		return err
	}
	key := codeKey(app.App.ID, in.Code)
	prior, err := d.codes.Claim(ctx, key)
	if err != nil {
		return err
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
		defer settle(nil)
	}
	request := replayKey("", meta)
	if prior != nil && (prior.IP != meta.IP || prior.Request != request) {
		return errOAuthCodeUsed
	}
	failure := func(reason string) {
		d.audit(ctx, &wxlogin.AuditEvent{Type: "login.failure", AppID: app.App.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", MethodOAuth, "kind", string(app.App.AppKind()), "reason", reason)})
	}
	var (
		openid, unionid string
		profile         *wechat.OAuthUserProfile
	)
	if prior != nil {
		openid = prior.OpenID
	} else {
		tok, err := ow.OAuthExchange(ctx, in.Code)
		if err != nil {
			settle(nil)
			err = wechatError(callOAuth, err)
			failure(wxlogin.ErrorCode(err))
			return err
		}
		if tok.SnapshotUser {
			// WeChat consumed the code; a replay finds no identity and gets EINVALIDCODE.
			settle(&wxlogin.CodeResult{AppID: app.App.ID, IP: meta.IP, Request: request})
			failure(wxlogin.ESNAPSHOTUSER)
			return errSnapshotUser
		}
		openid, unionid = tok.OpenID, tok.UnionID
		if scopeHasProfile(tok.Scope) {
			p, err := ow.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
			switch {
			case err != nil:
				// The login stands on the exchange alone; the profile waits for the next login.
				d.log.LogAttrs(ctx, slog.LevelWarn, "wechat userinfo failed", slog.String("appid", app.App.ID),
					slog.String("error", wxlogin.ErrorCode(wechatError(callOAuth, err))))
			case p.OpenID == openid:
				profile = p
				if unionid == "" {
					unionid = p.UnionID
				}
			}
		}
	}
	o := loginOrigin(app.App.ID, meta)
	err = d.update(ctx, func(tx wxlogin.Tx) error {
		var res *upsertResult
		var err error
		if prior != nil {
			res, err = replayIdentity(ctx, tx, app.App.ID, openid, nil)
		} else {
			res, err = d.upsertIdentity(ctx, tx, app.App, openid, unionid, nil, nil, o)
		}
		if err != nil {
			return err
		}
		if profile != nil {
			if err := fillProfile(ctx, tx, res.user, profile, d.now()); err != nil {
				return err
			}
		}
		if res.user.Disabled {
			return disabledLogin(res.user, MethodOAuth, o)
		}
		return then(ctx, tx, app.App, res, o, prior != nil)
	})
	if prior == nil {
		settle(&wxlogin.CodeResult{AppID: app.App.ID, OpenID: openid, IP: meta.IP, Request: request})
	}
	return err
}

var (
	errOAuthCodeUsed = wxlogin.Errorf(wxlogin.EINVALIDCODE, "the code is invalid, expired or already used: sign in with WeChat again")
	errSnapshotUser  = wxlogin.Errorf(wxlogin.ESNAPSHOTUSER,
		"this is a WeChat snapshot-page visit (virtual openid): open the page in WeChat and tap \"use full service\" to sign in")
)

// scopeHasProfile reports whether an OAuth grant of scope (comma-separated) may read /sns/userinfo.
func scopeHasProfile(scope string) bool {
	for _, s := range strings.Split(scope, ",") {
		if s = strings.TrimSpace(s); s == wechat.ScopeUserInfo || s == wechat.ScopeLogin {
			return true
		}
	}
	return false
}

// fillProfile sets the user's nickname and avatar from WeChat's profile when the user has none: a
// profile the user set is never overwritten.
func fillProfile(ctx context.Context, tx wxlogin.Tx, u *wxlogin.User, p *wechat.OAuthUserProfile, now time.Time) error {
	changed := false
	if nick := strings.TrimSpace(p.Nickname); u.Nickname == "" && nick != "" && validNickname(nick) == nil {
		u.Nickname, changed = nick, true
	}
	if u.AvatarURL == "" && p.HeadImgURL != "" && validAvatarURL(p.HeadImgURL) == nil {
		u.AvatarURL, changed = p.HeadImgURL, true
	}
	if !changed {
		return nil
	}
	u.UpdatedAt = now
	return tx.UpdateUser(ctx, u)
}
