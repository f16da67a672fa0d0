package wechat_test

import (
	"fmt"
	"testing"

	"github.com/wxlogin/wxlogin/wechat"
)

func TestEdgePredicates(t *testing.T) {
	e := func(code int, api string) error {
		return fmt.Errorf("wrapped: %w", &wechat.APIError{Code: code, API: api})
	}
	tests := []struct {
		name string
		pred func(error) bool
		yes  []error
		no   []error
	}{
		{"IsMissingCode", wechat.IsMissingCode, []error{e(41008, "/sns/oauth2/access_token")}, []error{e(40029, "/sns/oauth2/access_token")}},
		{"IsInvalidOpenID", wechat.IsInvalidOpenID, []error{e(40003, "/sns/auth")}, []error{e(40013, "/sns/auth")}},
		{"IsScopeUnauthorized", wechat.IsScopeUnauthorized, []error{e(48001, "/sns/userinfo")}, []error{e(40001, "/sns/userinfo")}},
		{"IsRefreshTokenInvalid", wechat.IsRefreshTokenInvalid, []error{e(40030, "/sns/oauth2/refresh_token"), e(42002, "/sns/oauth2/refresh_token")}, []error{e(42001, "/sns/oauth2/refresh_token")}},
		{"IsInvalidScene", wechat.IsInvalidScene, []error{e(40169, "/wxa/getwxacodeunlimit")}, []error{e(41030, "/wxa/getwxacodeunlimit")}},
		{"IsInvalidPage", wechat.IsInvalidPage, []error{e(41030, "/wxa/getwxacodeunlimit")}, []error{e(40169, "/wxa/getwxacodeunlimit")}},
		{"IsOAuthTokenInvalid", wechat.IsOAuthTokenInvalid,
			[]error{e(40001, "/sns/userinfo"), e(42001, "/sns/auth"), e(40014, "/sns/userinfo")},
			[]error{e(40001, "/wxa/checksession"), e(42001, "/wxa/getwxacodeunlimit"), e(48001, "/sns/userinfo")}},
		{"IsTokenInvalid", wechat.IsTokenInvalid,
			[]error{e(40001, "/wxa/getwxacodeunlimit"), e(42001, "/wxa/getuserriskrank"), e(40001, "/wxa/business/checkencryptedmsg")},
			[]error{e(40001, "/sns/userinfo"), e(42001, "/sns/auth"), e(40001, "/cgi-bin/stable_token")}},
	}
	for _, tt := range tests {
		for _, err := range tt.yes {
			if !tt.pred(err) {
				t.Errorf("%s(%v) = false", tt.name, err)
			}
		}
		for _, err := range append(tt.no, nil, fmt.Errorf("plain")) {
			if tt.pred(err) {
				t.Errorf("%s(%v) = true", tt.name, err)
			}
		}
	}
}
