package auth

import (
	"context"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechat"
)

// PhoneLogin is the input of LoginPhoneWith: a getPhoneNumber code, and optionally the WeChat
// identity to bind: a wx.login code (WxCode) or the link token of a refused login (LinkToken).
type PhoneLogin struct {
	AppID     string
	Code      string
	WxCode    string
	LinkToken string
}

// LoginPhoneWith is the phone door. It logs in the user who verified the phone number behind
// in.Code; with phone sign-up on (and the phone door's policy open), an unknown number gets a new
// user holding it. With WxCode or LinkToken it also binds that WeChat identity to the user (one
// person, one user): an identity held by a bare user is merged in, one held by a user with an
// account or another phone is a conflict. When the number is unknown but the identity's user is
// known, that user gets the number. Every step is audited (phone.verify, identity.bind or
// identity.link, signup.refused, login.success with new_user).
// Errors: EFORBIDDEN (door off, disabled user, risk), EINVALID (bad input, bad link token),
// EINVALIDCODE, ECREDENTIALS (unknown number, sign-up off), ENOACCOUNT (existing_only, with a link
// token), ECONFLICT, EUPSTREAMUNAVAIL, EUPSTREAM.
func (d *Doors) LoginPhoneWith(ctx context.Context, in PhoneLogin, meta Meta) (*Login, error) {
	if !d.phoneLogin && !d.signup.phoneSignup {
		return nil, wxlogin.Errorf(wxlogin.EFORBIDDEN, "phone login is not enabled on this server")
	}
	app, err := d.app(in.AppID)
	if err != nil {
		return nil, err
	}
	if err := checkCode(in.Code); err != nil {
		return nil, err
	}
	if in.WxCode != "" && in.LinkToken != "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "send wx_code or link_token, not both")
	}
	if in.WxCode != "" {
		if err := checkCode(in.WxCode); err != nil {
			return nil, err
		}
	}
	// A bad link token is refused before the phone code is spent (each one costs the app quota).
	var ident *linkMaterial
	if in.LinkToken != "" {
		lt, err := d.peekLink(ctx, in.LinkToken, app.App.ID)
		if err != nil {
			return nil, err
		}
		ident = &linkMaterial{appID: lt.AppID, openID: lt.OpenID, unionID: lt.UnionID}
	}
	info, err := app.WeChat.GetPhoneNumber(ctx, in.Code, "")
	if err != nil {
		return nil, wechatError(callPhoneLogin, err)
	}
	if info.Watermark.AppID != "" && info.Watermark.AppID != app.App.ID {
		return nil, wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered a phone number of another app")
	}
	if info.PurePhoneNumber == "" || len(info.PurePhoneNumber) > 32 || len(info.CountryCode) > 8 {
		return nil, wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered without a usable phone number")
	}
	// The WeChat identity to bind, if any: from a wx.login code, or (read above, consumed in the
	// transaction) from a link token.
	if in.WxCode != "" {
		ws, err := app.WeChat.Code2Session(ctx, in.WxCode)
		if err != nil {
			return nil, wechatError(callCode2Session, err)
		}
		if ws.OpenID == "" || ws.SessionKey == "" {
			return nil, wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered without an openid or session_key")
		}
		key, err := d.sealer.Seal([]byte(ws.SessionKey.Reveal()), SessionKeyAD(app.App.ID, ws.OpenID))
		if err != nil {
			return nil, err
		}
		ident = &linkMaterial{appID: app.App.ID, openID: ws.OpenID, unionID: ws.UnionID, sessionKey: key}
	}

	o := loginOrigin(app.App.ID, meta)
	o.door = DoorPhone
	_, err = d.store.UserByPhone(ctx, info.CountryCode, info.PurePhoneNumber)
	known := err == nil
	if err != nil && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		return nil, err
	}
	openid, unionid := "", ""
	if ident != nil {
		openid, unionid = ident.openID, ident.unionID
	}
	if o.admission, err = d.admit(ctx, app, DoorPhone, openid, unionid, known, meta); err != nil {
		return nil, err
	}

	var (
		login   *Login
		created bool
	)
	err = d.update(ctx, func(tx wxlogin.Tx) error {
		login, created = nil, false
		if in.LinkToken != "" {
			lt, err := d.takeLink(ctx, tx, in.LinkToken, app.App.ID)
			if err != nil {
				return err
			}
			ident = &linkMaterial{appID: lt.AppID, openID: lt.OpenID, unionID: lt.UnionID, sessionKey: lt.SessionKey}
		}
		user, err := tx.UserByPhone(ctx, info.CountryCode, info.PurePhoneNumber)
		switch {
		case err == nil:
			if user.Disabled {
				return disabledLogin(user, "phone", o)
			}
			if ident != nil {
				if err := d.bindPhoneIdentity(ctx, tx, ident, user.ID, in.LinkToken != "", o); err != nil {
					return err
				}
			}
		case wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND:
			return err
		case ident != nil:
			// The number is new: the identity's user (found, joined by unionid, or created under
			// the phone door's admission) gets it.
			res, err := d.upsertIdentity(ctx, tx, app.App, ident.openID, ident.unionID, ident.sessionKey, nil, o)
			if err != nil {
				return err
			}
			if user, created = res.user, res.created; user.Disabled {
				return disabledLogin(user, "phone", o)
			}
			if in.LinkToken != "" {
				e := o.event("identity.link", user.ID, detail("openid", ident.openID, "door", DoorPhone))
				e.ActorID, e.Time = user.ID, d.now()
				if err := tx.AddAuditEvent(ctx, e); err != nil {
					return err
				}
			}
			if err := d.verifyPhone(ctx, tx, user, info, o); err != nil {
				return err
			}
		default:
			now := d.now()
			user = &wxlogin.User{ID: wxlogin.NewID("usr"), CreatedAt: now, UpdatedAt: now}
			if err := d.createUser(ctx, tx, user, nil, o); err != nil {
				return err
			}
			created = true
			if err := d.verifyPhone(ctx, tx, user, info, o); err != nil {
				return err
			}
		}
		if login, err = d.startSession(ctx, tx, user, "phone", o); err != nil {
			return err
		}
		login.NewUser = created
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "login.success", ActorID: user.ID, UserID: user.ID,
			AppID: app.App.ID, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", "phone", "new_user", boolString(created), "wechat_bound", boolString(ident != nil))})
	})
	if err != nil {
		return nil, err
	}
	return d.signAccess(login)
}

// bindPhoneIdentity binds ident to the phone's holder userID (merging a bare holder of the
// identity) and audits identity.link (from a link token) or identity.bind (from wx_code).
// Errors: ECONFLICT (final), EFORBIDDEN (final: disabled), the store's.
func (d *Doors) bindPhoneIdentity(ctx context.Context, tx wxlogin.Tx, ident *linkMaterial, userID string, linked bool, o origin) error {
	lt := &wxlogin.LinkToken{AppID: ident.appID, OpenID: ident.openID, UnionID: ident.unionID, SessionKey: ident.sessionKey}
	if linked {
		return d.bindLinked(ctx, tx, lt, userID, o)
	}
	app, err := d.app(ident.appID)
	if err != nil {
		return err
	}
	res, err := d.upsertIdentity(ctx, tx, app.App, ident.openID, ident.unionID, ident.sessionKey, &wxlogin.Account{UserID: userID}, o)
	if err != nil {
		return err
	}
	if res.user.ID != userID {
		return conflictf("this WeChat identity belongs to another user (by unionid)")
	}
	e := o.event("identity.bind", userID, detail("openid", ident.openID, "door", DoorPhone))
	e.ActorID, e.Time = userID, d.now()
	return tx.AddAuditEvent(ctx, e)
}

// verifyPhone stores the verified number info on user, which holds no number or this one, and
// audits phone.verify. Errors: ECONFLICT (final: the user verified another number), the store's.
func (d *Doors) verifyPhone(ctx context.Context, tx wxlogin.Tx, user *wxlogin.User, info *wechat.PhoneInfo, o origin) error {
	if user.Phone != "" && (user.Phone != info.PurePhoneNumber || user.PhoneCountryCode != info.CountryCode) {
		return &final{err: wxlogin.Errorf(wxlogin.ECONFLICT, "this WeChat user has verified another phone number"),
			event: o.finalEvent("phone.conflict", user.ID, detail("reason", "user holds another number", "door", DoorPhone))}
	}
	now := d.now()
	user.Phone, user.PhoneCountryCode, user.PhoneVerifiedAt, user.UpdatedAt = info.PurePhoneNumber, info.CountryCode, now, now
	if err := tx.UpdateUser(ctx, user); err != nil {
		return err
	}
	e := o.event("phone.verify", user.ID, detail("method", "login", "country_code", info.CountryCode))
	e.ActorID, e.Time = user.ID, now
	return tx.AddAuditEvent(ctx, e)
}

// peekLink returns the unexpired link token raw of appid without consuming it (the transaction
// takes it). Errors: EINVALID.
func (c *core) peekLink(ctx context.Context, raw, appid string) (*wxlogin.LinkToken, error) {
	if raw == "" || len(raw) > 128 {
		return nil, errLinkToken
	}
	lt, err := c.store.LinkToken(ctx, token.HashRefreshToken(raw))
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errLinkToken
	} else if err != nil {
		return nil, err
	}
	if !c.now().Before(lt.ExpiresAt) || (appid != "" && lt.AppID != appid) {
		return nil, errLinkToken
	}
	return lt, nil
}
