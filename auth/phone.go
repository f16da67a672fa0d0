package auth

import (
	"context"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// PhoneInput is a phone number from <button open-type="getPhoneNumber">: the current API's Code,
// or the legacy EncryptedData/IV pair.
type PhoneInput struct {
	AppID         string
	Code          string
	EncryptedData string
	IV            string
}

// phoneFromWeChat returns the verified phone of the principal's identity at in.AppID.
// Errors: EINVALID, EINVALIDCODE, ESESSIONKEYSTALE, EUPSTREAMUNAVAIL, EUPSTREAM.
func (i *Identities) phoneFromWeChat(ctx context.Context, p *Principal, in PhoneInput) (*wechat.PhoneInfo, string, error) {
	if (in.Code == "") == (in.EncryptedData == "") {
		return nil, "", wxlogin.Errorf(wxlogin.EINVALID, "send either code (current API) or encrypted_data and iv (legacy)")
	}
	if in.Code != "" {
		if err := checkCode(in.Code); err != nil {
			return nil, "", err
		}
	}
	app, id, key, err := i.identityFor(ctx, p, in.AppID)
	if err != nil {
		return nil, "", err
	}
	var info *wechat.PhoneInfo
	if in.Code != "" {
		info, err = app.WeChat.GetPhoneNumber(ctx, in.Code, id.OpenID)
		if err != nil {
			return nil, "", wechatError(callPhoneOfUser, err)
		}
		if info.Watermark.AppID != "" && info.Watermark.AppID != app.App.ID {
			return nil, "", wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered a phone number of another app")
		}
	} else {
		if err := validEncrypted(EncryptedData{EncryptedData: in.EncryptedData, IV: in.IV}); err != nil {
			return nil, "", err
		}
		if info, err = wechat.DecryptPhoneNumber(app.App.ID, key, in.EncryptedData, in.IV); err != nil {
			return nil, "", i.decryptFailure(ctx, app, id, key)
		}
	}
	if info.PurePhoneNumber == "" || len(info.PurePhoneNumber) > 32 || len(info.CountryCode) > 8 {
		return nil, "", wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered without a usable phone number")
	}
	return info, app.App.ID, nil
}

// SetPhone verifies a phone number through WeChat and stores it on the principal's user with its
// country code. A number another user has verified is a conflict (audited).
// Errors: EINVALID, EINVALIDCODE, ESESSIONKEYSTALE, ECONFLICT, EUPSTREAMUNAVAIL.
func (i *Identities) SetPhone(ctx context.Context, p *Principal, in PhoneInput, meta Meta) (*Profile, error) {
	info, appid, err := i.phoneFromWeChat(ctx, p, in)
	if err != nil {
		return nil, err
	}
	method := "code"
	if in.Code == "" {
		method = "encrypted_data"
	}
	err = i.update(ctx, func(tx wxlogin.Tx) error {
		holder, err := tx.UserByPhone(ctx, info.CountryCode, info.PurePhoneNumber)
		if err == nil && holder.ID != p.UserID {
			return &final{err: wxlogin.Errorf(wxlogin.ECONFLICT, "this phone number is verified by another user"),
				event: &wxlogin.AuditEvent{Type: "phone.conflict", UserID: p.UserID, AppID: appid, SessionID: p.SessionID, IP: meta.IP,
					UserAgent: meta.UserAgent, Detail: detail("other_user", holder.ID)}}
		} else if err != nil && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			return err
		}
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		now := i.now()
		u.Phone, u.PhoneCountryCode, u.PhoneVerifiedAt, u.UpdatedAt = info.PurePhoneNumber, info.CountryCode, now, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "phone.verify", ActorID: p.UserID, UserID: p.UserID,
			AppID: appid, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("method", method, "country_code", info.CountryCode)})
	})
	if err != nil {
		return nil, err
	}
	return i.Me(ctx, p)
}

// LoginPhone logs in the user who verified the phone number behind a getPhoneNumber code: the
// phone door without a WeChat identity (see LoginPhoneWith). It is off unless configured.
// Errors: EFORBIDDEN (off, or disabled user), EINVALID, EINVALIDCODE, ECREDENTIALS (no user
// verified that number and phone sign-up is off), EUPSTREAMUNAVAIL.
func (d *Doors) LoginPhone(ctx context.Context, appid, code string, meta Meta) (*Login, error) {
	return d.LoginPhoneWith(ctx, PhoneLogin{AppID: appid, Code: code}, meta)
}
