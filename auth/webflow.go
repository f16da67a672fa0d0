package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// The browser redirect flow of official accounts and websites (docs/wechat-api.md §9), for pages
// without a front-end of their own:
//
//	StartWeb      → 302 to WeChat's authorize page (/connect/oauth2/authorize or /connect/qrconnect),
//	                carrying wxlogin's own state, bound to the browser by a cookie value;
//	FinishWeb     ← WeChat's redirect back with code and state: the state is taken (single use),
//	                the browser checked, the code exchanged through the web OAuth door (the same
//	                find-or-create-or-merge as every door); the result names the user and where to
//	                send the browser back;
//	IssueLoginCode  a one-time login_code (60 s) for that result, and
//	ExchangeLoginCode trades it for the login state.
//
// Every step between two requests is a wxlogin.WebTicket in the store, kept by the hash of the
// value the browser carries, so any instance finishes what another began. StartWeb and FinishWeb
// are what another front door reuses (the OpenID Connect provider's hosted login): it starts the
// flow with its own registered redirect URI, and on the way back gets the user from FinishWeb.

// WebConfig configures the browser redirect flow.
type WebConfig struct {
	// OpenBaseURL is the base of WeChat's browser pages (default DefaultOpenBaseURL).
	OpenBaseURL string
	// RedirectURIs are, by appid (an official account or a website), the URIs browsers may be
	// sent back to at the end of the flow: exact matches only.
	RedirectURIs map[string][]string
	// AllowLoopback also accepts any http://127.0.0.1:PORT/… or http://[::1]:PORT/… redirect URI
	// (RFC 8252 §7.3): development only (`wxlogin dev`).
	AllowLoopback bool
	// StateTTL is how long a started flow may take to come back (default 10 minutes).
	StateTTL time.Duration
}

// DefaultOpenBaseURL is the host of WeChat's browser pages.
const DefaultOpenBaseURL = "https://open.weixin.qq.com"

// LoginCodeTTL is the life of a login_code.
const LoginCodeTTL = 60 * time.Second

// The purposes of the flow's tickets.
const (
	ticketState     = "wechat_state"
	ticketLoginCode = "login_code"
)

// WebStart is the input of StartWeb.
type WebStart struct {
	AppID       string // an official account or a website
	RedirectURI string // where the browser goes back at the end: registered for the app
	State       string // the caller's state, handed back unchanged (at most 512 bytes)
	Scope       string // official accounts: snsapi_userinfo (default) or snsapi_base; websites: snsapi_login
	CallbackURL string // wxlogin's own callback (GET /v1/oauth/wechat/callback) that WeChat redirects to
}

// WebRedirect is where StartWeb sends the browser.
type WebRedirect struct {
	URL       string // WeChat's authorize page
	Browser   string // the value binding the flow to this browser (a cookie): FinishWeb wants it back
	ExpiresAt time.Time
}

// WebCallback is the input of FinishWeb: what WeChat's redirect brought back, and the browser's cookie.
type WebCallback struct {
	State   string
	Code    string // "" when the person refused
	Browser string
}

// WebResult is a finished WeChat browser login: who logged in, and where the browser goes back.
type WebResult struct {
	AppID       string
	RedirectURI string
	State       string // the caller's
	UserID      string
	OpenID      string
	NewUser     bool
}

type stateData struct {
	RedirectURI string `json:"redirect_uri"`
	State       string `json:"state"`
	Scope       string `json:"scope"`
	Browser     string `json:"browser"` // hex SHA-256 of the browser's cookie value
}

type loginCodeData struct {
	OpenID  string `json:"openid"`
	NewUser bool   `json:"new_user"`
}

// StartWeb begins a WeChat browser login at in.AppID and returns where to send the browser.
// Errors: EINVALID (unknown appid, not an official account or website, a redirect URI not
// registered for it, a scope it cannot ask for, a state too long, no callback URL).
func (d *Doors) StartWeb(ctx context.Context, in WebStart) (*WebRedirect, error) {
	app, err := d.app(in.AppID)
	if err != nil {
		return nil, err
	}
	kind := app.App.AppKind()
	if kind != wxlogin.KindOfficialAccount && kind != wxlogin.KindWebsite {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "app %s is a %s: the browser login is for official accounts and websites", app.App.ID, kind)
	}
	if !d.redirectAllowed(app.App.ID, in.RedirectURI) {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "redirect_uri is not registered for app %s (exact match)", app.App.ID)
	}
	if len(in.State) > 512 || strings.ContainsAny(in.State, "\x00") {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "state is at most 512 bytes")
	}
	scope, err := webScope(kind, in.Scope)
	if err != nil {
		return nil, err
	}
	cb, err := url.Parse(in.CallbackURL)
	if err != nil || (cb.Scheme != "https" && cb.Scheme != "http") || cb.Host == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "the callback URL is not an absolute http(s) URL")
	}
	state, browser := randomHex(24), randomHex(32)
	data, _ := json.Marshal(stateData{RedirectURI: in.RedirectURI, State: in.State, Scope: scope, Browser: hashHex(browser)})
	now := d.now()
	exp := now.Add(d.web.StateTTL)
	err = d.update(ctx, func(tx wxlogin.Tx) error {
		return tx.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: hashHex(state), Purpose: ticketState, AppID: app.App.ID,
			Data: string(data), CreatedAt: now, ExpiresAt: exp})
	})
	if err != nil {
		return nil, err
	}
	// WeChat wants the parameters in this order, and the #wechat_redirect fragment.
	page := "/connect/oauth2/authorize"
	if kind == wxlogin.KindWebsite {
		page = "/connect/qrconnect"
	}
	u := strings.TrimRight(d.web.OpenBaseURL, "/") + page + "?appid=" + url.QueryEscape(app.App.ID) +
		"&redirect_uri=" + url.QueryEscape(in.CallbackURL) + "&response_type=code&scope=" + scope +
		"&state=" + state + "#wechat_redirect"
	return &WebRedirect{URL: u, Browser: browser, ExpiresAt: exp}, nil
}

// FinishWeb ends a WeChat browser login: it takes the flow's state (once), checks the browser and
// exchanges the code through the web OAuth door. A nil result means the state is unknown, spent,
// expired or another browser's: send the browser nowhere. With a result and an error, send the
// browser back to its RedirectURI with the error.
// Errors: EINVALID (no result), EFORBIDDEN (the person refused: no code), and LoginOAuth's.
func (d *Doors) FinishWeb(ctx context.Context, in WebCallback, meta Meta) (*WebResult, error) {
	if in.State == "" || len(in.State) > 128 || in.Browser == "" || len(in.Browser) > 128 {
		return nil, errBadState
	}
	var t *wxlogin.WebTicket
	err := d.update(ctx, func(tx wxlogin.Tx) error {
		var err error
		t, err = tx.TakeWebTicket(ctx, ticketState, hashHex(in.State), d.now())
		return err
	})
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errBadState
	} else if err != nil {
		return nil, err
	}
	var sd stateData
	if err := json.Unmarshal([]byte(t.Data), &sd); err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashHex(in.Browser)), []byte(sd.Browser)) != 1 {
		d.audit(ctx, &wxlogin.AuditEvent{Type: "login.failure", AppID: t.AppID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", MethodOAuth, "reason", "state_of_another_browser")})
		return nil, errBadState
	}
	res := &WebResult{AppID: t.AppID, RedirectURI: sd.RedirectURI, State: sd.State}
	if in.Code == "" {
		return res, wxlogin.Errorf(wxlogin.EFORBIDDEN, "the person did not allow the WeChat login")
	}
	err = d.oauthDoor(ctx, OAuthLogin{AppID: t.AppID, Code: in.Code}, meta, func(ctx context.Context, tx wxlogin.Tx, app wxlogin.App, u *upsertResult, o origin, dedup bool) error {
		res.UserID, res.OpenID, res.NewUser = u.user.ID, u.identity.OpenID, u.created
		return nil
	})
	return res, err
}

var errBadState = wxlogin.Errorf(wxlogin.EINVALID, "the WeChat sign-in expired, was already used or began in another browser: start again")

// IssueLoginCode returns a one-time login_code (LoginCodeTTL) for a finished browser login, to be
// traded for the login state with ExchangeLoginCode. Errors: the store's.
func (d *Doors) IssueLoginCode(ctx context.Context, r *WebResult) (string, error) {
	code := randomHex(32)
	data, _ := json.Marshal(loginCodeData{OpenID: r.OpenID, NewUser: r.NewUser})
	now := d.now()
	err := d.update(ctx, func(tx wxlogin.Tx) error {
		return tx.CreateWebTicket(ctx, &wxlogin.WebTicket{Hash: hashHex(code), Purpose: ticketLoginCode, AppID: r.AppID,
			Data: string(data), CreatedAt: now, ExpiresAt: now.Add(LoginCodeTTL)})
	})
	if err != nil {
		return "", err
	}
	return code, nil
}

// ExchangeLoginCode trades a login_code for the login state of its WeChat identity's user (the
// user it belongs to now, should it have been merged meanwhile). The code works once.
// Errors: EINVALIDCODE (unknown, spent or expired), EFORBIDDEN (disabled user).
func (d *Doors) ExchangeLoginCode(ctx context.Context, code string, meta Meta) (*Login, error) {
	if code == "" || len(code) > 128 {
		return nil, errLoginCode
	}
	var login *Login
	err := d.update(ctx, func(tx wxlogin.Tx) error {
		login = nil
		t, err := tx.TakeWebTicket(ctx, ticketLoginCode, hashHex(code), d.now())
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
			return &final{err: errLoginCode}
		} else if err != nil {
			return err
		}
		var cd loginCodeData
		if err := json.Unmarshal([]byte(t.Data), &cd); err != nil {
			return err
		}
		o := loginOrigin(t.AppID, meta)
		id, err := tx.Identity(ctx, t.AppID, cd.OpenID)
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
			return &final{err: errLoginCode} // unbound meanwhile
		} else if err != nil {
			return err
		}
		user, err := tx.User(ctx, id.UserID)
		if err != nil {
			return err
		}
		if user.Disabled {
			return disabledLogin(user, MethodOAuth, o)
		}
		if login, err = d.startSession(ctx, tx, user, MethodOAuth, o); err != nil {
			return err
		}
		login.NewUser = cd.NewUser
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "login.success", ActorID: user.ID, UserID: user.ID,
			AppID: t.AppID, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", MethodOAuth, "flow", "redirect", "new_user", boolString(cd.NewUser))})
	})
	if err != nil {
		return nil, err
	}
	return d.signAccess(login)
}

var errLoginCode = wxlogin.Errorf(wxlogin.EINVALIDCODE, "the login_code is invalid, expired or already used: sign in again")

// redirectAllowed reports whether uri is registered for appid (exact match), or a loopback URI
// when those are allowed.
func (d *Doors) redirectAllowed(appid, uri string) bool {
	if uri == "" {
		return false
	}
	for _, r := range d.web.RedirectURIs[appid] {
		if r == uri {
			return true
		}
	}
	if !d.web.AllowLoopback {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback() && u.Port() != ""
}

// webScope returns the scope a browser login of kind asks for: official accounts snsapi_userinfo
// (default) or snsapi_base; websites snsapi_login. Errors: EINVALID.
func webScope(kind wxlogin.AppKind, scope string) (string, error) {
	switch {
	case kind == wxlogin.KindWebsite && (scope == "" || scope == wechat.ScopeLogin):
		return wechat.ScopeLogin, nil
	case kind == wxlogin.KindOfficialAccount && scope == "":
		return wechat.ScopeUserInfo, nil
	case kind == wxlogin.KindOfficialAccount && (scope == wechat.ScopeBase || scope == wechat.ScopeUserInfo):
		return scope, nil
	}
	return "", wxlogin.Errorf(wxlogin.EINVALID, "scope must be snsapi_userinfo or snsapi_base for an official account, snsapi_login for a website")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (w WebConfig) withDefaults() WebConfig {
	if w.OpenBaseURL == "" {
		w.OpenBaseURL = DefaultOpenBaseURL
	}
	if w.StateTTL <= 0 {
		w.StateTTL = 10 * time.Minute
	}
	return w
}

// PruneWebTickets deletes the browser flows' states and login_codes that expired before before
// (never used ones: a used ticket is gone already) and returns how many. Errors: the store's.
func (d *Doors) PruneWebTickets(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := d.store.Update(ctx, func(tx wxlogin.Tx) error {
		var err error
		n, err = tx.PruneWebTickets(ctx, before)
		return err
	})
	return n, err
}
