package http

import (
	"context"
	"net/http"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// WebLogins are the WeChat web doors (docs/wechat-api.md §9): the web OAuth code of an official
// account, a website or a mobile app.
type WebLogins interface {
	LoginOAuth(ctx context.Context, in auth.OAuthLogin, meta auth.Meta) (*auth.Login, error)
}

type loginOAuthRequest struct {
	AppID string `json:"appid"`
	Code  string `json:"code"`
}

func (r *loginOAuthRequest) Valid() error {
	switch {
	case r.AppID == "":
		return wxlogin.Errorf(wxlogin.EINVALID, "appid is required: the official account, website or mobile app the code is for")
	case r.Code == "":
		return wxlogin.Errorf(wxlogin.EINVALID, "code is required: the code WeChat's authorize page or SDK handed back")
	}
	return nil
}

func (r *loginOAuthRequest) limitInput() limitInput { return limitInput{appID: r.AppID} }

// handleLoginOAuth answers POST /v1/login/wechat/oauth {appid, code}: the login state, as
// POST /v1/login/wechat does.
func (s *server) handleLoginOAuth() http.Handler {
	return loginHandler(s, func(r *http.Request, req *loginOAuthRequest) (*auth.Login, error) {
		return s.svc.LoginOAuth(r.Context(), auth.OAuthLogin{AppID: req.AppID, Code: req.Code}, s.meta(r))
	})
}
