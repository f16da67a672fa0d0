package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// What the account rules mean for access over HTTP: unbinding, disabling, lock-out under
// concurrency, one identity per app, binds that never delete the caller, Cloud Run users without a
// session_key, and codes repeated by another client.

// An unbound identity takes its access with it: the device no longer reaches the account, and
// the app's sessions end.
func TestUnbindRevokesAccess(t *testing.T) {
	e := newEnv(t)
	acct := e.signUp("ursula", "ursula password")
	if r := e.do("POST", "/v1/me/wechat", acct.AccessToken, map[string]string{"appid": appA, "code": e.code(appA, "ursula-phone")}); r.Status != 200 {
		t.Fatalf("bind: %d %s", r.Status, r.Body)
	}
	viaWeChat := e.login(appA, "ursula-phone")
	if viaWeChat.User.ID != acct.User.ID {
		t.Fatal("bound device did not reach the account")
	}
	if r := e.do("DELETE", "/v1/me/wechat/"+appA, acct.AccessToken, nil); r.Status != 204 {
		t.Fatalf("unbind: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": viaWeChat.RefreshToken}); r.Status != 401 {
		t.Errorf("the unbound app's session still refreshes: %d", r.Status)
	}
	if r := e.do("GET", "/v1/me", acct.AccessToken, nil); r.Status != 200 {
		t.Errorf("the password session ended too: %d", r.Status)
	}
	for _, app := range []string{appA, appB} {
		if tk := e.login(app, "ursula-phone"); tk.User.ID == acct.User.ID {
			t.Errorf("after unbind, a login at %s still lands on the account", app)
		}
	}
	if m := e.me(acct.AccessToken); m.UnionID != "" {
		t.Errorf("the account kept the unbound identity's unionid")
	}
}

// A disabled user cannot escape through a merge, and its tokens stop working at once.
func TestDisabledUser(t *testing.T) {
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) {})
	bare := e.login(appC, "vera-device")
	if err := e.svc.SetDisabled(context.Background(), "admin:test", bare.User.ID, true, auth.Meta{}); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/v1/me", bare.AccessToken, nil); r.Status != 401 {
		t.Errorf("a disabled user's access token works: %d", r.Status)
	}
	if r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "vera-device")}); r.Status != 403 || r.ErrorCode(t) != wxlogin.EFORBIDDEN {
		t.Errorf("disabled login: %d %s", r.Status, r.Body)
	}
	e.signUp("mallory", "mallory password")
	r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "vera-device"), "username": "mallory", "password": "mallory password"})
	if r.Status != 403 {
		t.Fatalf("binding a disabled user's identity to another account: %d %s", r.Status, r.Body)
	}
	if _, err := e.store.User(context.Background(), bare.User.ID); err != nil {
		t.Errorf("the disabled user was merged away: %v", err)
	}
	if r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "vera-device")}); r.Status != 403 {
		t.Errorf("disabled device logs in after the attempted merge: %d", r.Status)
	}
	if err := e.svc.SetDisabled(context.Background(), "admin:test", bare.User.ID, false, auth.Meta{}); err != nil {
		t.Fatal(err)
	}
	e.login(appC, "vera-device")
	types := e.auditTypes(bare.User.ID)
	if !has(types, "user.disable") || !has(types, "user.enable") {
		t.Errorf("audit: %v", types)
	}
}

// A concurrent burst of guesses checks the real hash at most MaxFailures times; the rest meet the
// lock.
func TestLockoutHoldsUnderConcurrency(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) {
		a.Lockout = auth.LockoutPolicy{MaxFailures: 5, LockFor: 10 * time.Minute, IPMaxFailures: 1000, IPWindow: time.Minute}
	})
	acct := e.signUp("walt", "walt password")
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.do("POST", "/v1/login/password", "", map[string]string{"username": "walt", "password": fmt.Sprint("guess ", i)})
		}()
	}
	wg.Wait()
	evs, _ := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{UserID: acct.User.ID, Type: "login.failure"})
	checked := 0
	for _, ev := range evs {
		if !strings.Contains(ev.Detail, `"locked"`) {
			checked++
		}
	}
	if len(evs) != 30 || checked != 5 {
		t.Errorf("%d failures, %d of them checked the real hash; want 30 and 5", len(evs), checked)
	}
	if r := e.do("POST", "/v1/login/password", "", map[string]string{"username": "walt", "password": "walt password"}); r.Status != 401 {
		t.Errorf("right password during the lock: %d", r.Status)
	}
}

// Logging in with credentials cannot give a user a second identity at one app.
func TestOneIdentityPerApp(t *testing.T) {
	e := newEnv(t)
	e.signUp("ann", "ann password")
	bind := func(device string) *response {
		return e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, device), "username": "ann", "password": "ann password"})
	}
	e.mustTokens(bind("ann1"))
	if r := bind("ann2"); r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Errorf("second identity at one app through login: %d %s", r.Status, r.Body)
	}
}

// A bind whose unionid belongs to another user is a conflict: the caller is never deleted.
func TestBindNeverDeletesCaller(t *testing.T) {
	e := newEnv(t)
	quinn := e.login(appB, "quinn")
	pat := e.login(appC, "pat")
	r := e.do("POST", "/v1/me/wechat", pat.AccessToken, map[string]string{"appid": appA, "code": e.code(appA, "quinn")})
	if r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Fatalf("bind of another user's identity by unionid: %d %s", r.Status, r.Body)
	}
	if m := e.me(pat.AccessToken); m.ID != pat.User.ID || len(m.Identities) != 1 {
		t.Errorf("caller changed: %+v", m)
	}
	if m := e.me(quinn.AccessToken); len(m.Identities) != 1 {
		t.Errorf("quinn changed: %+v", m)
	}
}

// A Cloud Run user has no session_key: decrypting answers session_key_stale, not a 500.
func TestCloudRunUserDecrypt(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.CloudRun = true })
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/login/cloud", nil)
	req.Header.Set("X-WX-APPID", appC)
	req.Header.Set("X-WX-OPENID", e.sim.OpenID(appC, "cora"))
	tk := e.mustTokens(e.send(req))
	e.code(appC, "cora") // give the device a key so the simulator can encrypt
	r := e.do("POST", "/v1/me/wechat/profile", tk.AccessToken, e.userInfo(appC, "cora", "Cora"))
	if r.Status != 409 || r.ErrorCode(t) != wxlogin.ESESSIONKEYSTALE {
		t.Errorf("decrypt for a Cloud Run user: %d %s", r.Status, r.Body)
	}
}

// A code repeated from another client address is refused; the same client gets its login.
func TestDuplicateCodeFromAnotherClient(t *testing.T) {
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) { h.TrustProxyHeaders = true })
	code := e.code(appA, "dan")
	send := func(ip string) *response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/login/wechat", strings.NewReader(`{"appid":"`+appA+`","code":"`+code+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", ip)
		return e.send(req)
	}
	first := e.mustTokens(send("203.0.113.7"))
	if r := send("198.51.100.9"); r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
		t.Errorf("replay from another client: %d %s", r.Status, r.Body)
	}
	var again tokens
	r := send("203.0.113.7")
	json.Unmarshal(r.Body, &again)
	if r.Status != 200 || again.User.ID != first.User.ID {
		t.Errorf("retry from the same client: %d %s", r.Status, r.Body)
	}
}
