package http

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// WebLogins are the WeChat web doors (docs/wechat-api.md §9): the web OAuth code of an official
// account, a website or a mobile app, and the browser redirect flow (auth/webflow.go).
type WebLogins interface {
	LoginOAuth(ctx context.Context, in auth.OAuthLogin, meta auth.Meta) (*auth.Login, error)
	StartWeb(ctx context.Context, in auth.WebStart) (*auth.WebRedirect, error)
	FinishWeb(ctx context.Context, in auth.WebCallback, meta auth.Meta) (*auth.WebResult, error)
	IssueLoginCode(ctx context.Context, r *auth.WebResult) (string, error)
	ExchangeLoginCode(ctx context.Context, code string, meta auth.Meta) (*auth.Login, error)
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

// The browser redirect flow, for web pages without a front-end of their own:
//
//	GET  /v1/oauth/wechat/authorize?appid&redirect_uri&state&scope → 302 to WeChat's authorize page,
//	     with a cookie binding the flow to the browser;
//	GET  /v1/oauth/wechat/callback?code&state (WeChat's redirect) → 302 to redirect_uri?login_code&state,
//	     or redirect_uri?error&state when the login failed there;
//	POST /v1/login/exchange {login_code} → the login state.
//
// A request whose state or redirect URI cannot be trusted gets a JSON error, never a redirect.

// webCookiePrefix names the cookie binding one flow to the browser: the prefix and a hash of the
// flow's state, so flows started in several tabs do not overwrite each other's.
const webCookiePrefix = "wxlogin_wx_"

func webCookieName(state string) string { return webCookiePrefix + hashKey(state)[:16] }

// handleWebAuthorize answers GET /v1/oauth/wechat/authorize: 302 to WeChat's authorize page.
func (s *server) handleWebAuthorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for _, k := range []string{"appid", "redirect_uri"} {
			if q.Get(k) == "" {
				s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "%s is required", k))
				return
			}
		}
		red, err := s.svc.StartWeb(r.Context(), auth.WebStart{AppID: q.Get("appid"), RedirectURI: q.Get("redirect_uri"),
			State: q.Get("state"), Scope: q.Get("scope"), CallbackURL: s.webCallbackURL(r)})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		u, _ := url.Parse(red.URL)
		http.SetCookie(w, &http.Cookie{Name: webCookieName(u.Query().Get("state")), Value: red.Browser, Path: "/v1/oauth/wechat/",
			MaxAge: int(red.ExpiresAt.Sub(s.cfg.Now()) / time.Second), HttpOnly: true, Secure: s.https(r), SameSite: http.SameSiteLaxMode})
		noStore(w)
		found(w, red.URL)
	})
}

// handleWebCallback answers GET /v1/oauth/wechat/callback, where WeChat sends the browser back.
func (s *server) handleWebCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		state := q.Get("state")
		var browser string
		if state != "" {
			if c, err := r.Cookie(webCookieName(state)); err == nil {
				browser = c.Value
			}
			http.SetCookie(w, &http.Cookie{Name: webCookieName(state), Path: "/v1/oauth/wechat/", MaxAge: -1, HttpOnly: true,
				Secure: s.https(r), SameSite: http.SameSiteLaxMode})
		}
		res, err := s.svc.FinishWeb(r.Context(), auth.WebCallback{State: state, Code: q.Get("code"), Browser: browser}, s.meta(r))
		if res == nil {
			if err == nil {
				err = wxlogin.Errorf(wxlogin.EINTERNAL, "internal error")
			}
			s.writeError(w, r, err)
			return
		}
		back := url.Values{}
		if err == nil {
			var code string
			if code, err = s.svc.IssueLoginCode(r.Context(), res); err == nil {
				back.Set("login_code", code)
			}
		}
		if err != nil {
			code := wxlogin.ErrorCode(err)
			if code == wxlogin.EFORBIDDEN && q.Get("code") == "" {
				code = "access_denied"
			}
			back.Set("error", code)
		}
		if res.State != "" {
			back.Set("state", res.State)
		}
		noStore(w)
		found(w, withQuery(res.RedirectURI, back))
	})
}

type exchangeRequest struct {
	LoginCode string `json:"login_code"`
}

func (r *exchangeRequest) Valid() error {
	if r.LoginCode == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "login_code is required: the one the browser login brought back")
	}
	return nil
}

// handleLoginExchange answers POST /v1/login/exchange {login_code}: the login state.
func (s *server) handleLoginExchange() http.Handler {
	return loginHandler(s, func(r *http.Request, req *exchangeRequest) (*auth.Login, error) {
		return s.svc.ExchangeLoginCode(r.Context(), req.LoginCode, s.meta(r))
	})
}

// webCallbackURL returns the callback WeChat sends browsers back to: the configured one, else this
// request's scheme and host.
func (s *server) webCallbackURL(r *http.Request) string {
	if s.cfg.WebCallbackURL != "" {
		return s.cfg.WebCallbackURL
	}
	scheme := "http"
	if s.https(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/v1/oauth/wechat/callback"
}

// https reports whether the browser reached this request over HTTPS.
func (s *server) https(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if s.cfg.WebCallbackURL != "" {
		return strings.HasPrefix(s.cfg.WebCallbackURL, "https:")
	}
	return s.cfg.TrustProxyHeaders && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// withQuery returns uri with the values added to its query.
func withQuery(uri string, v url.Values) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri // registered URIs are parsed when configured
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// found answers 302 to u, without a body.
func found(w http.ResponseWriter, u string) {
	w.Header().Set("Location", u)
	w.WriteHeader(http.StatusFound)
}
