package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/token"
)

// Admin tokens of the admin tests.
const (
	opsToken = "ops-admin-token-0123456789abcdef0123"
	sreToken = "sre-admin-token-fedcba9876543210fedc"
)

// withAdmins configures two admin tokens, named ops and sre.
func withAdmins(_ *auth.Config, h *wxhttp.Config) {
	h.AdminTokens = map[string]string{"ops": opsToken, "sre": sreToken}
}

// adminEnv is an env with admin tokens that remembers every admin answer and every token it saw
// issued, and checks at cleanup that no secret appears in an admin answer, and no admin token in
// any answer or log line.
type adminEnv struct {
	*env
	answers []string
	secrets []string // access and refresh tokens (and refresh-token hashes) issued during the test
}

func newAdminEnv(t *testing.T, opts ...envOption) *adminEnv {
	t.Helper()
	a := &adminEnv{env: newEnv(t, append([]envOption{withAdmins}, opts...)...)}
	t.Cleanup(a.assertNoAdminLeaks)
	return a
}

func (a *adminEnv) assertNoAdminLeaks() {
	all := a.bodies.String() + "\n" + a.logs.String()
	for _, tok := range []string{opsToken, sreToken} {
		if strings.Contains(all, tok) {
			a.t.Errorf("an admin token leaked into a response or log line")
		}
	}
	admin := strings.Join(a.answers, "\n")
	for _, s := range append(a.secrets, a.sim.IssuedSessionKeys()...) {
		if strings.Contains(admin, s) {
			a.t.Errorf("a token or session_key appears in an admin answer")
		}
	}
	for _, bad := range []string{"session_key\"", "password_hash", "$argon2id$", "refresh_token"} {
		if strings.Contains(admin, bad) {
			a.t.Errorf("an admin answer holds %q", bad)
		}
	}
	// Sealed session_keys, as stored, appear nowhere either (in any encoding a response would use).
	ids, _ := a.store.Users(context.Background(), wxlogin.UserFilter{Limit: 1000})
	for _, u := range ids {
		idents, _ := a.store.IdentitiesByUser(context.Background(), u.ID)
		for _, id := range idents {
			if len(id.SessionKey) > 0 {
				b, _ := json.Marshal(id.SessionKey)
				if strings.Contains(admin, strings.Trim(string(b), `"`)) {
					a.t.Errorf("a sealed session_key appears in an admin answer")
				}
			}
		}
	}
}

// remember records tk's tokens as secrets and returns tk.
func (a *adminEnv) remember(tk tokens) tokens {
	a.secrets = append(a.secrets, tk.AccessToken, tk.RefreshToken, token.HashRefreshToken(tk.RefreshToken))
	return tk
}

// adminDo sends an admin request with the ops token and records the answer.
func (a *adminEnv) adminDo(method, path string) *response {
	a.t.Helper()
	r := a.do(method, path, opsToken, nil)
	a.answers = append(a.answers, string(r.Body))
	if r.Status < 300 && r.Header.Get("Cache-Control") != "no-store" {
		a.t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, r.Header.Get("Cache-Control"))
	}
	return r
}

// adminJSON sends an admin request that must answer want, and decodes the answer into v.
func (a *adminEnv) adminJSON(method, path string, want int, v any) {
	a.t.Helper()
	r := a.adminDo(method, path)
	if r.Status != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			a.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

type adminUser struct {
	ID               string `json:"id"`
	Username         string `json:"username"`
	UnionID          string `json:"unionid"`
	Phone            string `json:"phone"`
	PhoneCountryCode string `json:"phone_country_code"`
	Disabled         bool   `json:"disabled"`
}

type adminUsers struct {
	Users      []adminUser `json:"users"`
	NextCursor string      `json:"next_cursor"`
}

type auditEvent struct {
	ID        int64             `json:"id"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	ActorID   string            `json:"actor_id"`
	UserID    string            `json:"user_id"`
	AppID     string            `json:"appid"`
	SessionID string            `json:"session_id"`
	IP        string            `json:"ip"`
	UserAgent string            `json:"user_agent"`
	Detail    map[string]string `json:"detail"`
}

type auditPage struct {
	Events     []auditEvent `json:"events"`
	NextCursor string       `json:"next_cursor"`
}

type adminUserDetail struct {
	User    adminUser `json:"user"`
	Account *struct {
		Username string `json:"username"`
	} `json:"account"`
	Identities []map[string]any `json:"identities"`
	Sessions   []struct {
		ID        string  `json:"id"`
		Active    bool    `json:"active"`
		RevokedAt *string `json:"revoked_at"`
	} `json:"sessions"`
	AuditEvents []auditEvent `json:"audit_events"`
}

// findUsers returns the ids a GET /admin/v1/users?query finds.
func (a *adminEnv) findUsers(query string) []string {
	a.t.Helper()
	var page adminUsers
	a.adminJSON("GET", "/admin/v1/users?"+query, 200, &page)
	var ids []string
	for _, u := range page.Users {
		ids = append(ids, u.ID)
	}
	return ids
}

// events returns the audit events of type typ (newest first) straight from the store.
func (e *env) events(typ string) []*wxlogin.AuditEvent {
	e.t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{Type: typ, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// lastEvent returns the newest audit event of type typ, failing the test when there is none.
func (e *env) lastEvent(typ string) *wxlogin.AuditEvent {
	e.t.Helper()
	evs := e.events(typ)
	if len(evs) == 0 {
		e.t.Fatalf("no %s audit event", typ)
	}
	return evs[0]
}

// The client of the tests is the Go HTTP client on the loopback interface.
const (
	testIP = "127.0.0.1"
	testUA = "Go-http-client/1.1"
)

// checkOrigin fails the test unless ev carries the test client's IP and user agent, and the
// given actor, subject, app and session ("*" : any non-empty value).
func checkOrigin(t *testing.T, ev *wxlogin.AuditEvent, actor, user, app, session string) {
	t.Helper()
	check := func(field, got, want string) {
		t.Helper()
		if (want == "*" && got == "") || (want != "*" && got != want) {
			t.Errorf("%s event: %s = %q, want %q", ev.Type, field, got, want)
		}
	}
	check("ActorID", ev.ActorID, actor)
	check("UserID", ev.UserID, user)
	check("AppID", ev.AppID, app)
	check("SessionID", ev.SessionID, session)
	check("IP", ev.IP, testIP)
	check("UserAgent", ev.UserAgent, testUA)
	if ev.Time.IsZero() {
		t.Errorf("%s event without a time", ev.Type)
	}
}

// TestAdminOffWithoutTokens: with no admin token configured every admin route is a 404, whatever
// the caller sends.
func TestAdminOffWithoutTokens(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "nobody")
	for _, route := range []string{"GET /admin/v1/users", "GET /admin/v1/users/usr_x", "POST /admin/v1/users/usr_x/disable",
		"POST /admin/v1/users/usr_x/enable", "DELETE /admin/v1/users/usr_x/sessions", "DELETE /admin/v1/sessions/ses_x", "GET /admin/v1/audit"} {
		method, path, _ := strings.Cut(route, " ")
		for _, bearer := range []string{"", opsToken, tk.AccessToken} {
			r := e.do(method, path, bearer, nil)
			if r.Status != 404 || r.ErrorCode(t) != wxlogin.ENOTFOUND {
				t.Errorf("%s without admin tokens: %d %s", route, r.Status, r.Body)
			}
		}
	}
	if evs := e.events("admin.users.search"); len(evs) != 0 {
		t.Errorf("a refused admin request was served: %d searches audited", len(evs))
	}
}

func TestAdminAuth(t *testing.T) {
	a := newAdminEnv(t)
	tk := a.remember(a.login(appA, "amy"))
	for _, bearer := range []string{"", "wrong", opsToken + "x", opsToken[:len(opsToken)-1], strings.ToUpper(opsToken), tk.AccessToken} {
		r := a.do("GET", "/admin/v1/users", bearer, nil)
		if r.Status != 401 || r.ErrorCode(t) != wxlogin.EUNAUTHORIZED {
			t.Errorf("admin request with a wrong token: %d %s", r.Status, r.Body)
		}
	}
	// Basic credentials are no admin token either.
	req, _ := http.NewRequest("GET", a.srv.URL+"/admin/v1/users", nil)
	req.SetBasicAuth("ops", opsToken)
	if r := a.send(req); r.Status != 401 {
		t.Errorf("admin request with Basic credentials: %d", r.Status)
	}
	// Either configured token works, and the audit trail names its operator.
	for _, c := range []struct{ tok, actor string }{{opsToken, "admin:ops"}, {sreToken, "admin:sre"}} {
		r := a.do("GET", "/admin/v1/users?id="+tk.User.ID, c.tok, nil)
		if r.Status != 200 {
			t.Fatalf("admin request: %d %s", r.Status, r.Body)
		}
		a.answers = append(a.answers, string(r.Body))
		ev := a.lastEvent("admin.users.search")
		checkOrigin(t, ev, c.actor, tk.User.ID, "", "")
		if !strings.Contains(ev.Detail, `"fields":"id"`) || strings.Contains(ev.Detail, tk.User.ID) {
			t.Errorf("search detail %s: want the field names, not the values", ev.Detail)
		}
	}
	if evs := a.events("admin.users.search"); len(evs) != 2 {
		t.Errorf("%d searches audited, want 2 (refused requests are not served)", len(evs))
	}
}

func TestAdminFindUsers(t *testing.T) {
	a := newAdminEnv(t)
	amy := a.remember(a.login(appA, "amy"))
	a.remember(a.login(appB, "amy")) // the same user (unionid), a second identity
	bea := a.remember(a.login(appC, "bea"))
	cat := a.remember(a.signUp("cat", "cat password"))
	code, err := a.sim.PhoneCode(appA, "amy", "13500001111")
	if err != nil {
		t.Fatal(err)
	}
	if r := a.do("POST", "/v1/me/phone", amy.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 200 {
		t.Fatalf("phone: %d %s", r.Status, r.Body)
	}
	all := []string{amy.User.ID, bea.User.ID, cat.User.ID}
	slices.Sort(all)

	q := url.QueryEscape
	tests := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"id=" + bea.User.ID, []string{bea.User.ID}},
		{"username=cat", []string{cat.User.ID}},
		{"username=CAT", []string{cat.User.ID}},
		{"appid=" + appA + "&openid=" + q(a.sim.OpenID(appA, "amy")), []string{amy.User.ID}},
		{"openid=" + q(a.sim.OpenID(appB, "amy")), []string{amy.User.ID}},
		{"appid=" + appB + "&openid=" + q(a.sim.OpenID(appA, "amy")), nil},
		{"appid=" + appC, []string{bea.User.ID}},
		{"unionid=" + q(a.sim.UnionID(platform, "amy")), []string{amy.User.ID}},
		{"phone=13500001111", []string{amy.User.ID}},
		{"phone=13500001111&country_code=86", []string{amy.User.ID}},
		{"phone=13500001111&country_code=%2B86", []string{amy.User.ID}},
		{"phone=13500001111&country_code=1", nil},
		{"username=cat&appid=" + appA, nil},
		{"id=usr_missing", nil},
	}
	for _, tc := range tests {
		if got := a.findUsers(tc.query); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("users?%s = %v, want %v", tc.query, got, tc.want)
		}
	}
	var page adminUsers
	a.adminJSON("GET", "/admin/v1/users?username=cat", 200, &page)
	if len(page.Users) != 1 || page.Users[0].Username != "cat" || page.NextCursor != "" {
		t.Errorf("users?username=cat = %+v", page)
	}
	a.adminJSON("GET", "/admin/v1/users?phone=13500001111", 200, &page)
	if u := page.Users[0]; u.Phone != "13500001111" || u.PhoneCountryCode != "86" || u.UnionID == "" || u.Disabled {
		t.Errorf("amy = %+v", u)
	}

	// Pages of one walk through every user once, in order.
	var seen []string
	path := "/admin/v1/users?limit=1"
	for range 10 {
		var p adminUsers
		a.adminJSON("GET", path, 200, &p)
		for _, u := range p.Users {
			seen = append(seen, u.ID)
		}
		if p.NextCursor == "" {
			break
		}
		path = "/admin/v1/users?limit=1&cursor=" + q(p.NextCursor)
	}
	if strings.Join(seen, ",") != strings.Join(all, ",") {
		t.Errorf("paging saw %v, want %v", seen, all)
	}

	// Bad query parameters are 400 invalid_request.
	for _, bad := range []string{"limit=0", "limit=501", "limit=ten", "limit=-1", "userid=x", "id=a&id=b",
		"username=" + strings.Repeat("x", 129), "phone=%00", "id=%ZZ"} {
		r := a.adminDo("GET", "/admin/v1/users?"+bad)
		if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("users?%s: %d %s", bad, r.Status, r.Body)
		}
	}
}

func TestAdminUserDetail(t *testing.T) {
	a := newAdminEnv(t)
	dan := a.remember(a.signUp("dan", "dan password"))
	a.clock.Advance(time.Second) // sessions come newest first
	bound := a.remember(a.mustTokens(a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": a.code(appA, "dan-phone"),
		"username": "dan", "password": "dan password"})))
	if bound.User.ID != dan.User.ID {
		t.Fatalf("bind landed on %s", bound.User.ID)
	}
	if r := a.do("POST", "/v1/logout", dan.AccessToken, nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	var d adminUserDetail
	a.adminJSON("GET", "/admin/v1/users/"+dan.User.ID, 200, &d)
	if d.User.ID != dan.User.ID || d.User.Username != "dan" || d.Account == nil || d.Account.Username != "dan" {
		t.Errorf("user %+v account %+v", d.User, d.Account)
	}
	if len(d.Identities) != 1 || d.Identities[0]["appid"] != appA || d.Identities[0]["openid"] != a.sim.OpenID(appA, "dan-phone") {
		t.Errorf("identities %+v", d.Identities)
	}
	if _, ok := d.Identities[0]["session_key"]; ok {
		t.Error("an identity carries a session_key field")
	}
	if len(d.Sessions) != 2 || !d.Sessions[0].Active || d.Sessions[0].ID != bound.SessionID || d.Sessions[1].Active || d.Sessions[1].RevokedAt == nil {
		t.Errorf("sessions %+v", d.Sessions)
	}
	var types []string
	for _, ev := range d.AuditEvents {
		types = append(types, ev.Type)
	}
	for _, want := range []string{"account.create", "login.success", "logout"} {
		if !has(types, want) {
			t.Errorf("recent audit events %v lack %s", types, want)
		}
	}
	checkOrigin(t, a.lastEvent("admin.user.read"), "admin:ops", dan.User.ID, "", "")

	r := a.adminDo("GET", "/admin/v1/users/usr_missing")
	if r.Status != 404 || r.ErrorCode(t) != wxlogin.ENOTFOUND {
		t.Errorf("missing user: %d %s", r.Status, r.Body)
	}
}

// TestAdminDisableEnable: a disabled user cannot log in by any method (403 forbidden, audited),
// its sessions stop working at once, and enabling lets it log in again.
func TestAdminDisableEnable(t *testing.T) {
	a := newAdminEnv(t, func(c *auth.Config, _ *wxhttp.Config) { c.PhoneLogin, c.CloudRun = true, true })
	eve := a.remember(a.signUp("eve", "eve password"))
	wx := a.remember(a.mustTokens(a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": a.code(appA, "eve-phone"),
		"username": "eve", "password": "eve password"})))
	code, _ := a.sim.PhoneCode(appA, "eve-phone", "13600002222")
	if r := a.do("POST", "/v1/me/phone", wx.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 200 {
		t.Fatalf("phone: %d %s", r.Status, r.Body)
	}
	other := a.remember(a.login(appA, "frank")) // someone else, untouched

	var u adminUser
	a.adminJSON("POST", "/admin/v1/users/"+eve.User.ID+"/disable", 200, &u)
	if !u.Disabled || u.ID != eve.User.ID || u.Username != "eve" {
		t.Errorf("disable answered %+v", u)
	}
	ev := a.lastEvent("user.disable")
	checkOrigin(t, ev, "admin:ops", eve.User.ID, "", "")
	if !strings.Contains(ev.Detail, `"sessions_revoked":"2"`) {
		t.Errorf("user.disable detail %s, want 2 sessions revoked", ev.Detail)
	}

	// Its sessions stop working at once.
	for _, tk := range []tokens{eve, wx} {
		if r := a.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 401 {
			t.Errorf("a disabled user's access token: %d", r.Status)
		}
		if r := a.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}); r.Status != 401 {
			t.Errorf("a disabled user's refresh token: %d", r.Status)
		}
	}
	// Every login method answers forbidden with a clear message, and is audited.
	cloud := func() *response {
		req, _ := http.NewRequest("POST", a.srv.URL+"/v1/login/cloud", nil)
		req.Header.Set("X-WX-APPID", appA)
		req.Header.Set("X-WX-OPENID", a.sim.OpenID(appA, "eve-phone"))
		return a.send(req)
	}
	phone := func() *response {
		code, _ := a.sim.PhoneCode(appA, "eve-phone", "13600002222")
		return a.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": code})
	}
	logins := []struct {
		method string
		try    func() *response
	}{
		{"password", func() *response {
			return a.do("POST", "/v1/login/password", "", map[string]string{"username": "eve", "password": "eve password"})
		}},
		{"wechat", func() *response {
			return a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": a.code(appA, "eve-phone")})
		}},
		{"phone", phone},
		{"cloudrun", cloud},
	}
	for _, l := range logins {
		r := l.try()
		if r.Status != 403 || r.ErrorCode(t) != wxlogin.EFORBIDDEN || !strings.Contains(string(r.Body), "disabled") {
			t.Errorf("%s login of a disabled user: %d %s", l.method, r.Status, r.Body)
			continue
		}
		ev := a.lastEvent("login.failure")
		checkOrigin(t, ev, "", eve.User.ID, ev.AppID, "")
		if ev.Detail != `{"method":"`+l.method+`","reason":"disabled"}` {
			t.Errorf("%s login.failure detail %s", l.method, ev.Detail)
		}
	}
	if r := a.do("GET", "/v1/me", other.AccessToken, nil); r.Status != 200 {
		t.Errorf("another user's session stopped working: %d", r.Status)
	}

	// Enabled again, it logs in by every method.
	a.adminJSON("POST", "/admin/v1/users/"+eve.User.ID+"/enable", 200, &u)
	if u.Disabled {
		t.Error("enable answered disabled")
	}
	checkOrigin(t, a.lastEvent("user.enable"), "admin:ops", eve.User.ID, "", "")
	for _, l := range logins {
		if r := l.try(); r.Status != 200 {
			t.Errorf("%s login after enable: %d %s", l.method, r.Status, r.Body)
		} else {
			a.remember(a.mustTokens(r))
		}
	}
	// The sessions revoked by disabling stay revoked.
	if r := a.do("GET", "/v1/me", eve.AccessToken, nil); r.Status != 401 {
		t.Errorf("an old session came back with enable: %d", r.Status)
	}

	for _, path := range []string{"/admin/v1/users/usr_missing/disable", "/admin/v1/users/usr_missing/enable"} {
		if r := a.adminDo("POST", path); r.Status != 404 {
			t.Errorf("POST %s: %d", path, r.Status)
		}
	}
}

func TestAdminRevokeSessions(t *testing.T) {
	a := newAdminEnv(t)
	s1 := a.remember(a.login(appA, "gus"))
	s2 := a.remember(a.login(appA, "gus"))
	s3 := a.remember(a.login(appB, "gus"))
	other := a.remember(a.login(appA, "hank"))

	if r := a.adminDo("DELETE", "/admin/v1/sessions/"+s1.SessionID); r.Status != 204 {
		t.Fatalf("revoke one session: %d %s", r.Status, r.Body)
	}
	if r := a.do("GET", "/v1/me", s1.AccessToken, nil); r.Status != 401 {
		t.Errorf("revoked session still works: %d", r.Status)
	}
	if r := a.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": s1.RefreshToken}); r.Status != 401 {
		t.Errorf("revoked session still refreshes: %d", r.Status)
	}
	if r := a.do("GET", "/v1/me", s2.AccessToken, nil); r.Status != 200 {
		t.Errorf("another session stopped working: %d", r.Status)
	}
	checkOrigin(t, a.lastEvent("session.revoke"), "admin:ops", s1.User.ID, appA, s1.SessionID)
	if r := a.adminDo("DELETE", "/admin/v1/sessions/ses_missing"); r.Status != 404 || r.ErrorCode(t) != wxlogin.ENOTFOUND {
		t.Errorf("revoke a missing session: %d %s", r.Status, r.Body)
	}

	var res struct {
		Revoked int `json:"revoked"`
	}
	a.adminJSON("DELETE", "/admin/v1/users/"+s1.User.ID+"/sessions", 200, &res)
	if res.Revoked != 2 {
		t.Errorf("revoked %d sessions, want 2 (one was already revoked)", res.Revoked)
	}
	for _, tk := range []tokens{s2, s3} {
		if r := a.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 401 {
			t.Errorf("session survived revoke-all: %d", r.Status)
		}
	}
	if r := a.do("GET", "/v1/me", other.AccessToken, nil); r.Status != 200 {
		t.Errorf("another user's session stopped working: %d", r.Status)
	}
	ev := a.lastEvent("session.revoke_all")
	checkOrigin(t, ev, "admin:ops", s1.User.ID, "", "")
	if ev.Detail != `{"sessions_revoked":"2"}` {
		t.Errorf("session.revoke_all detail %s", ev.Detail)
	}
	a.adminJSON("DELETE", "/admin/v1/users/"+s1.User.ID+"/sessions", 200, &res)
	if res.Revoked != 0 {
		t.Errorf("second revoke-all revoked %d", res.Revoked)
	}
	if r := a.adminDo("DELETE", "/admin/v1/users/usr_missing/sessions"); r.Status != 404 {
		t.Errorf("revoke-all of a missing user: %d", r.Status)
	}
	// The user logs in again afterwards: revoking is not disabling.
	a.remember(a.login(appA, "gus"))
}

func TestAdminAudit(t *testing.T) {
	a := newAdminEnv(t)
	start := a.clock.Now()
	ivy := a.remember(a.login(appA, "ivy"))
	a.clock.Advance(time.Hour)
	mid := a.clock.Now()
	a.remember(a.login(appA, "ivy"))
	a.remember(a.login(appA, "jay"))
	if r := a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": "bogus-code"}); r.Status != 401 {
		t.Fatalf("bogus code: %d", r.Status)
	}

	var p auditPage
	a.adminJSON("GET", "/admin/v1/audit?user="+ivy.User.ID, 200, &p)
	if len(p.Events) != 2 || p.Events[0].Type != "login.success" || p.Events[0].ID <= p.Events[1].ID || p.NextCursor != "" {
		t.Fatalf("ivy's events: %+v", p)
	}
	if e := p.Events[0]; e.ActorID != ivy.User.ID || e.AppID != appA || e.SessionID == "" || e.IP != testIP || e.UserAgent != testUA || e.Detail["method"] != "wechat" {
		t.Errorf("event %+v", e)
	}
	a.adminJSON("GET", "/admin/v1/audit?type=login.failure", 200, &p)
	if len(p.Events) != 1 || p.Events[0].Detail["reason"] != wxlogin.EINVALIDCODE || p.Events[0].AppID != appA || p.Events[0].IP != testIP {
		t.Errorf("login failures: %+v", p.Events)
	}
	since := url.QueryEscape(mid.Format(time.RFC3339))
	a.adminJSON("GET", "/admin/v1/audit?type=login.success&since="+since, 200, &p)
	if len(p.Events) != 2 {
		t.Errorf("login.success since %s: %d events, want 2", mid, len(p.Events))
	}
	a.adminJSON("GET", "/admin/v1/audit?type=login.success&since="+url.QueryEscape(start.Format(time.RFC3339))+"&until="+since, 200, &p)
	if len(p.Events) != 1 || p.Events[0].UserID != ivy.User.ID {
		t.Errorf("login.success until %s: %+v", mid, p.Events)
	}
	// Reads are audited too.
	ev := a.lastEvent("admin.audit.read")
	checkOrigin(t, ev, "admin:ops", "", "", "")

	// Paging walks every event once, newest first.
	var ids []int64
	path := "/admin/v1/audit?limit=2"
	for range 20 {
		var pg auditPage
		a.adminJSON("GET", path, 200, &pg)
		for _, e := range pg.Events {
			ids = append(ids, e.ID)
		}
		if pg.NextCursor == "" {
			break
		}
		path = "/admin/v1/audit?limit=2&cursor=" + pg.NextCursor
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] >= ids[i-1] {
			t.Fatalf("paging went out of order: %v", ids)
		}
	}
	if len(ids) < 8 {
		t.Errorf("paging saw %d events: %v", len(ids), ids)
	}

	for _, bad := range []string{"since=yesterday", "until=2026-13-01T00:00:00Z", "cursor=abc", "cursor=0", "limit=1000",
		"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "users=x", "type=a&type=b"} {
		r := a.adminDo("GET", "/admin/v1/audit?"+bad)
		if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("audit?%s: %d %s", bad, r.Status, r.Body)
		}
	}
}

// TestAuditTrailFields: every kind of event records actor, subject, IP, user agent, app and
// session where one exists.
func TestAuditTrailFields(t *testing.T) {
	a := newAdminEnv(t)
	// A bare WeChat user merged into an account by a login with credentials.
	kim := a.remember(a.signUp("kim", "kim password"))
	bare := a.remember(a.login(appC, "kim-phone"))
	bound := a.remember(a.mustTokens(a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": a.code(appC, "kim-phone"),
		"username": "kim", "password": "kim password"})))
	ev := a.lastEvent("user.merge")
	checkOrigin(t, ev, kim.User.ID, kim.User.ID, appC, bound.SessionID)
	if !strings.Contains(ev.Detail, `"merged_user":"`+bare.User.ID+`"`) {
		t.Errorf("user.merge detail %s", ev.Detail)
	}
	// login.success of that login is the same session.
	checkOrigin(t, a.lastEvent("login.success"), kim.User.ID, kim.User.ID, appC, bound.SessionID)

	// A refused merge (the identity belongs to an account) is a conflict with the origin, no session.
	lee := a.remember(a.signUp("lee", "lee password"))
	r := a.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": a.code(appC, "kim-phone"), "username": "lee", "password": "lee password"})
	if r.Status != 409 {
		t.Fatalf("conflicting bind: %d %s", r.Status, r.Body)
	}
	ev = a.lastEvent("merge.conflict")
	checkOrigin(t, ev, "", lee.User.ID, appC, "")
	if _, err := a.store.Session(context.Background(), ev.SessionID); ev.SessionID != "" && err == nil {
		t.Error("merge.conflict names a session")
	}

	// Bind and unbind through the API carry the caller's session.
	if r := a.do("POST", "/v1/me/wechat", lee.AccessToken, map[string]string{"appid": appA, "code": a.code(appA, "lee-phone")}); r.Status != 200 {
		t.Fatalf("bind: %d %s", r.Status, r.Body)
	}
	checkOrigin(t, a.lastEvent("identity.bind"), lee.User.ID, lee.User.ID, appA, lee.SessionID)
	if r := a.do("DELETE", "/v1/me/wechat/"+appA, lee.AccessToken, nil); r.Status != 204 {
		t.Fatalf("unbind: %d %s", r.Status, r.Body)
	}
	checkOrigin(t, a.lastEvent("identity.unbind"), lee.User.ID, lee.User.ID, appA, lee.SessionID)

	// A merge learned through a bind (a bare user of the unionid is merged into the caller).
	mo := a.remember(a.login(appA, "mo")) // bare, unionid of mo
	if r := a.do("POST", "/v1/me/wechat", kim.AccessToken, map[string]string{"appid": appB, "code": a.code(appB, "mo")}); r.Status != 200 {
		t.Fatalf("bind of a unionid held by a bare user: %d %s", r.Status, r.Body)
	}
	ev = a.lastEvent("user.merge")
	checkOrigin(t, ev, kim.User.ID, kim.User.ID, appB, kim.SessionID)
	if !strings.Contains(ev.Detail, mo.User.ID) {
		t.Errorf("user.merge detail %s", ev.Detail)
	}

	// Phone.
	code, _ := a.sim.PhoneCode(appC, "kim-phone", "13700003333")
	if r := a.do("POST", "/v1/me/phone", bound.AccessToken, map[string]string{"appid": appC, "code": code}); r.Status != 200 {
		t.Fatalf("phone: %d %s", r.Status, r.Body)
	}
	checkOrigin(t, a.lastEvent("phone.verify"), kim.User.ID, kim.User.ID, appC, bound.SessionID)

	// Login failures: a wrong password names the account's user; an unknown one names nobody.
	a.do("POST", "/v1/login/password", "", map[string]string{"username": "kim", "password": "not kim's password"})
	ev = a.lastEvent("login.failure")
	checkOrigin(t, ev, "", kim.User.ID, "", "")
	if ev.Detail != `{"method":"password","reason":"wrong_password"}` {
		t.Errorf("login.failure detail %s", ev.Detail)
	}
	a.do("POST", "/v1/login/password", "", map[string]string{"username": "nobody", "password": "some password"})
	ev = a.lastEvent("login.failure")
	checkOrigin(t, ev, "", "", "", "")
	if ev.Detail != `{"method":"password","reason":"unknown_user"}` {
		t.Errorf("login.failure detail %s", ev.Detail)
	}

	// Refresh-token reuse.
	if r := a.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": bound.RefreshToken}); r.Status != 200 {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	} else {
		a.remember(a.mustTokens(r))
	}
	if r := a.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": bound.RefreshToken}); r.Status != 401 {
		t.Fatalf("reuse: %d", r.Status)
	}
	checkOrigin(t, a.lastEvent("refresh.reuse"), "", kim.User.ID, appC, bound.SessionID)

	// Logout, logout-all and revoking one's own session.
	if r := a.do("DELETE", "/v1/me/sessions/"+kim.SessionID, lee.AccessToken, nil); r.Status != 404 {
		t.Errorf("revoking another user's session: %d", r.Status)
	}
	k2 := a.remember(a.mustTokens(a.do("POST", "/v1/login/password", "", map[string]string{"username": "kim", "password": "kim password"})))
	if r := a.do("DELETE", "/v1/me/sessions/"+kim.SessionID, k2.AccessToken, nil); r.Status != 204 {
		t.Fatalf("revoke own session: %d", r.Status)
	}
	checkOrigin(t, a.lastEvent("session.revoke"), kim.User.ID, kim.User.ID, "", kim.SessionID)
	if r := a.do("POST", "/v1/logout", lee.AccessToken, nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	checkOrigin(t, a.lastEvent("logout"), lee.User.ID, lee.User.ID, "", lee.SessionID)
	if r := a.do("POST", "/v1/logout/all", k2.AccessToken, nil); r.Status != 204 {
		t.Fatal(r.Status)
	}
	checkOrigin(t, a.lastEvent("logout.all"), kim.User.ID, kim.User.ID, "", k2.SessionID)

	// Nothing in the trail is a secret.
	all, _ := a.store.AuditEvents(context.Background(), wxlogin.AuditFilter{Limit: 500})
	trail, _ := json.Marshal(all)
	for _, s := range append(a.secrets, a.sim.IssuedSessionKeys()...) {
		if strings.Contains(string(trail), s) {
			t.Error("a token or session_key in the audit trail")
		}
	}
	if strings.Contains(string(trail), "kim password") || strings.Contains(string(trail), "not kim's password") {
		t.Error("a password in the audit trail")
	}
}
