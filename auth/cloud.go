package auth

import (
	"context"

	"github.com/wxlogin/wxlogin"
)

// validOpenID reports whether s can be an openid or unionid: 1..64 of [A-Za-z0-9_-].
func validOpenID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// LoginCloud logs in the WeChat user that WeChat Cloud Run's gateway vouches for with its
// X-WX-APPID / X-WX-OPENID / X-WX-UNIONID headers: no code, no session_key. It is off unless the
// server enables it, and is safe only behind that gateway, which strips these headers from client
// requests. Errors: EFORBIDDEN (mode off), EINVALID, EFORBIDDEN (disabled user).
func (d *Doors) LoginCloud(ctx context.Context, appid, openid, unionid string, meta Meta) (*Login, error) {
	if !d.cloudRun {
		return nil, wxlogin.Errorf(wxlogin.EFORBIDDEN, "Cloud Run login is not enabled on this server")
	}
	if appid == "" || !validOpenID(openid) || (unionid != "" && !validOpenID(unionid)) {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "X-WX-APPID and X-WX-OPENID headers are required (from the Cloud Run gateway)")
	}
	app, err := d.app(appid)
	if err != nil {
		return nil, err
	}
	var login *Login
	o := loginOrigin(app.App.ID, meta)
	o.door = DoorCloudRun
	if o.admission, err = d.admit(ctx, app, DoorCloudRun, openid, unionid, false, meta); err != nil {
		return nil, err
	}
	err = d.update(ctx, func(tx wxlogin.Tx) error {
		res, err := d.upsertIdentity(ctx, tx, app.App, openid, unionid, nil, nil, o)
		if err != nil {
			return err
		}
		if res.user.Disabled {
			return disabledLogin(res.user, "cloudrun", o)
		}
		if login, err = d.startSession(ctx, tx, res.user, "cloudrun", o); err != nil {
			return err
		}
		login.NewUser = res.created
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "login.success", ActorID: res.user.ID, UserID: res.user.ID,
			AppID: app.App.ID, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", "cloudrun", "new_user", boolString(res.created))})
	})
	if err != nil {
		return nil, err
	}
	return d.signAccess(login)
}
