package auth

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// BindWeChat binds the WeChat identity behind a wx.login code of appid to the principal's user.
// An identity held by a bare auto-created user is merged in; one held by any other user is a
// conflict and nothing changes. Errors: EINVALID, EINVALIDCODE, ECONFLICT, EUPSTREAMUNAVAIL, ...
func (i *Identities) BindWeChat(ctx context.Context, p *Principal, appid, code string, meta Meta) (*Profile, error) {
	app, err := i.app(appid)
	if err != nil {
		return nil, err
	}
	if err := checkCode(code); err != nil {
		return nil, err
	}
	ws, err := app.WeChat.Code2Session(ctx, code)
	if err != nil {
		return nil, wechatError(callCode2Session, err)
	}
	sealed, err := i.sealer.Seal([]byte(ws.SessionKey.Reveal()), SessionKeyAD(app.App.ID, ws.OpenID))
	if err != nil {
		return nil, err
	}
	err = i.update(ctx, func(tx wxlogin.Tx) error {
		acct := &wxlogin.Account{UserID: p.UserID}
		if err := oneIdentityPerApp(ctx, tx, p.UserID, app.App.ID, ws.OpenID); err != nil {
			return err
		}
		// Bound to a user, upsertIdentity moves the identity (merging a bare holder) or refuses.
		res, err := i.upsertIdentity(ctx, tx, app.App, ws.OpenID, ws.UnionID, sealed, acct, principalOrigin(p, meta).at(app.App.ID))
		if err != nil {
			return err
		}
		if res.user.ID != p.UserID {
			// The identity's unionid belongs to another user the caller would be merged into: a bind
			// never deletes the caller. Logging in with WeChat reaches that user.
			return conflictf("this WeChat identity belongs to another user (by unionid): log in with WeChat to reach it")
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: i.now(), Type: "identity.bind", ActorID: p.UserID, UserID: p.UserID,
			AppID: app.App.ID, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("openid", ws.OpenID)})
	})
	if err != nil {
		return nil, err
	}
	return i.Me(ctx, p)
}

// UnbindWeChat removes the principal's identity at appid. It is refused (EFORBIDDEN) when it would
// leave the user no way to log in: no business account and no other WeChat identity.
// Errors: ENOTFOUND, EFORBIDDEN.
func (i *Identities) UnbindWeChat(ctx context.Context, p *Principal, appid string, meta Meta) error {
	return i.store.Update(ctx, func(tx wxlogin.Tx) error {
		ids, err := tx.IdentitiesByUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		var target *wxlogin.Identity
		for _, id := range ids {
			if id.AppID == appid {
				target = id
			}
		}
		if target == nil {
			return wxlogin.Errorf(wxlogin.ENOTFOUND, "no WeChat identity at app %q", appid)
		}
		if len(ids) == 1 {
			if _, err := tx.AccountByUser(ctx, p.UserID); wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
				return wxlogin.Errorf(wxlogin.EFORBIDDEN, "this is the user's last way to log in: set up a username and password first")
			} else if err != nil {
				return err
			}
		}
		if err := tx.DeleteIdentity(ctx, target.AppID, target.OpenID); err != nil {
			return err
		}
		now := i.now()
		// The unbound identity takes its access with it: the unionid it brought (unless another
		// identity carries it too) and the sessions of that app.
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		if u.UnionID != "" && u.UnionID == target.UnionID {
			keep := false
			for _, id := range ids {
				if id != target && id.UnionID == u.UnionID {
					keep = true
				}
			}
			if !keep {
				u.UnionID, u.UpdatedAt = "", now
				if err := tx.UpdateUser(ctx, u); err != nil {
					return err
				}
			}
		}
		sessions, err := tx.SessionsByUser(ctx, p.UserID)
		if err != nil {
			return err
		}
		for _, sess := range sessions {
			if sess.AppID == appid && sess.Method != "password" && sess.Active(now) {
				sess.RevokedAt = now
				if err := tx.UpdateSession(ctx, sess); err != nil {
					return err
				}
			}
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "identity.unbind", ActorID: p.UserID, UserID: p.UserID,
			AppID: appid, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("openid", target.OpenID)})
	})
}

// ProfileUpdate is what PATCH /v1/me may change (nil: leave as is).
type ProfileUpdate struct {
	Nickname  *string
	AvatarURL *string
}

// validNickname returns EINVALID unless n is at most 64 characters of printable text.
func validNickname(n string) error {
	if !utf8.ValidString(n) || utf8.RuneCountInString(n) > 64 {
		return wxlogin.Errorf(wxlogin.EINVALID, "nickname must be at most 64 characters")
	}
	if !wxlogin.ValidDisplayText(n) {
		return wxlogin.Errorf(wxlogin.EINVALID, "nickname must not contain control or format characters (bidi overrides, zero-width characters)")
	}
	return nil
}

// validAvatarURL returns EINVALID unless u is "" or an https URL of at most 1024 bytes that
// wxlogin.ValidURL accepts (no quotes, spaces, control or format characters).
func validAvatarURL(u string) error {
	if u == "" {
		return nil
	}
	if len(u) > 1024 || !wxlogin.ValidURL(u) {
		return wxlogin.Errorf(wxlogin.EINVALID, "avatar_url must be an https URL of at most 1024 bytes, without quotes, spaces, control or format characters")
	}
	return nil
}

// UpdateProfile sets the nickname and avatar the mini program collected with the fill-in
// components (button open-type="chooseAvatar", input type="nickname"). Errors: EINVALID.
func (i *Identities) UpdateProfile(ctx context.Context, p *Principal, up ProfileUpdate, meta Meta) (*Profile, error) {
	if up.Nickname != nil {
		*up.Nickname = strings.TrimSpace(*up.Nickname)
		if err := validNickname(*up.Nickname); err != nil {
			return nil, err
		}
	}
	if up.AvatarURL != nil {
		if err := validAvatarURL(*up.AvatarURL); err != nil {
			return nil, err
		}
	}
	err := i.store.Update(ctx, func(tx wxlogin.Tx) error {
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		if up.Nickname != nil {
			u.Nickname = *up.Nickname
		}
		if up.AvatarURL != nil {
			u.AvatarURL = *up.AvatarURL
		}
		u.UpdatedAt = i.now()
		return tx.UpdateUser(ctx, u)
	})
	if err != nil {
		return nil, err
	}
	return i.Me(ctx, p)
}

// identityFor returns the principal's identity at app and its session_key (opened).
// Errors: EINVALID (no identity at that app).
func (i *Identities) identityFor(ctx context.Context, p *Principal, appid string) (AppClient, *wxlogin.Identity, wxlogin.Secret, error) {
	if appid == "" && p.AppID != "" {
		appid = p.AppID
	}
	app, err := i.app(appid)
	if err != nil {
		return AppClient{}, nil, "", err
	}
	ids, err := i.store.IdentitiesByUser(ctx, p.UserID)
	if err != nil {
		return AppClient{}, nil, "", err
	}
	for _, id := range ids {
		if id.AppID == app.App.ID {
			if len(id.SessionKey) == 0 { // e.g. a Cloud Run login: WeChat never gave us a key
				return AppClient{}, nil, "", wxlogin.Errorf(wxlogin.ESESSIONKEYSTALE, "no session_key is known for this user: call wx.login and log in with the code, then resend")
			}
			key, err := i.sealer.Open(id.SessionKey, SessionKeyAD(id.AppID, id.OpenID))
			if err != nil {
				// Its data key was removed from data_keys too early (or the row is damaged): a new
				// login stores a fresh session_key under the current key.
				i.log.WarnContext(ctx, "stored session_key cannot be opened: is the data key that sealed it still in data_keys?", "appid", id.AppID)
				return AppClient{}, nil, "", wxlogin.Errorf(wxlogin.ESESSIONKEYSTALE, "the stored session_key can no longer be read: call wx.login, log in again with the code, then resend")
			}
			return app, id, wxlogin.Secret(key), nil
		}
	}
	return AppClient{}, nil, "", wxlogin.Errorf(wxlogin.EINVALID, "this user has no WeChat identity at app %s: log in with WeChat there first", app.App.ID)
}

// decryptFailure decides what a failed decrypt means: the session_key was replaced or expired
// (ESESSIONKEYSTALE: log in again with a fresh code and resend), or the data itself is bad
// (EINVALID). It asks WeChat's checksession when it can; every failure of the decrypt itself looks
// the same here, so the answer reveals nothing about padding.
func (i *Identities) decryptFailure(ctx context.Context, app AppClient, id *wxlogin.Identity, key wxlogin.Secret) error {
	stale := wxlogin.Errorf(wxlogin.ESESSIONKEYSTALE, "the encrypted data does not decrypt with the current session_key: call wx.login, log in again, then get and send the data again")
	err := app.WeChat.CheckSessionKey(ctx, id.OpenID, key)
	switch {
	case err == nil:
		return wxlogin.Errorf(wxlogin.EINVALID, "the encrypted data is invalid")
	case sessionKeyRejected(err):
		return stale
	default:
		// checksession itself failed: the likeliest cause of a decrypt failure is a replaced key,
		// and logging in again is harmless.
		i.log.WarnContext(ctx, "checksession failed while explaining a decrypt failure", "appid", app.App.ID, "errcode", wechat.APICode(err))
		return stale
	}
}

// EncryptedData is encrypted open data sent by the mini program.
type EncryptedData struct {
	AppID         string
	EncryptedData string
	IV            string
	RawData       string // optional; checked against Signature when given
	Signature     string
}

// validEncrypted returns EINVALID when the fields are missing or absurdly long (their content is
// checked only by decryption, so that every bad content fails the same way).
func validEncrypted(d EncryptedData) error {
	if d.EncryptedData == "" || d.IV == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "encrypted_data and iv are required")
	}
	if len(d.EncryptedData) > 16<<10 || len(d.IV) > 64 || len(d.RawData) > 16<<10 || len(d.Signature) > 128 {
		return wxlogin.Errorf(wxlogin.EINVALID, "encrypted_data, iv, raw_data or signature is too long")
	}
	if (d.RawData == "") != (d.Signature == "") {
		return wxlogin.Errorf(wxlogin.EINVALID, "raw_data and signature go together")
	}
	return nil
}

// UpdateProfileFromWeChat decrypts user info (wx.getUserInfo) with the stored session_key, checks
// the rawData signature when given and the watermark, stores nickname and avatar, and links the
// unionid under the merge policy. Errors: EINVALID, ESESSIONKEYSTALE, ECONFLICT (unionid of another
// user who is not bare; audited).
func (i *Identities) UpdateProfileFromWeChat(ctx context.Context, p *Principal, d EncryptedData, meta Meta) (*Profile, error) {
	if err := validEncrypted(d); err != nil {
		return nil, err
	}
	app, id, key, err := i.identityFor(ctx, p, d.AppID)
	if err != nil {
		return nil, err
	}
	if d.Signature != "" && !wechat.VerifyRawDataSignature(d.RawData, d.Signature, key) {
		return nil, i.decryptFailure(ctx, app, id, key)
	}
	info, err := wechat.DecryptUserInfo(app.App.ID, key, d.EncryptedData, d.IV)
	if err != nil {
		return nil, i.decryptFailure(ctx, app, id, key)
	}
	if info.OpenID != "" && info.OpenID != id.OpenID {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "the encrypted data is invalid")
	}
	survivorID := p.UserID
	err = i.update(ctx, func(tx wxlogin.Tx) error {
		survivorID = p.UserID
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		now := i.now()
		if info.NickName != "" && validNickname(info.NickName) == nil {
			u.Nickname = info.NickName
		}
		if info.AvatarURL != "" && validAvatarURL(info.AvatarURL) == nil {
			u.AvatarURL = info.AvatarURL
		}
		u.UpdatedAt = now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if info.UnionID != "" {
			ident, err := tx.Identity(ctx, id.AppID, id.OpenID)
			if err != nil {
				return err
			}
			if ident.UnionID == "" {
				ident.UnionID, ident.UpdatedAt = info.UnionID, now
				if err := tx.UpdateIdentity(ctx, ident); err != nil {
					return err
				}
			}
			linked, err := i.linkUnionID(ctx, tx, u, info.UnionID, principalOrigin(p, meta).at(app.App.ID))
			if err != nil {
				return err
			}
			survivorID = linked.ID
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "profile.wechat", ActorID: p.UserID, UserID: p.UserID,
			AppID: app.App.ID, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("unionid_learned", boolString(info.UnionID != ""))})
	})
	if err != nil {
		return nil, err
	}
	return i.Me(ctx, &Principal{UserID: survivorID, SessionID: p.SessionID, AppID: p.AppID})
}

// LinkPaidUnionID asks WeChat for the unionid of the principal's identity at appid through a
// payment made within the last 5 minutes (getPaidUnionId), and links it under the merge policy.
// Errors: EINVALID, ECONFLICT, EUPSTREAM (89002 not bound, 89300 invalid trade → EINVALID).
func (i *Identities) LinkPaidUnionID(ctx context.Context, p *Principal, appid, transactionID string, meta Meta) (*Profile, error) {
	if transactionID == "" || len(transactionID) > 64 {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "transaction_id is required (at most 64 characters)")
	}
	app, id, _, err := i.identityFor(ctx, p, appid)
	if err != nil {
		return nil, err
	}
	unionid, err := app.WeChat.GetPaidUnionID(ctx, id.OpenID, transactionID)
	if err != nil {
		return nil, wechatError(callPaidUnionID, err)
	}
	if unionid == "" {
		return nil, wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat answered without a unionid")
	}
	survivorID := p.UserID
	err = i.update(ctx, func(tx wxlogin.Tx) error {
		survivorID = p.UserID
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		ident, err := tx.Identity(ctx, id.AppID, id.OpenID)
		if err != nil {
			return err
		}
		if ident.UnionID == "" {
			ident.UnionID, ident.UpdatedAt = unionid, i.now()
			if err := tx.UpdateIdentity(ctx, ident); err != nil {
				return err
			}
		}
		linked, err := i.linkUnionID(ctx, tx, u, unionid, principalOrigin(p, meta).at(id.AppID))
		if err != nil {
			return err
		}
		survivorID = linked.ID
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: i.now(), Type: "unionid.paid", ActorID: p.UserID, UserID: p.UserID,
			AppID: id.AppID, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent})
	})
	if err != nil {
		return nil, err
	}
	return i.Me(ctx, &Principal{UserID: survivorID, SessionID: p.SessionID, AppID: p.AppID})
}

// Profile is a user as the user sees themselves.
type Profile struct {
	User       *wxlogin.User
	Username   string
	Identities []*wxlogin.Identity
}

// Me returns the profile of the principal's user. Errors: EUNAUTHORIZED (user gone).
func (i *Identities) Me(ctx context.Context, p *Principal) (*Profile, error) {
	return i.store.cachedProfile(ctx, p.UserID, i.profile)
}

// profile reads a user's profile from the store. Errors: EUNAUTHORIZED (user gone), the store's.
func (i *Identities) profile(ctx context.Context, userID string) (*Profile, error) {
	u, err := i.store.User(ctx, userID)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errUnauthorized
	} else if err != nil {
		return nil, err
	}
	prof := &Profile{User: u}
	if a, err := i.store.AccountByUser(ctx, u.ID); err == nil {
		prof.Username = a.Username
	} else if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		return nil, err
	}
	if prof.Identities, err = i.store.IdentitiesByUser(ctx, u.ID); err != nil {
		return nil, err
	}
	for _, id := range prof.Identities {
		id.SessionKey = nil // a profile never needs it, and profiles are cached
	}
	return prof, nil
}
