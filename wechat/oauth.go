package wechat

import (
	"context"
	"net/http"
	"net/url"

	"github.com/wxlogin/wxlogin"
)

// Web OAuth (official-account pages, website QR login, mobile apps' SDK login): the app's Client
// exchanges the code the browser or the WeChat SDK brought back. None of these calls is retried:
// a code and a refresh exchange are single use or replace the token, and a user's OAuth token is
// checked against the live grant; each GET is sent non-replayable (see Retries in the package doc).

// OAuth scopes.
const (
	ScopeBase     = "snsapi_base"     // official account: openid only, no consent page
	ScopeUserInfo = "snsapi_userinfo" // official account or mobile app: profile after consent
	ScopeLogin    = "snsapi_login"    // website QR login
)

// OAuthToken is the answer of a web OAuth code exchange or refresh. AccessToken and RefreshToken are
// the user's credentials for this app: never returned to anyone, never logged. UnionID is set when
// the app is bound to an open platform and the scope allows it (snsapi_userinfo, snsapi_login; for
// snsapi_base only when the user already authorized the app). SnapshotUser marks a snapshot-page
// visitor whose OpenID is a virtual one: never create or bind a user for it.
type OAuthToken struct {
	AccessToken  wxlogin.Secret
	ExpiresIn    int64 // seconds
	RefreshToken wxlogin.Secret
	OpenID       string
	Scope        string
	UnionID      string
	SnapshotUser bool
}

type oauthTokenResponse struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int64  `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	UnionID        string `json:"unionid"`
	IsSnapshotUser int    `json:"is_snapshotuser"`
}

func (r *oauthTokenResponse) token(api string) (*OAuthToken, error) {
	switch {
	case r.AccessToken == "":
		return nil, incomplete(api, "access_token")
	case r.OpenID == "":
		return nil, incomplete(api, "openid")
	}
	return &OAuthToken{AccessToken: wxlogin.Secret(r.AccessToken), ExpiresIn: r.ExpiresIn, RefreshToken: wxlogin.Secret(r.RefreshToken),
		OpenID: r.OpenID, Scope: r.Scope, UnionID: r.UnionID, SnapshotUser: r.IsSnapshotUser == 1}, nil
}

// OAuthExchange exchanges a web OAuth code (from /connect/oauth2/authorize, /connect/qrconnect or
// the WeChat SDK) at GET /sns/oauth2/access_token. Never retried: the code works once. Errors:
// *APIError 40029 (IsInvalidCode), 40163 (IsCodeUsed), 41008 (IsMissingCode), 40125 (wrong secret),
// 40013, -1; *TransportError.
func (c *Client) OAuthExchange(ctx context.Context, code string) (*OAuthToken, error) {
	var out oauthTokenResponse
	err := c.do(ctx, call{
		api:    apiOAuthToken,
		method: http.MethodGet,
		query: url.Values{
			"appid":      {c.appid},
			"secret":     {c.secret.Reveal()},
			"code":       {code},
			"grant_type": {"authorization_code"},
		},
		sensitive: []string{c.secret.Reveal(), code},
		noReplay:  true,
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.token(apiOAuthToken)
}

// OAuthRefresh renews a user's OAuth access token with its refresh token (valid 30 days) at GET
// /sns/oauth2/refresh_token; the answer carries a new access token. Never retried. Errors: *APIError
// 40030, 42002 (IsRefreshTokenInvalid: unknown or expired refresh_token), 40013, -1; *TransportError.
func (c *Client) OAuthRefresh(ctx context.Context, refreshToken wxlogin.Secret) (*OAuthToken, error) {
	var out oauthTokenResponse
	err := c.do(ctx, call{
		api:    apiOAuthRefresh,
		method: http.MethodGet,
		query: url.Values{
			"appid":         {c.appid},
			"grant_type":    {"refresh_token"},
			"refresh_token": {refreshToken.Reveal()},
		},
		sensitive: []string{refreshToken.Reveal()},
		noReplay:  true,
	}, &out)
	if err != nil {
		return nil, err
	}
	return out.token(apiOAuthRefresh)
}

// OAuthUserProfile is the answer of /sns/userinfo. Sex: 0 unknown, 1 male, 2 female.
type OAuthUserProfile struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid"`
}

// OAuthUserInfo returns the profile of the user behind accessToken (snsapi_userinfo or snsapi_login
// only) at GET /sns/userinfo. Never retried. Errors: *APIError 48001 (IsScopeUnauthorized: a
// snsapi_base token), 40001/42001 (IsOAuthTokenInvalid: the user's token is unknown or expired), 40003 (openid not the
// token's), 41001, -1; *TransportError.
func (c *Client) OAuthUserInfo(ctx context.Context, accessToken wxlogin.Secret, openid string) (*OAuthUserProfile, error) {
	var out OAuthUserProfile
	err := c.do(ctx, call{
		api:       apiOAuthUserInfo,
		method:    http.MethodGet,
		query:     url.Values{"access_token": {accessToken.Reveal()}, "openid": {openid}, "lang": {"zh_CN"}},
		sensitive: []string{accessToken.Reveal()},
		noReplay:  true,
	}, &out)
	if err != nil {
		return nil, err
	}
	if out.OpenID == "" {
		return nil, incomplete(apiOAuthUserInfo, "openid")
	}
	return &out, nil
}

// OAuthCheck reports whether a user's OAuth access token is still valid for openid (GET /sns/auth);
// nil means it is. Never retried. Errors: *APIError 40001/42001 (IsOAuthTokenInvalid), 40003
// (openid not the token's), 41001, -1; *TransportError.
func (c *Client) OAuthCheck(ctx context.Context, accessToken wxlogin.Secret, openid string) error {
	var out struct{}
	return c.do(ctx, call{
		api:       apiOAuthCheck,
		method:    http.MethodGet,
		query:     url.Values{"access_token": {accessToken.Reveal()}, "openid": {openid}},
		sensitive: []string{accessToken.Reveal()},
		noReplay:  true,
	}, &out)
}
