package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/wxlogin/wxlogin"
)

// Door is a way to sign in that the login page offers besides the password form: the WeChat
// doors (official-account OAuth inside WeChat, the open platform's website QR, the mini-program
// QR) register here when they land. The door's own handlers authenticate the user and then call
// Provider.CompleteLogin with the auth request id they were given.
//
// A door either has its own routes (URL) or is served by the provider (Serve, door.go): the
// latter plugs in with a few lines and no route of its own.
type Door struct {
	Name    string // DoorOfficialAccount, DoorWebsiteQR or DoorMiniProgramQR
	LabelEN string
	LabelZH string
	// URL returns where the login page sends the browser to take the door for an auth request.
	// nil: PathDoor + Name + "/start?id=<auth request id>", served by Serve.
	URL func(authRequestID string) string
	// Serve serves GET and POST PathDoor + Name + "/{step}": step "start" (with ?id=) first, then
	// the door's own steps (WeChat's redirect back, a QR code's poll). When it has its user it
	// calls done, which records the login and sends the browser on (to the consent step or back
	// to the client). Its steps must be bound to the browser that started (a cookie, as
	// auth.Doors.StartWeb's state is) and keep what they need in the store, not in memory.
	Serve func(w http.ResponseWriter, r *http.Request, step string, done DoneFunc)
}

// browserCookie names the login page's cookie: a random value that binds the forms (CSRF, as a
// double-submitted token) and the consent step to the browser that logged in.
const browserCookie = "wxlogin_oidc_browser"

const maxFormBytes = 16 << 10

type doorLink struct{ Label, URL string }

type page struct {
	Lang     string
	T        map[string]string
	Kind     string // "login", "consent", "error", "logged_out"
	Client   string
	ID       string
	CSRF     string
	Error    string
	Username string
	Password bool
	Doors    []doorLink
	Scopes   []string
}

func parsePages() (*template.Template, error) {
	return template.New("page").Parse(pageHTML)
}

// lang returns "zh" or "en" for the request's Accept-Language.
func (p *Provider) lang(r *http.Request) string {
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	_, i, _ := p.langMatcher.Match(tags...)
	if i == 1 {
		return "zh"
	}
	return "en"
}

func (p *Provider) render(w http.ResponseWriter, r *http.Request, status int, pg page) {
	pg.Lang = p.lang(r)
	pg.T = texts[pg.Lang]
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := p.pages.Execute(w, pg); err != nil {
		p.log.ErrorContext(r.Context(), "oidc: rendering the login page", "err", err)
	}
}

func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	p.render(w, r, status, page{Kind: "error", Error: texts[p.lang(r)][key]})
}

// browser returns the browser's cookie value, setting a new one when there is none.
func (p *Provider) browser(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("oidc: crypto/rand failed: " + err.Error())
	}
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: browserCookie, Value: v, Path: "/oidc/", HttpOnly: true,
		Secure: p.secure, SameSite: http.SameSiteLaxMode})
	return v
}

// checkForm reports whether the form's csrf field is the browser cookie, and returns the cookie.
func checkForm(r *http.Request) (string, bool) {
	c, err := r.Cookie(browserCookie)
	if err != nil || c.Value == "" {
		return "", false
	}
	got := r.PostFormValue("csrf")
	return c.Value, subtle.ConstantTimeCompare([]byte(got), []byte(c.Value)) == 1
}

func hashBrowser(v string) string {
	h := sha256.Sum256([]byte("wxlogin oidc browser\x00" + v))
	return hex.EncodeToString(h[:])
}

// pending returns the auth request id names while it may still be logged in to, with its client;
// otherwise it answers with an error page and returns nil.
func (p *Provider) pending(w http.ResponseWriter, r *http.Request, id string) (*AuthRequest, *Client) {
	if id == "" || len(id) > 64 {
		p.errorPage(w, r, http.StatusBadRequest, "unknown")
		return nil, nil
	}
	ar, err := p.store.AuthRequest(r.Context(), id)
	switch {
	case wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND:
		p.errorPage(w, r, http.StatusBadRequest, "unknown")
		return nil, nil
	case err != nil:
		p.internalError(w, r, "loading an auth request", err)
		return nil, nil
	case ar.CodeHash != "":
		p.errorPage(w, r, http.StatusBadRequest, "done")
		return nil, nil
	case p.now().After(ar.ExpiresAt):
		p.errorPage(w, r, http.StatusBadRequest, "expired")
		return nil, nil
	}
	c, err := p.clients.Client(r.Context(), ar.ClientID)
	if err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "unknown")
		return nil, nil
	}
	return ar, c
}

// inWeChat reports whether the request comes from WeChat's built-in browser.
func inWeChat(r *http.Request) bool {
	return strings.Contains(r.Header.Get("User-Agent"), "MicroMessenger")
}

// handleLoginPage shows the login page of an auth request (GET /oidc/login?id=), or its consent
// step once the user has logged in on this browser to a third-party client. Inside WeChat it goes
// straight to the official-account door when the client offers it.
func (p *Provider) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	ar, c := p.pending(w, r, id)
	if ar == nil {
		return
	}
	browser := p.browser(w, r)
	if ar.UserID != "" && c.ThirdParty && subtle.ConstantTimeCompare([]byte(ar.Browser), []byte(hashBrowser(browser))) == 1 {
		p.render(w, r, http.StatusOK, page{Kind: "consent", Client: c.Name, ID: id, CSRF: browser, Scopes: p.scopeTexts(r, ar.Scopes)})
		return
	}
	if d, ok := p.doors[DoorOfficialAccount]; ok && inWeChat(r) && c.OffersDoor(DoorOfficialAccount) {
		http.Redirect(w, r, d.url(id), http.StatusFound)
		return
	}
	p.loginForm(w, r, http.StatusOK, ar, c, browser, "", "")
}

// loginForm renders the login page with the doors the client offers here and the password form.
func (p *Provider) loginForm(w http.ResponseWriter, r *http.Request, status int, ar *AuthRequest, c *Client, browser, errKey, username string) {
	pg := page{Kind: "login", Client: c.Name, ID: ar.ID, CSRF: browser, Username: username,
		Password: p.passwords != nil && c.OffersDoor(DoorPassword)}
	zh := p.lang(r) == "zh"
	for _, name := range []string{DoorOfficialAccount, DoorMiniProgramQR, DoorWebsiteQR} {
		d, ok := p.doors[name]
		if !ok || !c.OffersDoor(name) || (name == DoorOfficialAccount && !inWeChat(r)) {
			continue
		}
		label := d.LabelEN
		if zh && d.LabelZH != "" {
			label = d.LabelZH
		}
		pg.Doors = append(pg.Doors, doorLink{Label: label, URL: d.url(ar.ID)})
	}
	if !pg.Password && len(pg.Doors) == 0 {
		p.errorPage(w, r, http.StatusBadRequest, "nodoor")
		return
	}
	if errKey != "" {
		pg.Error = texts[p.lang(r)][errKey]
	}
	p.render(w, r, status, pg)
}

// postedForm reads a form posted by the login page (at most maxFormBytes; its csrf field must be
// the browser cookie) and returns the browser cookie and the pending auth request its id field
// names, with its client. When any of these fails it answers (400 badform, 403 csrf, or what
// pending answers) and returns a nil request.
func (p *Provider) postedForm(w http.ResponseWriter, r *http.Request) (string, *AuthRequest, *Client) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "badform")
		return "", nil, nil
	}
	browser, ok := checkForm(r)
	if !ok {
		p.errorPage(w, r, http.StatusForbidden, "csrf")
		return "", nil, nil
	}
	ar, c := p.pending(w, r, r.PostFormValue("id"))
	return browser, ar, c
}

// handlePasswordLogin checks the password form (POST /oidc/login: id, csrf, username, password)
// and completes the auth request.
func (p *Provider) handlePasswordLogin(w http.ResponseWriter, r *http.Request) {
	browser, ar, c := p.postedForm(w, r)
	if ar == nil {
		return
	}
	if p.passwords == nil || !c.OffersDoor(DoorPassword) {
		p.errorPage(w, r, http.StatusBadRequest, "nodoor")
		return
	}
	username, password := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	if username == "" || password == "" || len(username) > 256 || len(password) > 1024 {
		p.loginForm(w, r, http.StatusBadRequest, ar, c, browser, "missing", username)
		return
	}
	userID, err := p.passwords.CheckPassword(r.Context(), username, password, remoteIP(r), r.UserAgent())
	switch wxlogin.ErrorCode(err) {
	case "":
	case wxlogin.ECREDENTIALS:
		p.loginForm(w, r, http.StatusUnauthorized, ar, c, browser, "credentials", username)
		return
	case wxlogin.ERATELIMITED:
		if d := wxlogin.RetryAfter(err); d > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds()+0.999)))
		}
		p.loginForm(w, r, http.StatusTooManyRequests, ar, c, browser, "ratelimited", username)
		return
	case wxlogin.EFORBIDDEN:
		p.loginForm(w, r, http.StatusForbidden, ar, c, browser, "disabled", username)
		return
	default:
		p.internalError(w, r, "checking a password", err)
		return
	}
	p.CompleteLogin(w, r, ar.ID, userID, []string{"pwd"})
}

// CompleteLogin records that userID authenticated (with the RFC 8176 amr values) for the auth
// request id, in the browser of r, and continues: to the consent step for a third-party client,
// else back to the client with a code. The WeChat doors call it when they have their user.
func (p *Provider) CompleteLogin(w http.ResponseWriter, r *http.Request, id, userID string, amr []string) {
	ar, c := p.pending(w, r, id)
	if ar == nil {
		return
	}
	browser := p.browser(w, r)
	err := p.store.CompleteAuthRequest(r.Context(), id, Login{UserID: userID, AMR: amr, AuthTime: p.now(),
		Browser: hashBrowser(browser), IP: remoteIP(r), UserAgent: r.UserAgent()})
	switch wxlogin.ErrorCode(err) {
	case "":
	case wxlogin.ENOTFOUND:
		p.errorPage(w, r, http.StatusBadRequest, "unknown")
		return
	case wxlogin.ECONFLICT:
		p.errorPage(w, r, http.StatusBadRequest, "done")
		return
	default:
		p.internalError(w, r, "completing an auth request", err)
		return
	}
	if c.ThirdParty {
		http.Redirect(w, r, loginURL(id), http.StatusSeeOther)
		return
	}
	ar.UserID = userID
	p.finish(w, r, ar)
}

// handleConsent takes the consent step's answer (POST /oidc/consent: id, csrf, decision).
func (p *Provider) handleConsent(w http.ResponseWriter, r *http.Request) {
	browser, ar, _ := p.postedForm(w, r)
	if ar == nil {
		return
	}
	if ar.UserID == "" || subtle.ConstantTimeCompare([]byte(ar.Browser), []byte(hashBrowser(browser))) != 1 {
		p.errorPage(w, r, http.StatusForbidden, "csrf")
		return
	}
	switch r.PostFormValue("decision") {
	case "allow":
		p.finish(w, r, ar)
	case "deny":
		p.redirectError(w, r, ar, oidc.ErrAccessDenied().WithDescription("the user denied the request"))
	default:
		p.errorPage(w, r, http.StatusBadRequest, "badform")
	}
}

// finish issues the request's code and sends the browser back to the client with it.
func (p *Provider) finish(w http.ResponseWriter, r *http.Request, ar *AuthRequest) {
	code := newCode()
	err := p.store.IssueCode(r.Context(), ar.ID, hashCode(code), p.now().Add(p.codeTTL))
	switch wxlogin.ErrorCode(err) {
	case "":
	case wxlogin.ECONFLICT:
		p.errorPage(w, r, http.StatusBadRequest, "done")
		return
	default:
		p.internalError(w, r, "issuing a code", err)
		return
	}
	p.respond(w, r, ar, &op.CodeResponseType{Code: code, State: ar.State})
}

type errorResponse struct {
	Error       string `schema:"error"`
	Description string `schema:"error_description,omitempty"`
	State       string `schema:"state,omitempty"`
}

// redirectError sends the browser back to the client with an error.
func (p *Provider) redirectError(w http.ResponseWriter, r *http.Request, ar *AuthRequest, e *oidc.Error) {
	p.respond(w, r, ar, &errorResponse{Error: string(e.ErrorType), Description: e.Description, State: ar.State})
}

// respond delivers an authorization response to the request's redirect URI, by redirect or by
// form post as the request asked.
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, ar *AuthRequest, resp any) {
	w.Header().Set("Cache-Control", "no-store")
	if oidc.ResponseMode(ar.ResponseMode) == oidc.ResponseModeFormPost {
		if err := op.AuthResponseFormPost(w, ar.RedirectURI, resp, p.op.Encoder()); err != nil {
			p.internalError(w, r, "form post response", err)
		}
		return
	}
	u, err := op.AuthResponseURL(ar.RedirectURI, oidc.ResponseTypeCode, oidc.ResponseModeQuery, resp, p.op.Encoder())
	if err != nil {
		p.internalError(w, r, "building the redirect", err)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// internalError logs err as what failed (never shown to the browser) and answers with the 500
// error page.
func (p *Provider) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	p.log.ErrorContext(r.Context(), "oidc: "+what, "err", err)
	p.errorPage(w, r, http.StatusInternalServerError, "internal")
}

func (p *Provider) handleLoggedOut(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, page{Kind: "logged_out"})
}

func (p *Provider) scopeTexts(r *http.Request, scopes []string) []string {
	t := texts[p.lang(r)]
	var out []string
	for _, s := range scopes {
		if v, ok := t["scope_"+s]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// remoteIP returns the host of r.RemoteAddr (wxlogin's middleware resolves trusted proxies first).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

var texts = map[string]map[string]string{
	"en": {
		"title": "Sign in", "signin_to": "Sign in to", "username": "Username", "password": "Password",
		"submit": "Sign in", "or": "or", "consent_title": "Allow access?", "consent_lead": "wants to",
		"allow": "Allow", "deny": "Deny", "logged_out": "You have signed out.", "error_title": "Something went wrong",
		"unknown": "This sign-in request is unknown. Go back to the site and start again.",
		"expired": "This sign-in request has expired. Go back to the site and start again.",
		"done":    "This sign-in request is already complete. Go back to the site.",
		"csrf":    "Your session on this page has expired. Reload the page and try again.",
		"badform": "The form could not be read.", "internal": "An internal error occurred. Try again later.",
		"nodoor":       "No way to sign in is configured for this site.",
		"missing":      "Enter your username and password.",
		"credentials":  "Wrong username or password.",
		"ratelimited":  "Too many attempts. Wait a moment and try again.",
		"disabled":     "This account is disabled.",
		"scope_openid": "know who you are", "scope_profile": "see your name and picture",
		"scope_phone": "see your phone number", "scope_offline_access": "stay signed in",
	},
	"zh": {
		"title": "登录", "signin_to": "登录到", "username": "用户名", "password": "密码",
		"submit": "登录", "or": "或", "consent_title": "是否授权？", "consent_lead": "申请",
		"allow": "允许", "deny": "拒绝", "logged_out": "您已退出登录。", "error_title": "出错了",
		"unknown": "未知的登录请求，请返回网站重新开始。",
		"expired": "登录请求已过期，请返回网站重新开始。",
		"done":    "该登录请求已完成，请返回网站。",
		"csrf":    "页面已过期，请刷新后重试。",
		"badform": "无法读取表单。", "internal": "服务器内部错误，请稍后重试。",
		"nodoor":       "该网站未配置任何登录方式。",
		"missing":      "请输入用户名和密码。",
		"credentials":  "用户名或密码错误。",
		"ratelimited":  "尝试次数过多，请稍后再试。",
		"disabled":     "该账号已被停用。",
		"scope_openid": "识别您的身份", "scope_profile": "获取您的昵称和头像",
		"scope_phone": "获取您的手机号", "scope_offline_access": "保持登录状态",
	},
}

const pageHTML = `<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.title}}</title>
<style>
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f5f5f5;margin:0;padding:16px;color:#222}
main{max-width:380px;margin:8vh auto;background:#fff;border-radius:8px;padding:24px;box-shadow:0 1px 4px rgba(0,0,0,.1)}
h1{font-size:20px;margin:0 0 16px}
label{display:block;margin:12px 0 4px;font-size:14px}
input{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ccc;border-radius:4px}
button,.door{display:block;width:100%;box-sizing:border-box;margin-top:16px;padding:12px;font-size:16px;border:0;border-radius:4px;background:#07c160;color:#fff;text-align:center;text-decoration:none}
button.deny{background:#999}
.err{color:#c00;font-size:14px;margin:8px 0}
.or{text-align:center;color:#999;margin-top:16px;font-size:14px}
</style>
</head>
<body><main>
{{if eq .Kind "login"}}
<h1>{{.T.signin_to}} {{.Client}}</h1>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{range .Doors}}<a class="door" href="{{.URL}}">{{.Label}}</a>{{end}}
{{if and .Doors .Password}}<p class="or">{{.T.or}}</p>{{end}}
{{if .Password}}
<form method="post" action="/oidc/login">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="username">{{.T.username}}</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}" required>
<label for="password">{{.T.password}}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{{.T.submit}}</button>
</form>
{{end}}
{{else if eq .Kind "consent"}}
<h1>{{.T.consent_title}}</h1>
<p><strong>{{.Client}}</strong> {{.T.consent_lead}}:</p>
<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/oidc/consent">
<input type="hidden" name="id" value="{{.ID}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit" name="decision" value="allow">{{.T.allow}}</button>
<button type="submit" name="decision" value="deny" class="deny">{{.T.deny}}</button>
</form>
{{else if eq .Kind "logged_out"}}
<h1>{{.T.logged_out}}</h1>
{{else}}
<h1>{{.T.error_title}}</h1>
<p class="err" role="alert">{{.Error}}</p>
{{end}}
</main></body>
</html>
`
