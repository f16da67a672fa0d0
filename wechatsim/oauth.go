package wechatsim

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Web OAuth paths (§9): the browser pages of open.weixin.qq.com and the API of api.weixin.qq.com,
// served by the one simulator.
const (
	PathOAuthAuthorize    = "/connect/oauth2/authorize"
	PathQRConnect         = "/connect/qrconnect"
	PathOAuthAccessToken  = "/sns/oauth2/access_token"
	PathOAuthRefreshToken = "/sns/oauth2/refresh_token"
	PathOAuthUserInfo     = "/sns/userinfo"
	PathOAuthAuth         = "/sns/auth"
)

// OAuth scopes.
const (
	ScopeBase     = "snsapi_base"
	ScopeUserInfo = "snsapi_userinfo"
	ScopeLogin    = "snsapi_login"
)

const (
	oauthTokenTTL   = 7200 * time.Second
	oauthRefreshTTL = 30 * 24 * time.Hour
	maxStateLen     = 128
)

var (
	errNoCode            = &wxError{41008, "missing code"}
	errBadRefreshToken   = &wxError{40030, "invalid refresh_token"}
	errRefreshExpired    = &wxError{42002, "refresh_token expired"}
	errUnauthorizedScope = &wxError{48001, "api unauthorized"}
)

type oauthCode struct {
	appid    string
	user     *userState
	scope    string
	snapshot bool
	issued   time.Time
	used     bool
}

// oauthGrant is what an OAuth access token or refresh token stands for.
type oauthGrant struct {
	appid    string
	user     *userState
	scope    string
	snapshot bool
	expires  time.Time
}

type oauthState struct {
	codes   map[string]*oauthCode
	tokens  map[string]*oauthGrant
	refresh map[string]*oauthGrant
}

func newOAuthState() oauthState {
	return oauthState{codes: map[string]*oauthCode{}, tokens: map[string]*oauthGrant{}, refresh: map[string]*oauthGrant{}}
}

func (s *Sim) pruneOAuthLocked(now time.Time) {
	for k, c := range s.oauth.codes {
		if now.Sub(c.issued) > time.Hour {
			delete(s.oauth.codes, k)
		}
	}
	for _, m := range []map[string]*oauthGrant{s.oauth.tokens, s.oauth.refresh} {
		for k, g := range m {
			if now.Sub(g.expires) > 24*time.Hour {
				delete(m, k)
			}
		}
	}
}

// openID returns the openid the grant reports: the user's, or a virtual one for a snapshot visit.
func (g *oauthGrant) openID() string {
	if g.snapshot {
		return SnapshotOpenID(g.appid, g.user.name)
	}
	return g.user.openid
}

// SnapshotOpenID returns the virtual openid WeChat reports for user's snapshot-page visits of appid
// (is_snapshotuser: 1); it differs from OpenID(appid, user).
func SnapshotOpenID(appid, user string) string { return deriveID("snapshot-openid", appid, user) }

// scopesFor returns the scopes an app of kind k may request, or nil when it does no web OAuth.
func scopesFor(k wxlogin.AppKind) []string {
	switch k {
	case wxlogin.KindOfficialAccount:
		return []string{ScopeBase, ScopeUserInfo}
	case wxlogin.KindWebsite:
		return []string{ScopeLogin}
	case wxlogin.KindMobileApp:
		return []string{ScopeUserInfo}
	}
	return nil
}

// OAuthCode plays the user's consent to a web OAuth request: it returns a code for user in appid
// with scope, valid 5 minutes and once, exchanged at /sns/oauth2/access_token. Official accounts take
// snsapi_base or snsapi_userinfo, websites snsapi_login, mobile apps (the WeChat SDK's SendAuth)
// snsapi_userinfo. snapshot makes it a snapshot-page visit (official accounts only): the exchange
// answers is_snapshotuser 1 with a virtual openid and no unionid. Errors: ENOTFOUND (unknown app),
// EINVALID (empty user, a mini program, a scope the app's kind cannot ask for, snapshot elsewhere).
func (s *Sim) OAuthCode(appid, user, scope string, snapshot bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appLocked(appid)
	if err != nil {
		return "", err
	}
	if err := checkScope(a.kind(), scope, snapshot); err != nil {
		return "", err
	}
	u, err := s.userLocked(a, user)
	if err != nil {
		return "", err
	}
	now := s.nowLocked()
	s.pruneLocked(now)
	if scope != ScopeBase && !snapshot {
		u.authorized = true
	}
	code := randomCode()
	s.oauth.codes[code] = &oauthCode{appid: appid, user: u, scope: scope, snapshot: snapshot, issued: now}
	return code, nil
}

func checkScope(k wxlogin.AppKind, scope string, snapshot bool) error {
	scopes := scopesFor(k)
	if scopes == nil {
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: a %s does no web OAuth", k)
	}
	ok := false
	for _, sc := range scopes {
		ok = ok || sc == scope
	}
	if !ok {
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: scope must be %s for a %s", strings.Join(scopes, " or "), k)
	}
	if snapshot && k != wxlogin.KindOfficialAccount {
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: snapshot visits exist only on official-account pages")
	}
	return nil
}

// authorizeRequest is a validated /connect/oauth2/authorize or /connect/qrconnect request.
type authorizeRequest struct {
	Path        string
	AppID       string
	RedirectURI string
	Scope       string
	State       string
	Snapshot    bool
	Kind        wxlogin.AppKind
	Users       []string // device users known on the app's platform (or the app), sorted
}

// parseAuthorize validates the parameters of an authorize page request.
func (s *Sim) parseAuthorize(path string, v url.Values) (*authorizeRequest, error) {
	req := &authorizeRequest{Path: path, AppID: v.Get("appid"), RedirectURI: v.Get("redirect_uri"),
		Scope: v.Get("scope"), State: v.Get("state"), Snapshot: v.Get("sim_snapshot") == "1"}
	if req.AppID == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "appid is missing")
	}
	s.mu.Lock()
	a := s.apps[req.AppID]
	var users []string
	if a != nil {
		seen := map[string]bool{}
		for _, o := range s.apps {
			if o == a || a.Platform != "" && o.Platform == a.Platform {
				for name := range o.users {
					if !seen[name] {
						seen[name] = true
						users = append(users, name)
					}
				}
			}
		}
	}
	s.mu.Unlock()
	if a == nil {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "appid %q is not registered", req.AppID)
	}
	sort.Strings(users)
	req.Users, req.Kind = users, a.kind()
	want := wxlogin.KindOfficialAccount
	if path == PathQRConnect {
		want = wxlogin.KindWebsite
	}
	if req.Kind != want {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "appid %q is a %s; %s serves %s apps", req.AppID, req.Kind, path, want)
	}
	if v.Get("response_type") != "code" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "response_type must be code")
	}
	if err := checkScope(req.Kind, req.Scope, req.Snapshot); err != nil {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "%s", strings.TrimPrefix(wxlogin.ErrorMessage(err), "wechatsim: "))
	}
	ru, err := url.Parse(req.RedirectURI)
	if err != nil || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Host == "" || ru.Fragment != "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "redirect_uri must be an absolute http(s) URL without a fragment")
	}
	if len(req.State) > maxStateLen {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "state is longer than %d bytes", maxStateLen)
	}
	return req, nil
}

// redirect returns redirect_uri with code (omitted when "") and state added to its query.
func (r *authorizeRequest) redirect(code string) string {
	u, _ := url.Parse(r.RedirectURI) // validated
	q := u.Query()
	if code != "" {
		q.Set("code", code)
	}
	q.Set("state", r.State)
	u.RawQuery = q.Encode()
	return u.String()
}

var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>WeChat authorization (simulator)</title>
<style>body{font-family:sans-serif;max-width:28em;margin:2em auto;padding:0 1em}button{margin:.3em}</style></head>
<body>
<h1>{{if eq .Kind "website"}}Scan to log in{{else}}Authorize{{end}}</h1>
<p>App <code>{{.AppID}}</code> asks for <code>{{.Scope}}</code>{{if .Snapshot}} (snapshot page){{end}}.</p>
<form method="post" action="{{.Path}}">
<input type="hidden" name="appid" value="{{.AppID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="state" value="{{.State}}">
{{if .Snapshot}}<input type="hidden" name="sim_snapshot" value="1">{{end}}
{{range .Users}}<button type="submit" name="user" value="{{.}}" id="user-{{.}}">Continue as {{.}}</button><br>
{{end}}<label>Device user <input name="user_typed" id="user" autocomplete="off"></label>
<button type="submit" name="action" value="confirm" id="confirm">Confirm</button>
<button type="submit" name="action" value="refuse" id="refuse" formnovalidate>Refuse</button>
</form>
</body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>WeChat error (simulator)</title></head>
<body><h1>Error</h1><p id="error">{{.}}</p></body></html>
`))

// authorize serves GET (the consent page, or with sim_user an immediate consent) and POST (the
// page's form) of /connect/oauth2/authorize and /connect/qrconnect.
func (s *Sim) authorize(path string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v url.Values
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			v = r.URL.Query()
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			if err := r.ParseForm(); err != nil {
				s.htmlError(w, http.StatusBadRequest, "the form could not be read")
				return
			}
			v = r.PostForm
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			s.htmlError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		req, err := s.parseAuthorize(path, v)
		if err != nil {
			status := http.StatusBadRequest
			if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
				status = http.StatusNotFound
			}
			s.htmlError(w, status, wxlogin.ErrorMessage(err))
			return
		}
		user := v.Get("sim_user")
		if r.Method == http.MethodPost {
			if v.Get("action") == "refuse" {
				http.Redirect(w, r, req.redirect(""), http.StatusFound)
				return
			}
			user = v.Get("user")
			if user == "" {
				user = strings.TrimSpace(v.Get("user_typed"))
			}
			if user == "" {
				s.htmlError(w, http.StatusBadRequest, "pick or type a device user")
				return
			}
		}
		if user == "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if err := authorizePage.Execute(w, req); err != nil {
				s.log.Error("wechatsim: authorize page", "err", err)
			}
			return
		}
		code, err := s.OAuthCode(req.AppID, user, req.Scope, req.Snapshot)
		if err != nil {
			s.htmlError(w, http.StatusBadRequest, strings.TrimPrefix(wxlogin.ErrorMessage(err), "wechatsim: "))
			return
		}
		s.log.Debug("wechatsim: oauth consent", "path", path, "appid", req.AppID, "scope", req.Scope)
		http.Redirect(w, r, req.redirect(code), http.StatusFound)
	})
}

func (s *Sim) htmlError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	errorPage.Execute(w, msg)
}

type oauthTokenJSON struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int64  `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

// grantJSONLocked issues an access token for g (and, when refresh is "", a refresh token).
func (s *Sim) grantJSONLocked(a *appState, g oauthGrant, refresh string, now time.Time) oauthTokenJSON {
	at := "87_" + randomFrom(idAlphabet, 107)
	tg := g
	tg.expires = now.Add(oauthTokenTTL)
	s.oauth.tokens[at] = &tg
	if refresh == "" {
		refresh = "87_" + randomFrom(idAlphabet, 107)
		rg := g
		rg.expires = now.Add(oauthRefreshTTL)
		s.oauth.refresh[refresh] = &rg
	}
	out := oauthTokenJSON{AccessToken: at, ExpiresIn: int64(oauthTokenTTL / time.Second), RefreshToken: refresh,
		OpenID: g.openID(), Scope: g.scope}
	if g.snapshot {
		out.IsSnapshotUser = 1
	} else if a.Platform != "" && (g.scope != ScopeBase || g.user.authorized) {
		out.UnionID = UnionID(a.Platform, g.user.name)
	}
	return out
}

func (s *Sim) oauthAccessToken(r *http.Request) (any, *wxError) {
	q := r.URL.Query()
	a, e := s.appCredentials(q.Get("appid"), q.Get("secret"))
	if e != nil {
		return nil, e
	}
	code := q.Get("code")
	if code == "" {
		return nil, errNoCode
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, errBadGrantType
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	c := s.oauth.codes[code]
	switch {
	case c == nil || c.appid != a.ID:
		return nil, errBadCode
	case c.used:
		return nil, errCodeUsed
	case !now.Before(c.issued.Add(codeTTL)):
		return nil, errBadCode
	}
	c.used = true
	return s.grantJSONLocked(a, oauthGrant{appid: a.ID, user: c.user, scope: c.scope, snapshot: c.snapshot}, "", now), nil
}

func (s *Sim) oauthRefreshToken(r *http.Request) (any, *wxError) {
	q := r.URL.Query()
	appid := q.Get("appid")
	if appid == "" {
		return nil, errNoAppID
	}
	if q.Get("grant_type") != "refresh_token" {
		return nil, errBadGrantType
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appid]
	if a == nil {
		return nil, errBadAppID
	}
	now := s.nowLocked()
	rt := q.Get("refresh_token")
	g := s.oauth.refresh[rt]
	switch {
	case g == nil || g.appid != appid:
		return nil, errBadRefreshToken
	case !now.Before(g.expires):
		return nil, errRefreshExpired
	}
	return s.grantJSONLocked(a, *g, rt, now), nil
}

// oauthTokenLocked checks the user access_token and openid of /sns/userinfo and /sns/auth: 41001
// missing, 40001 unknown, 42001 expired, 40003 an openid other than the token's.
func (s *Sim) oauthTokenLocked(q url.Values, now time.Time) (*oauthGrant, *wxError) {
	v := q.Get("access_token")
	if v == "" {
		return nil, errNoToken
	}
	g := s.oauth.tokens[v]
	switch {
	case g == nil:
		return nil, errBadCredential
	case !now.Before(g.expires):
		return nil, errTokenExpired
	case q.Get("openid") != g.openID():
		return nil, errBadOpenID
	}
	return g, nil
}

type snsUserInfoJSON struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	City       string   `json:"city"`
	Province   string   `json:"province"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid,omitempty"`
}

func (s *Sim) oauthUserInfo(r *http.Request) (any, *wxError) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.oauthTokenLocked(q, s.nowLocked())
	if e != nil {
		return nil, e
	}
	if g.scope == ScopeBase || g.snapshot {
		return nil, errUnauthorizedScope
	}
	out := snsUserInfoJSON{OpenID: g.openID(), Nickname: g.user.name, HeadImgURL: defaultAvatarURL, Privilege: []string{}}
	if a := s.apps[g.appid]; a != nil && a.Platform != "" {
		out.UnionID = UnionID(a.Platform, g.user.name)
	}
	return out, nil
}

func (s *Sim) oauthAuth(r *http.Request) (any, *wxError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.oauthTokenLocked(r.URL.Query(), s.nowLocked()); e != nil {
		return nil, e
	}
	return okBody, nil
}
