package http_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
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

// signUp creates an account and returns its password-login tokens.
func (e *env) signUp(username, password string) tokens {
	e.t.Helper()
	r := e.do("POST", "/v1/accounts", "", map[string]string{"username": username, "password": password})
	if r.Status != 201 {
		e.t.Fatalf("sign-up %s: %d %s", username, r.Status, r.Body)
	}
	return e.mustTokens(e.do("POST", "/v1/login/password", "", map[string]string{"username": username, "password": password}))
}

// me returns GET /v1/me decoded.
func (e *env) me(access string) meJSON {
	e.t.Helper()
	r := e.do("GET", "/v1/me", access, nil)
	if r.Status != 200 {
		e.t.Fatalf("GET /v1/me: %d %s", r.Status, r.Body)
	}
	var m meJSON
	json.Unmarshal(r.Body, &m)
	return m
}

type meJSON struct {
	ID               string `json:"id"`
	Username         string `json:"username"`
	Nickname         string `json:"nickname"`
	AvatarURL        string `json:"avatar_url"`
	UnionID          string `json:"unionid"`
	Phone            string `json:"phone"`
	PhoneCountryCode string `json:"phone_country_code"`
	Identities       []struct {
		AppID   string `json:"appid"`
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
	} `json:"identities"`
}

func (e *env) mustUserGone(id string) {
	e.t.Helper()
	if _, err := e.store.User(context.Background(), id); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		e.t.Errorf("user %s still exists (err %v): an orphan was left behind", id, err)
	}
}

func (e *env) auditTypes(userID string) []string {
	e.t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), wxlogin.AuditFilter{UserID: userID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSignUpAndPasswordLogin(t *testing.T) {
	e := newEnv(t)
	tk := e.signUp("Olga.W", "correct horse")
	if m := e.me(tk.AccessToken); m.Username != "olga.w" || len(m.Identities) != 0 {
		t.Errorf("me = %+v", m)
	}
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "olga.w", "password": "another pass"}); r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Errorf("duplicate username: %d %s", r.Status, r.Body)
	}
	for _, bad := range []struct{ u, p string }{
		{"ab", "long enough pw"}, {"_olga", "long enough pw"}, {"ol ga", "long enough pw"}, {strings.Repeat("a", 33), "long enough pw"},
		{"valid", "short"}, {"validname", "validname"}, {"valid", strings.Repeat("p", 129)},
	} {
		if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": bad.u, "password": bad.p}); r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("sign-up %q/%q: %d %s", bad.u, bad.p, r.Status, r.Body)
		}
	}
	if r := e.do("POST", "/v1/login/password", "", map[string]string{"username": "olga.w", "password": "wrong password"}); r.Status != 401 || r.ErrorCode(t) != wxlogin.ECREDENTIALS {
		t.Errorf("wrong password: %d", r.Status)
	}
}

func TestSignUpDisabled(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.Signup = false })
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "olga", "password": "correct horse"}); r.Status != 403 || r.ErrorCode(t) != wxlogin.EFORBIDDEN {
		t.Errorf("sign-up when disabled: %d %s", r.Status, r.Body)
	}
}

// TestLockout: a locked account answers exactly like a wrong password, and the lock expires.
func TestLockout(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) {
		a.Lockout = auth.LockoutPolicy{MaxFailures: 3, LockFor: 10 * time.Minute, IPMaxFailures: 1000, IPWindow: time.Minute}
	})
	e.signUp("pat", "right password")
	wrong := func(user, pw string) *response {
		return e.do("POST", "/v1/login/password", "", map[string]string{"username": user, "password": pw})
	}
	var unknown *response
	for range 3 {
		wrong("pat", "wrong password")
		unknown = wrong("nobody-here", "wrong password")
	}
	locked := wrong("pat", "right password")
	if locked.Status != 401 || locked.ErrorCode(t) != wxlogin.ECREDENTIALS {
		t.Fatalf("locked account with the right password: %d %s", locked.Status, locked.Body)
	}
	msg := func(r *response) string { return fmt.Sprint(r.JSON(t)["error"]) }
	if msg(locked) != msg(unknown) || msg(locked) != msg(wrong("pat", "wrong again")) {
		t.Errorf("locked %q, unknown user %q: answers differ", msg(locked), msg(unknown))
	}
	e.clock.Advance(11 * time.Minute)
	e.mustTokens(wrong("pat", "right password"))
	types := e.auditTypes(e.me(e.mustTokens(wrong("pat", "right password")).AccessToken).ID)
	if !has(types, "login.failure") || !has(types, "login.success") {
		t.Errorf("audit: %v", types)
	}
}

func TestIPLimit(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) {
		a.Lockout = auth.LockoutPolicy{MaxFailures: 100, LockFor: time.Minute, IPMaxFailures: 4, IPWindow: time.Minute}
	})
	e.signUp("quinn", "right password")
	var last *response
	for i := range 6 {
		last = e.do("POST", "/v1/login/password", "", map[string]string{"username": fmt.Sprintf("user%d", i), "password": "whatever pw"})
	}
	if last.Status != 429 || last.ErrorCode(t) != wxlogin.ERATELIMITED || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after many failures from one IP: %d %s", last.Status, last.Body)
	}
	e.clock.Advance(time.Minute + time.Second)
	e.mustTokens(e.do("POST", "/v1/login/password", "", map[string]string{"username": "quinn", "password": "right password"}))
}

// TestBindOnLogin: a code sent with an account's credentials binds the identity to the account, and
// later silent logins land on it; a bare WeChat-only user of that identity is merged in.
func TestBindOnLogin(t *testing.T) {
	e := newEnv(t)
	acct := e.signUp("rita", "rita password")
	bare := e.login(appC, "rita-device") // a bare auto-created user, no unionid (appC has no platform)
	r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "rita-device"), "username": "rita", "password": "rita password"})
	tk := e.mustTokens(r)
	if tk.User.ID != acct.User.ID || tk.NewUser {
		t.Fatalf("bind login landed on %s, want the account's user %s", tk.User.ID, acct.User.ID)
	}
	e.mustUserGone(bare.User.ID)
	if r := e.do("GET", "/v1/me", bare.AccessToken, nil); r.Status != 401 {
		t.Errorf("the merged-away user's session still works: %d", r.Status)
	}
	silent := e.login(appC, "rita-device")
	if silent.User.ID != acct.User.ID {
		t.Errorf("later silent login landed on %s", silent.User.ID)
	}
	if m := e.me(silent.AccessToken); m.Username != "rita" || len(m.Identities) != 1 {
		t.Errorf("me = %+v", m)
	}
	if types := e.auditTypes(acct.User.ID); !has(types, "user.merge") {
		t.Errorf("no user.merge audit event: %v", types)
	}
	// Wrong credentials bind nothing.
	r = e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "someone"), "username": "rita", "password": "wrong password"})
	if r.Status != 401 || r.ErrorCode(t) != wxlogin.ECREDENTIALS {
		t.Errorf("bind with a wrong password: %d", r.Status)
	}
}

// TestBindConflict: an identity already bound to another account gets conflict; nothing changes.
func TestBindConflict(t *testing.T) {
	e := newEnv(t)
	sam := e.signUp("sam", "sam password")
	e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "shared-phone"), "username": "sam", "password": "sam password"})
	tom := e.signUp("tom", "tom password")
	r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appC, "code": e.code(appC, "shared-phone"), "username": "tom", "password": "tom password"})
	if r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Fatalf("binding an identity of another account: %d %s", r.Status, r.Body)
	}
	if tk := e.login(appC, "shared-phone"); tk.User.ID != sam.User.ID {
		t.Error("the identity moved despite the conflict")
	}
	if m := e.me(tom.AccessToken); len(m.Identities) != 0 {
		t.Errorf("tom got an identity: %+v", m)
	}
	if types := e.auditTypes(tom.User.ID); !has(types, "merge.conflict") {
		t.Errorf("conflict not audited: %v", types)
	}
}

func TestBindAndUnbindEndpoints(t *testing.T) {
	e := newEnv(t)
	acct := e.signUp("uma", "uma password")
	r := e.do("POST", "/v1/me/wechat", acct.AccessToken, map[string]string{"appid": appA, "code": e.code(appA, "uma-phone")})
	if r.Status != 200 {
		t.Fatalf("bind: %d %s", r.Status, r.Body)
	}
	if tk := e.login(appA, "uma-phone"); tk.User.ID != acct.User.ID || tk.User.Username != "uma" {
		t.Errorf("login after bind landed on %s (username %q)", tk.User.ID, tk.User.Username)
	}
	// A second identity at the same app is refused.
	if r := e.do("POST", "/v1/me/wechat", acct.AccessToken, map[string]string{"appid": appA, "code": e.code(appA, "uma-other-phone")}); r.Status != 409 {
		t.Errorf("second identity at one app: %d", r.Status)
	}
	if r := e.do("DELETE", "/v1/me/wechat/"+appA, acct.AccessToken, nil); r.Status != 204 {
		t.Fatalf("unbind: %d %s", r.Status, r.Body)
	}
	if r := e.do("DELETE", "/v1/me/wechat/"+appA, acct.AccessToken, nil); r.Status != 404 {
		t.Errorf("unbind twice: %d", r.Status)
	}
	// The last way in of a WeChat-only user cannot be unbound.
	only := e.login(appC, "vic")
	if r := e.do("DELETE", "/v1/me/wechat/"+appC, only.AccessToken, nil); r.Status != 403 || r.ErrorCode(t) != wxlogin.EFORBIDDEN {
		t.Errorf("unbinding the last way in: %d %s", r.Status, r.Body)
	}
	types := e.auditTypes(acct.User.ID)
	if !has(types, "identity.bind") || !has(types, "identity.unbind") {
		t.Errorf("audit: %v", types)
	}
}

// TestUnionIDAcrossApps: a login at app B whose unionid is known from app A lands on the same user
// with a second identity; app C (no platform) gets no unionid and its own user.
func TestUnionIDAcrossApps(t *testing.T) {
	e := newEnv(t)
	a := e.login(appA, "wendy")
	b := e.login(appB, "wendy")
	if b.User.ID != a.User.ID || b.NewUser {
		t.Fatalf("app B login: user %s new=%v, want %s", b.User.ID, b.NewUser, a.User.ID)
	}
	m := e.me(b.AccessToken)
	if len(m.Identities) != 2 || m.UnionID != e.sim.UnionID(platform, "wendy") {
		t.Errorf("me = %+v", m)
	}
	c := e.login(appC, "wendy")
	if c.User.ID == a.User.ID || c.User.UnionID != "" {
		t.Errorf("app C without platform: user %s unionid %q", c.User.ID, c.User.UnionID)
	}
}

// TestConcurrentFirstLogins: the same new person logging in at once through two apps of one
// platform never makes two users.
func TestConcurrentFirstLogins(t *testing.T) {
	e := newEnv(t)
	const n = 10
	var wg sync.WaitGroup
	ids := make([]string, n)
	codes := make([]map[string]string, n)
	for i := range n {
		app := appA
		if i%2 == 1 {
			app = appB
		}
		codes[i] = map[string]string{"appid": app, "code": e.code(app, "xena")}
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/v1/login/wechat", "", codes[i])
			if r.Status == 200 {
				var tk tokens
				json.Unmarshal(r.Body, &tk)
				ids[i] = tk.User.ID
			} else {
				t.Errorf("concurrent login: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent first logins made several users: %v", ids)
		}
	}
	u, err := e.store.UserByUnionID(context.Background(), e.sim.UnionID(platform, "xena"))
	if err != nil || u.ID != ids[0] {
		t.Errorf("unionid user = %v, %v", u, err)
	}
	idents, _ := e.store.IdentitiesByUser(context.Background(), ids[0])
	if len(idents) != 2 {
		t.Errorf("%d identities, want 2", len(idents))
	}
}

func TestPatchMe(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "yara")
	r := e.do("PATCH", "/v1/me", tk.AccessToken, map[string]string{"nickname": " 小雅 ", "avatar_url": "https://cdn.example.com/a.png"})
	if r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if m := e.me(tk.AccessToken); m.Nickname != "小雅" || m.AvatarURL != "https://cdn.example.com/a.png" {
		t.Errorf("me = %+v", m)
	}
	// wx.request cannot send PATCH: POST /v1/me does the same.
	if r := e.do("POST", "/v1/me", tk.AccessToken, map[string]string{"nickname": "Yara"}); r.Status != 200 {
		t.Fatalf("POST /v1/me: %d %s", r.Status, r.Body)
	}
	if m := e.me(tk.AccessToken); m.Nickname != "Yara" || m.AvatarURL != "https://cdn.example.com/a.png" {
		t.Errorf("after POST /v1/me: %+v", m)
	}
	for _, body := range []map[string]any{{}, {"nickname": strings.Repeat("x", 65)}, {"nickname": "a\nb"}, {"avatar_url": "javascript:alert(1)"}, {"avatar_url": 5}} {
		if r := e.do("PATCH", "/v1/me", tk.AccessToken, body); r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("patch %v: %d", body, r.Status)
		}
	}
}

// userInfo asks the simulator for encrypted user info of device user under their current key.
func (e *env) userInfo(appid, user, nickname string) map[string]string {
	e.t.Helper()
	ui, err := e.sim.UserInfoWith(appid, user, nickname, "https://thirdwx.qlogo.cn/x/132")
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]string{"appid": appid, "encrypted_data": ui.EncryptedData, "iv": ui.IV, "raw_data": ui.RawData, "signature": ui.Signature}
}

func TestWeChatProfile(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appC, "zoe")
	r := e.do("POST", "/v1/me/wechat/profile", tk.AccessToken, e.userInfo(appC, "zoe", "Zoe"))
	if r.Status != 200 {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	if m := e.me(tk.AccessToken); m.Nickname != "Zoe" || m.AvatarURL == "" {
		t.Errorf("me = %+v", m)
	}
	// A tampered signature or ciphertext is invalid while the key is current: invalid_request.
	bad := e.userInfo(appC, "zoe", "Zoe")
	bad["signature"] = strings.Repeat("0", 40)
	if r := e.do("POST", "/v1/me/wechat/profile", tk.AccessToken, bad); r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
		t.Errorf("bad signature: %d %s", r.Status, r.Body)
	}
	for _, mut := range []func(m map[string]string){
		func(m map[string]string) { m["encrypted_data"] = "AAAA" + m["encrypted_data"][4:] },
		func(m map[string]string) { m["iv"] = "AAAAAAAAAAAAAAAAAAAAAA==" },
		func(m map[string]string) { m["encrypted_data"] = "%%%notbase64" },
		func(m map[string]string) { m["iv"] = "c2hvcnQ=" },
	} {
		d := e.userInfo(appC, "zoe", "Zoe")
		delete(d, "raw_data")
		delete(d, "signature")
		mut(d)
		r := e.do("POST", "/v1/me/wechat/profile", tk.AccessToken, d)
		if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID || !strings.Contains(string(r.Body), "the encrypted data is invalid") {
			t.Errorf("corrupted data: %d %s", r.Status, r.Body)
		}
	}
}

// TestSessionKeyStale: data encrypted before a wx.login that replaced the key answers
// session_key_stale; after logging in again and resending, it works.
func TestSessionKeyStale(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appC, "amy")
	data := e.userInfo(appC, "amy", "Amy")
	e.code(appC, "amy") // a wx.login on the device replaces the session_key; the server still has the old one
	// The server's key is now older than WeChat's; data made with the device's new key fails.
	fresh := e.userInfo(appC, "amy", "Amy")
	r := e.do("POST", "/v1/me/wechat/profile", tk.AccessToken, fresh)
	if r.Status != 409 || r.ErrorCode(t) != wxlogin.ESESSIONKEYSTALE {
		t.Fatalf("stale key: %d %s", r.Status, r.Body)
	}
	_ = data
	tk2 := e.login(appC, "amy")
	if r := e.do("POST", "/v1/me/wechat/profile", tk2.AccessToken, e.userInfo(appC, "amy", "Amy")); r.Status != 200 {
		t.Fatalf("after login again: %d %s", r.Status, r.Body)
	}
	// Expired key: stale as well.
	data = e.userInfo(appC, "amy", "Amy")
	if err := e.sim.ExpireSessionKey(appC, "amy"); err != nil {
		t.Fatal(err)
	}
	data["signature"] = strings.Repeat("1", 40)
	if r := e.do("POST", "/v1/me/wechat/profile", tk2.AccessToken, data); r.Status != 409 || r.ErrorCode(t) != wxlogin.ESESSIONKEYSTALE {
		t.Errorf("expired key: %d %s", r.Status, r.Body)
	}
}

// TestUnionIDFromUserInfoMerges: an app's identity without a platform unionid learns it from
// decrypted user info; the bare user merges into the unionid's user.
func TestUnionIDLearnedLater(t *testing.T) {
	e := newEnv(t)
	viaA := e.login(appA, "ben") // user with the platform unionid
	// A user at app C (no platform: no unionid from code2Session) ...
	viaC := e.login(appC, "ben")
	if viaC.User.ID == viaA.User.ID {
		t.Fatal("app C login found the unionid user without a unionid")
	}
	// ... later learns the unionid through getPaidUnionId after a payment.
	tx, err := e.sim.Payment(appC, "ben")
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/me/wechat/unionid", viaC.AccessToken, map[string]string{"appid": appC, "transaction_id": tx})
	// appC has no platform: WeChat says 89002 → invalid_request.
	if r.Status != 400 {
		t.Fatalf("paid unionid at an unbound app: %d %s", r.Status, r.Body)
	}
	// At a bound app the unionid is known from login already; a stale transaction is refused.
	if r := e.do("POST", "/v1/me/wechat/unionid", viaA.AccessToken, map[string]string{"appid": appA, "transaction_id": "4200000000000000000000000000"}); r.Status != 400 {
		t.Errorf("unknown transaction: %d %s", r.Status, r.Body)
	}
	tx, _ = e.sim.Payment(appA, "ben")
	if r := e.do("POST", "/v1/me/wechat/unionid", viaA.AccessToken, map[string]string{"appid": appA, "transaction_id": tx}); r.Status != 200 {
		t.Errorf("paid unionid: %d %s", r.Status, r.Body)
	}
}

// legacyUser stores, as an older wxlogin would have, a user with an account and an identity at
// app for device user that has no unionid yet.
func (e *env) legacyUser(id, username, appid, device string) {
	e.t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	if err := e.store.CreateUser(ctx, &wxlogin.User{ID: id, CreatedAt: now, UpdatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if username != "" {
		if err := e.store.CreateAccount(ctx, &wxlogin.Account{UserID: id, Username: username, PasswordHash: "x", CreatedAt: now}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.store.CreateIdentity(ctx, &wxlogin.Identity{AppID: appid, OpenID: e.sim.OpenID(appid, device), UserID: id, CreatedAt: now}); err != nil {
		e.t.Fatal(err)
	}
}

// TestUnionIDLearnedMergesBareUser: an identity without a unionid whose user is bare learns a
// unionid another user holds: the bare user is merged into that user.
func TestUnionIDLearnedMergesBareUser(t *testing.T) {
	e := newEnv(t)
	holder := e.signUp("fred", "fred password")
	e.legacyUser("usr_bare_eve", "", appA, "eve-device")
	u, _ := e.store.User(context.Background(), holder.User.ID)
	u.UnionID = e.sim.UnionID(platform, "eve-device")
	if err := e.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	tk := e.login(appA, "eve-device")
	if tk.User.ID != holder.User.ID {
		t.Fatalf("login landed on %s, want the unionid's user %s", tk.User.ID, holder.User.ID)
	}
	e.mustUserGone("usr_bare_eve")
	if m := e.me(tk.AccessToken); len(m.Identities) != 1 || m.Identities[0].OpenID != e.sim.OpenID(appA, "eve-device") {
		t.Errorf("me = %+v", m)
	}
	if types := e.auditTypes(holder.User.ID); !has(types, "user.merge") {
		t.Errorf("audit: %v", types)
	}
}

// TestUnionIDConflict: a unionid learned for a user with an account, while another user with an
// account holds it, is a conflict for the app to resolve, recorded in the audit log. The login
// itself still works; decrypted user info carrying it answers conflict. No unionid belongs to two
// users.
func TestUnionIDConflict(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	carl := e.signUp("carl", "carl password")
	unionid := e.sim.UnionID(platform, "dora-device")
	u, _ := e.store.User(ctx, carl.User.ID)
	u.UnionID = unionid
	if err := e.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	e.legacyUser("usr_dora", "dora", appA, "dora-device")

	tk := e.login(appA, "dora-device")
	if tk.User.ID != "usr_dora" {
		t.Fatalf("login landed on %s, want usr_dora", tk.User.ID)
	}
	if types := e.auditTypes("usr_dora"); !has(types, "merge.conflict") {
		t.Errorf("conflict not audited: %v", types)
	}
	r := e.do("POST", "/v1/me/wechat/profile", tk.AccessToken, e.userInfo(appA, "dora-device", "Dora"))
	if r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Errorf("profile with a conflicting unionid: %d %s", r.Status, r.Body)
	}
	if holder, err := e.store.UserByUnionID(ctx, unionid); err != nil || holder.ID != carl.User.ID {
		t.Errorf("unionid holder = %v, %v; want carl", holder, err)
	}
	if d, _ := e.store.User(ctx, "usr_dora"); d.UnionID != "" || d.Nickname != "" {
		t.Errorf("dora changed despite the conflict: %+v", d)
	}
}

func TestCloudRunLogin(t *testing.T) {
	send := func(e *env, headers map[string]string) *response {
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1/login/cloud", nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return e.send(req)
	}
	off := newEnv(t)
	if r := send(off, map[string]string{"X-WX-APPID": appA, "X-WX-OPENID": "oAAAA"}); r.Status != 403 || r.ErrorCode(t) != wxlogin.EFORBIDDEN {
		t.Errorf("cloud login while off: %d %s", r.Status, r.Body)
	}
	on := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.CloudRun = true })
	openid := on.sim.OpenID(appA, "cloud-user")
	tk := on.mustTokens(send(on, map[string]string{"X-WX-APPID": appA, "X-WX-OPENID": openid, "X-WX-UNIONID": on.sim.UnionID(platform, "cloud-user")}))
	if !tk.NewUser {
		t.Error("first cloud login: new_user false")
	}
	// A code login of the same person lands on the same user.
	if again := on.login(appA, "cloud-user"); again.User.ID != tk.User.ID {
		t.Errorf("code login after cloud login: %s vs %s", again.User.ID, tk.User.ID)
	}
	for _, h := range []map[string]string{{}, {"X-WX-APPID": appA}, {"X-WX-APPID": appA, "X-WX-OPENID": "bad openid!"}, {"X-WX-APPID": "wxnope", "X-WX-OPENID": openid}} {
		if r := send(on, h); r.Status != 400 {
			t.Errorf("cloud login with %v: %d", h, r.Status)
		}
	}
}

func TestPhoneCode(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "gil")
	code, err := e.sim.PhoneCode(appA, "gil", "13580006666")
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": code})
	if r.Status != 200 {
		t.Fatalf("phone: %d %s", r.Status, r.Body)
	}
	if m := e.me(tk.AccessToken); m.Phone != "13580006666" || m.PhoneCountryCode != "86" {
		t.Errorf("me = %+v", m)
	}
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
		t.Errorf("reused phone code: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": e.code(appA, "gil")}); r.Status != 401 || r.ErrorCode(t) != wxlogin.EINVALIDCODE {
		t.Errorf("wx.login code as a phone code: %d %s", r.Status, r.Body)
	}
	other, _ := e.sim.PhoneCode(appA, "someone-else", "13900000000")
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": other}); r.Status != 401 {
		t.Errorf("another user's phone code: %d %s", r.Status, r.Body)
	}
	// A number another user verified is a conflict.
	hal := e.login(appA, "hal")
	halCode, _ := e.sim.PhoneCode(appA, "hal", "13580006666")
	if r := e.do("POST", "/v1/me/phone", hal.AccessToken, map[string]string{"appid": appA, "code": halCode}); r.Status != 409 || r.ErrorCode(t) != wxlogin.ECONFLICT {
		t.Errorf("phone of another user: %d %s", r.Status, r.Body)
	}
	if types := e.auditTypes(hal.User.ID); !has(types, "phone.conflict") {
		t.Errorf("phone conflict not audited: %v", types)
	}
	if types := e.auditTypes(tk.User.ID); !has(types, "phone.verify") {
		t.Errorf("phone not audited: %v", types)
	}
	for _, body := range []map[string]string{{}, {"code": "x", "encrypted_data": "y", "iv": "z"}, {"encrypted_data": "only"}} {
		if r := e.do("POST", "/v1/me/phone", tk.AccessToken, body); r.Status != 400 {
			t.Errorf("phone %v: %d", body, r.Status)
		}
	}
}

// encryptOpenData encrypts plaintext as WeChat does (AES-128-CBC, PKCS#7) under a session_key.
func encryptOpenData(t *testing.T, sessionKey string, plaintext []byte) (data, iv string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(sessionKey)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(append([]byte{}, plaintext...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	ivb := make([]byte, aes.BlockSize)
	rand.Read(ivb)
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, ivb).CryptBlocks(out, padded)
	return base64.StdEncoding.EncodeToString(out), base64.StdEncoding.EncodeToString(ivb)
}

// TestPhoneLegacyEncrypted: the legacy encrypted phone decrypts with the stored key; after a
// wx.login replaced the key, the server says session_key_stale.
func TestPhoneLegacyEncrypted(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "ida")
	keys := e.sim.IssuedSessionKeys()
	current := keys[len(keys)-1]
	plain := []byte(`{"phoneNumber":"+1 5551234567","purePhoneNumber":"5551234567","countryCode":"1","watermark":{"timestamp":1637744274,"appid":"` + appA + `"}}`)
	data, iv := encryptOpenData(t, current, plain)
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "encrypted_data": data, "iv": iv}); r.Status != 200 {
		t.Fatalf("legacy phone: %d %s", r.Status, r.Body)
	}
	if m := e.me(tk.AccessToken); m.Phone != "5551234567" || m.PhoneCountryCode != "1" {
		t.Errorf("me = %+v", m)
	}
	// Watermark of another app: invalid while the key is current.
	wrong := []byte(strings.Replace(string(plain), appA, appB, 1))
	data, iv = encryptOpenData(t, current, wrong)
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "encrypted_data": data, "iv": iv}); r.Status != 400 {
		t.Errorf("watermark of another app: %d %s", r.Status, r.Body)
	}
	// wx.login on the device replaces the key: data under the new key is stale for the server.
	e.code(appA, "ida")
	keys = e.sim.IssuedSessionKeys()
	data, iv = encryptOpenData(t, keys[len(keys)-1], plain)
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "encrypted_data": data, "iv": iv}); r.Status != 409 || r.ErrorCode(t) != wxlogin.ESESSIONKEYSTALE {
		t.Errorf("stale key: %d %s", r.Status, r.Body)
	}
}

func TestPhoneLogin(t *testing.T) {
	off := newEnv(t)
	code, _ := off.sim.PhoneCode(appA, "jon", "13700000000")
	if r := off.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": code}); r.Status != 403 || r.ErrorCode(t) != wxlogin.EFORBIDDEN {
		t.Errorf("phone login while off: %d %s", r.Status, r.Body)
	}
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.PhoneLogin = true })
	tk := e.login(appA, "jon")
	code, _ = e.sim.PhoneCode(appA, "jon", "13700000000")
	if r := e.do("POST", "/v1/me/phone", tk.AccessToken, map[string]string{"appid": appA, "code": code}); r.Status != 200 {
		t.Fatalf("verify phone: %d %s", r.Status, r.Body)
	}
	code, _ = e.sim.PhoneCode(appA, "jon", "13700000000")
	byPhone := e.mustTokens(e.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": code}))
	if byPhone.User.ID != tk.User.ID {
		t.Errorf("phone login landed on %s, want %s", byPhone.User.ID, tk.User.ID)
	}
	code, _ = e.sim.PhoneCode(appA, "kay", "13811111111")
	if r := e.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": code}); r.Status != 401 || r.ErrorCode(t) != wxlogin.ECREDENTIALS {
		t.Errorf("unknown phone: %d %s", r.Status, r.Body)
	}
}
