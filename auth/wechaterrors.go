package auth

import (
	"context"
	"errors"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// wechatCall names the WeChat call an error came from: some errcodes mean something only for one
// call (40003 "invalid openid" is a phone code of another user on getuserphonenumber, and no
// recent payment on getpaidunionid).
type wechatCall int

const (
	callCode2Session wechatCall = iota
	callPhoneOfUser             // getuserphonenumber for a logged-in user's identity
	callPhoneLogin              // getuserphonenumber to log in by phone
	callPaidUnionID             // getpaidunionid
	callRiskRank                // getuserriskrank before a sign-up
	callOAuth                   // the web OAuth exchange and userinfo (oauth.go)
)

// wechatError maps an error of the WeChat client to a wxlogin error: the one place that maps
// WeChat's errcodes to ours. Errors: EINVALIDCODE (40029, 40163; 40003/40013 for phone codes),
// EUSERBLOCKED (40226), EINVALID (getpaidunionid's 89300, 40003, 89002), EUPSTREAMUNAVAIL
// (temporary: busy, quota, transport; with RetryAfter), EUPSTREAM (anything else).
func wechatError(call wechatCall, err error) error {
	code := wechat.APICode(err)
	switch {
	case err == nil:
		return nil
	case call == callPhoneOfUser && (code == 40003 || code == 40013):
		return wxlogin.Errorf(wxlogin.EINVALIDCODE, "the phone code belongs to another user or app")
	case call == callPhoneLogin && (code == 40003 || code == 40013):
		return wxlogin.Errorf(wxlogin.EINVALIDCODE, "the phone code belongs to another app")
	case call == callPaidUnionID && (code == 89300 || code == 40003):
		return wxlogin.Errorf(wxlogin.EINVALID, "WeChat knows no recent payment of this user with that transaction_id")
	case call == callPaidUnionID && code == 89002:
		return wxlogin.Errorf(wxlogin.EINVALID, "this app is not bound to a WeChat Open Platform account: no unionid exists")
	case call == callOAuth && (wechat.IsInvalidCode(err) || wechat.IsCodeUsed(err) || wechat.IsMissingCode(err)):
		return wxlogin.Errorf(wxlogin.EINVALIDCODE, "the code is invalid, expired or already used: sign in with WeChat again")
	case wechat.IsInvalidCode(err), wechat.IsCodeUsed(err):
		return wxlogin.Errorf(wxlogin.EINVALIDCODE, "the code is invalid, expired or already used: call wx.login again")
	case wechat.IsUserBlocked(err):
		return wxlogin.Errorf(wxlogin.EUSERBLOCKED, "WeChat blocked this login as high-risk")
	case wechat.IsTemporary(err), errors.Is(err, context.DeadlineExceeded):
		retry := 2 * time.Second
		var te *wechat.TransportError
		if errors.As(err, &te) && te.RetryAfter > retry {
			retry = te.RetryAfter // the circuit breaker knows when WeChat will be tried again
		}
		return &wxlogin.Error{Code: wxlogin.EUPSTREAMUNAVAIL, Message: "WeChat is unavailable, try again shortly", RetryAfter: retry}
	default:
		return wxlogin.Errorf(wxlogin.EUPSTREAM, "WeChat returned an error")
	}
}

// sessionKeyRejected reports whether checksession's err says the session_key is no longer
// current (87009 invalid signature, or expired): the other half of the errcode mapping.
func sessionKeyRejected(err error) bool {
	return wechat.IsInvalidSignature(err) || wechat.IsSessionKeyExpired(err)
}
