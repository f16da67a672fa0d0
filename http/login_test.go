package http_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/wechatsim"
)

func TestLoginNewUser(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "alice")
	if !tk.NewUser {
		t.Error("first login: new_user = false")
	}
	if tk.User.UnionID != e.sim.UnionID(platform, "alice") {
		t.Errorf("unionid = %q, want the simulator's", tk.User.UnionID)
	}
	me := e.do("GET", "/v1/me", tk.AccessToken, nil)
	if me.Status != 200 {
		t.Fatalf("GET /v1/me: %d %s", me.Status, me.Body)
	}
	var body struct {
		ID         string `json:"id"`
		Identities []struct {
			AppID  string `json:"appid"`
			OpenID string `json:"openid"`
		} `json:"identities"`
	}
	json.Unmarshal(me.Body, &body)
	if body.ID != tk.User.ID || len(body.Identities) != 1 || body.Identities[0].AppID != appA || body.Identities[0].OpenID != e.sim.OpenID(appA, "alice") {
		t.Errorf("GET /v1/me = %s", me.Body)
	}
	events, err := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{UserID: tk.User.ID, Type: "login.success"})
	if err != nil || len(events) != 1 || events[0].SessionID != tk.SessionID {
		t.Errorf("audit login.success events = %v, %v", events, err)
	}
}

func TestLoginReturningUserReplacesSessionKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first := e.login(appA, "bob")
	openid := e.sim.OpenID(appA, "bob")
	id1, err := e.store.Identity(ctx, appA, openid)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	second := e.login(appA, "bob")
	if second.NewUser || second.User.ID != first.User.ID {
		t.Fatalf("returning login: new_user=%v user=%s, want the same user %s", second.NewUser, second.User.ID, first.User.ID)
	}
	if second.SessionID == first.SessionID {
		t.Error("a new login must start a new session")
	}
	id2, err := e.store.Identity(ctx, appA, openid)
	if err != nil {
		t.Fatal(err)
	}
	if !id2.SessionKeyUpdatedAt.After(id1.SessionKeyUpdatedAt) {
		t.Error("session_key updated-at did not move")
	}
	// The stored key is sealed, and opens to the simulator's latest key for this user.
	issued := e.sim.IssuedSessionKeys()
	latest := issued[len(issued)-1]
	if strings.Contains(string(id2.SessionKey), latest) {
		t.Fatal("session_key stored in clear")
	}
	plain, err := e.ring.Open(id2.SessionKey, []byte("session_key\x00"+appA+"\x00"+openid))
	if err != nil {
		t.Fatalf("stored session_key does not open: %v", err)
	}
	if string(plain) != latest {
		t.Error("stored session_key is not the one the latest code2Session returned")
	}
}

func TestLoginCodeErrors(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.CodeWindow = time.Minute })
	t.Run("stale code", func(t *testing.T) {
		code := e.code(appA, "carol")
		e.clock.Advance(5*time.Minute + time.Second)
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": code})
		if r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
			t.Errorf("stale code: %d %s", r.Status, r.Body)
		}
	})
	t.Run("unknown code", func(t *testing.T) {
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": "023MVZhy15eDoa0Et4iy1SLVhy1MVZhS"})
		if r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
			t.Errorf("unknown code: %d %s", r.Status, r.Body)
		}
	})
	t.Run("code of another app", func(t *testing.T) {
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appB, "carol")})
		if r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
			t.Errorf("code of another app: %d %s", r.Status, r.Body)
		}
	})
	t.Run("reused code after the de-duplication window", func(t *testing.T) {
		code := e.code(appA, "dave")
		e.mustTokens(e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": code}))
		e.clock.Advance(2 * time.Minute) // past the 1-minute window, inside the code's 5 minutes
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": code})
		if r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
			t.Errorf("reused code: %d %s", r.Status, r.Body)
		}
	})
	t.Run("unknown appid", func(t *testing.T) {
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": "wxnope", "code": e.code(appA, "x")})
		if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("unknown appid: %d %s", r.Status, r.Body)
		}
	})
	t.Run("appid required with several apps", func(t *testing.T) {
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"code": e.code(appA, "x")})
		if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("missing appid: %d %s", r.Status, r.Body)
		}
	})
}

func TestLoginDuplicateCodeIsOneExchange(t *testing.T) {
	e := newEnv(t)
	code := e.code(appA, "erin")
	const n = 12
	var wg sync.WaitGroup
	results := make([]*response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": code})
		}()
	}
	wg.Wait()
	users := map[string]bool{}
	sessions := map[string]bool{}
	for _, r := range results {
		tk := e.mustTokens(r)
		users[tk.User.ID] = true
		sessions[tk.SessionID] = true
	}
	if len(users) != 1 {
		t.Errorf("one code made %d users", len(users))
	}
	if len(sessions) != n {
		t.Errorf("%d logins made %d sessions, want one each", n, len(sessions))
	}
	if got := e.sim.Calls(wechatsim.PathCode2Session); got != 1 {
		t.Errorf("code2Session called %d times for one code, want 1", got)
	}
}

func TestLoginUpstreamFailures(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		fault  wechatsim.Fault
		status int
		code   string
	}{
		{"system busy", wechatsim.Fault{Path: wechatsim.PathCode2Session, Errcode: -1}, 503, wxlogin.EUPSTREAMUNAVAIL},
		{"frequency limit", wechatsim.Fault{Path: wechatsim.PathCode2Session, Errcode: 45011}, 503, wxlogin.EUPSTREAMUNAVAIL},
		{"connection reset", wechatsim.Fault{Path: wechatsim.PathCode2Session, Reset: true}, 503, wxlogin.EUPSTREAMUNAVAIL},
		{"garbage body", wechatsim.Fault{Path: wechatsim.PathCode2Session, Garbage: true}, 503, wxlogin.EUPSTREAMUNAVAIL},
		{"timeout", wechatsim.Fault{Path: wechatsim.PathCode2Session, LatencyMS: 2500}, 503, wxlogin.EUPSTREAMUNAVAIL},
		{"unknown errcode", wechatsim.Fault{Path: wechatsim.PathCode2Session, Errcode: 48001}, 502, wxlogin.EUPSTREAM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.sim.ClearFaults()
			if err := e.sim.SetFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			defer e.sim.ClearFaults()
			r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "frank")})
			if r.Status != tc.status || r.ErrorCode(t) != tc.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if tc.status == 503 && r.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	t.Run("blocked user", func(t *testing.T) {
		e.sim.ClearFaults()
		if err := e.sim.Block(appA, "mallory", true); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "mallory")})
		if r.Status != 403 || r.ErrorCode(t) != wxlogin.EUSERBLOCKED {
			t.Fatalf("blocked: %d %s", r.Status, r.Body)
		}
	})
	t.Run("recovers", func(t *testing.T) {
		e.sim.ClearFaults()
		e.login(appA, "frank")
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	e := newEnv(t)
	first := e.login(appA, "gina")
	e.clock.Advance(10 * time.Minute)
	second := e.mustTokens(e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": first.RefreshToken}))
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if second.SessionID != first.SessionID || second.User.ID != first.User.ID || second.NewUser {
		t.Errorf("refresh changed session or user: %+v", second)
	}
	third := e.mustTokens(e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": second.RefreshToken}))
	if r := e.do("GET", "/v1/me", third.AccessToken, nil); r.Status != 200 {
		t.Fatalf("me after refresh: %d", r.Status)
	}
	// Reusing a spent refresh token revokes the whole session.
	r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": first.RefreshToken})
	if r.Status != 401 || r.ErrorCode(t) != wxlogin.EUNAUTHORIZED {
		t.Fatalf("reuse: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/me", third.AccessToken, nil); r.Status != 401 {
		t.Errorf("access token of a session revoked by reuse: %d", r.Status)
	}
	if r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": third.RefreshToken}); r.Status != 401 {
		t.Errorf("latest refresh token of a revoked session: %d", r.Status)
	}
	events, _ := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{Type: "refresh.reuse"})
	if len(events) != 1 || events[0].SessionID != first.SessionID {
		t.Errorf("refresh.reuse audit events: %+v", events)
	}
	for _, bad := range []string{"", "not-a-token", strings.Repeat("x", 300)} {
		r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": bad})
		if r.Status != 400 && r.Status != 401 {
			t.Errorf("refresh %q: %d", bad, r.Status)
		}
	}
}

func TestRefreshConcurrentOneWinner(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "hank")
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}).Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == 200 {
			ok++
		} else if s != 401 {
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent refreshes of one token succeeded, want exactly 1", ok)
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "ivan")
	e.clock.Advance(2*time.Hour + time.Minute)
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 401 || r.ErrorCode(t) != wxlogin.EUNAUTHORIZED {
		t.Errorf("expired access token: %d %s", r.Status, r.Body)
	}
	// The refresh token outlives it.
	next := e.mustTokens(e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}))
	if r := e.do("GET", "/v1/me", next.AccessToken, nil); r.Status != 200 {
		t.Errorf("refreshed access token: %d", r.Status)
	}
}

func TestLogoutAndSessions(t *testing.T) {
	e := newEnv(t)
	a := e.login(appA, "judy")
	b := e.login(appA, "judy")
	c := e.login(appA, "judy")
	other := e.login(appA, "kim")

	r := e.do("GET", "/v1/me/sessions", a.AccessToken, nil)
	var list struct {
		Sessions []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	json.Unmarshal(r.Body, &list)
	if r.Status != 200 || len(list.Sessions) != 3 {
		t.Fatalf("sessions: %d %s", r.Status, r.Body)
	}
	current := 0
	for _, s := range list.Sessions {
		if s.Current {
			current++
			if s.ID != a.SessionID {
				t.Error("wrong session marked current")
			}
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked current", current)
	}

	// Another user's session is not found; an unknown one neither.
	if r := e.do("DELETE", "/v1/me/sessions/"+other.SessionID, a.AccessToken, nil); r.Status != 404 || r.ErrorCode(t) != wxlogin.ENOTFOUND {
		t.Errorf("delete another user's session: %d", r.Status)
	}
	if r := e.do("GET", "/v1/me", other.AccessToken, nil); r.Status != 200 {
		t.Error("the other user's session was touched")
	}
	if r := e.do("DELETE", "/v1/me/sessions/ses_nope", a.AccessToken, nil); r.Status != 404 {
		t.Errorf("delete unknown session: %d", r.Status)
	}
	// Revoke b from a.
	if r := e.do("DELETE", "/v1/me/sessions/"+b.SessionID, a.AccessToken, nil); r.Status != 204 {
		t.Fatalf("delete session: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/me", b.AccessToken, nil); r.Status != 401 {
		t.Errorf("revoked session's access token: %d", r.Status)
	}
	if r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": b.RefreshToken}); r.Status != 401 {
		t.Errorf("revoked session's refresh token: %d", r.Status)
	}
	// Logout a.
	if r := e.do("POST", "/v1/logout", a.AccessToken, nil); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/me", a.AccessToken, nil); r.Status != 401 {
		t.Errorf("logged-out access token: %d", r.Status)
	}
	if r := e.do("GET", "/v1/me", c.AccessToken, nil); r.Status != 200 {
		t.Errorf("logout ended another session: %d", r.Status)
	}
	// Logout everywhere.
	d := e.login(appA, "judy")
	if r := e.do("POST", "/v1/logout/all", d.AccessToken, nil); r.Status != 204 {
		t.Fatalf("logout/all: %d", r.Status)
	}
	for _, tk := range []tokens{c, d} {
		if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 401 {
			t.Errorf("session alive after logout/all: %d", r.Status)
		}
	}
	if r := e.do("GET", "/v1/me", other.AccessToken, nil); r.Status != 200 {
		t.Error("logout/all ended another user's session")
	}
	if r := e.do("POST", "/v1/logout", "", nil); r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("logout without a token: %d", r.Status)
	}
}

// TestJWKSVerifiesAccessToken verifies an access token the way a business service would: with
// nothing but the published JWKS.
func TestJWKSVerifiesAccessToken(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "leo")
	r := e.do("GET", "/.well-known/jwks.json", "", nil)
	var set struct {
		Keys []struct {
			Kid, Kty, Crv, X, Y, Alg string
		} `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil || r.Status != 200 || len(set.Keys) == 0 {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		x, _ := base64.RawURLEncoding.DecodeString(k.X)
		y, _ := base64.RawURLEncoding.DecodeString(k.Y)
		keys[k.Kid] = &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(tk.AccessToken, claims, func(tok *jwt.Token) (any, error) {
		return keys[tok.Header["kid"].(string)], nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(e.clock.Now))
	if err != nil {
		t.Fatalf("access token does not verify with the JWKS: %v", err)
	}
	aud, _ := claims.GetAudience()
	if claims["sub"] != tk.User.ID || claims["sid"] != tk.SessionID || len(aud) != 1 || aud[0] != appA {
		t.Errorf("claims = %v", claims)
	}
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	if exp == nil || iat == nil || exp.Sub(iat.Time) != 2*time.Hour {
		t.Errorf("exp-iat = %v, want 2h", exp.Sub(iat.Time))
	}
}

func TestIntrospect(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "mia")
	introspect := func(user, pass, body, ct string) *response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/introspect", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		return e.send(req)
	}
	form := url.Values{"token": {tk.AccessToken}}.Encode()
	r := introspect(clientID, clientSec, form, "application/x-www-form-urlencoded")
	m := r.JSON(t)
	if r.Status != 200 || m["active"] != true || m["sub"] != tk.User.ID || m["sid"] != tk.SessionID || m["aud"] != appA || m["iss"] != "wxlogin-test" {
		t.Fatalf("introspect: %d %s", r.Status, r.Body)
	}
	j, _ := json.Marshal(map[string]string{"token": tk.AccessToken})
	if m := introspect(clientID, clientSec, string(j), "application/json").JSON(t); m["active"] != true {
		t.Error("JSON introspection not active")
	}
	if r := introspect(clientID, "wrong", form, "application/x-www-form-urlencoded"); r.Status != 401 || r.ErrorCode(t) != wxlogin.EUNAUTHORIZED {
		t.Errorf("wrong client secret: %d", r.Status)
	}
	if r := introspect("", "", form, "application/x-www-form-urlencoded"); r.Status != 401 {
		t.Errorf("no client credentials: %d", r.Status)
	}
	if m := introspect(clientID, clientSec, url.Values{"token": {"garbage"}}.Encode(), "application/x-www-form-urlencoded").JSON(t); m["active"] != false || len(m) != 1 {
		t.Errorf("garbage token: %v", m)
	}
	e.do("POST", "/v1/logout", tk.AccessToken, nil)
	if m := introspect(clientID, clientSec, form, "application/x-www-form-urlencoded").JSON(t); m["active"] != false {
		t.Error("revoked token still active")
	}
	if r := introspect(clientID, clientSec, "", "application/x-www-form-urlencoded"); r.Status != 400 {
		t.Errorf("no token: %d", r.Status)
	}
}

func TestHealthAndOpenAPI(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := e.do("GET", p, "", nil); r.Status != 200 || r.JSON(t)["status"] != "ok" {
			t.Errorf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	r := e.do("GET", "/openapi.yaml", "", nil)
	if r.Status != 200 || !strings.HasPrefix(string(r.Body), "openapi: 3") {
		t.Errorf("openapi.yaml: %d", r.Status)
	}
	e.store.Close()
	if r := e.do("GET", "/readyz", "", nil); r.Status != 503 {
		t.Errorf("readyz with the store closed: %d", r.Status)
	}
}
