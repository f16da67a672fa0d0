package http_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// TestBadInput sends malformed requests to every JSON endpoint: each must get a 4xx in the JSON
// error shape, and the server must stay healthy.
func TestBadInput(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.PhoneLogin, a.CloudRun = true, true })
	tk := e.login(appA, "nina")
	big := `{"code":"` + strings.Repeat("a", 70<<10) + `"}`
	deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	type tc = badInputCase
	var cases []tc
	for _, path := range []string{"/v1/login/wechat", "/v1/login/password", "/v1/accounts", "/v1/token/refresh", "/v1/login/phone", "/v1/login/wechat/oauth", "/v1/login/exchange"} {
		cases = append(cases,
			tc{"no content type", "POST", path, "", `{"code":"x"}`, false, 400, wxlogin.EINVALID},
			tc{"text/plain", "POST", path, "text/plain", `{"code":"x"}`, false, 400, wxlogin.EINVALID},
			tc{"form", "POST", path, "application/x-www-form-urlencoded", `code=x`, false, 400, wxlogin.EINVALID},
			tc{"empty body", "POST", path, "application/json", ``, false, 400, wxlogin.EINVALID},
			tc{"malformed", "POST", path, "application/json", `{"code":`, false, 400, wxlogin.EINVALID},
			tc{"not an object", "POST", path, "application/json", `["code"]`, false, 400, wxlogin.EINVALID},
			tc{"string", "POST", path, "application/json", `"code"`, false, 400, wxlogin.EINVALID},
			tc{"null", "POST", path, "application/json", `null`, false, 400, wxlogin.EINVALID},
			tc{"unknown field", "POST", path, "application/json", `{"nope":1}`, false, 400, wxlogin.EINVALID},
			tc{"wrong type", "POST", path, "application/json", `{"code":5,"username":5,"refresh_token":5}`, false, 400, wxlogin.EINVALID},
			tc{"trailing data", "POST", path, "application/json", `{} {}`, false, 400, wxlogin.EINVALID},
			tc{"trailing garbage", "POST", path, "application/json", `{}x`, false, 400, wxlogin.EINVALID},
			tc{"huge body", "POST", path, "application/json", big, false, 413, wxlogin.ETOOLARGE},
			tc{"deeply nested", "POST", path, "application/json", deep, false, 400, wxlogin.EINVALID},
			tc{"missing fields", "POST", path, "application/json", `{}`, false, 400, wxlogin.EINVALID},
			tc{"GET", "GET", path, "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		)
	}
	cases = append(cases,
		tc{"code with NUL", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"ab\u0000cd"}`, false, 400, wxlogin.EINVALID},
		tc{"code with invalid UTF-8", "POST", "/v1/login/wechat", "application/json", "{\"appid\":\"" + appA + "\",\"code\":\"ab\xff\xfecd\"}", false, 400, wxlogin.EINVALID},
		tc{"code too long", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"` + strings.Repeat("a", 129) + `"}`, false, 400, wxlogin.EINVALID},
		tc{"code with spaces", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"a b"}`, false, 400, wxlogin.EINVALID},
		tc{"username without password", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"abc","username":"x"}`, false, 400, wxlogin.EINVALID},
		tc{"me without token", "GET", "/v1/me", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		tc{"me with garbage token", "GET", "/v1/me", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		tc{"unknown route", "GET", "/v1/nope", "", ``, false, 404, wxlogin.ENOTFOUND},
		tc{"PUT me", "PUT", "/v1/me", "application/json", `{}`, true, 405, wxlogin.EMETHODNOTALLOWED},
		tc{"introspect without credentials", "POST", "/v1/introspect", "application/json", `{"token":"x"}`, false, 401, wxlogin.EUNAUTHORIZED},
	)
	cases = append(cases, moreBadInput(appA)...)
	for _, c := range cases {
		path := c.path
		if len(path) > 48 {
			path = path[:48] + "…"
		}
		t.Run(c.method+" "+path+" "+c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			if c.auth {
				req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
			} else if c.name == "me with garbage token" {
				req.Header.Set("Authorization", "Bearer not.a.jwt")
			}
			if c.path == "/v1/introspect" && c.name != "introspect without credentials" {
				req.SetBasicAuth(clientID, clientSec)
			}
			for k, v := range badInputHeaders[c.name] {
				req.Header.Set(k, v)
			}
			r := e.send(req)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if got := r.ErrorCode(t); got != c.code {
				t.Fatalf("code %q, want %q", got, c.code)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}
	if len(cases) < 120 {
		t.Fatalf("only %d cases", len(cases))
	}
	t.Logf("%d malformed requests", len(cases))
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
		t.Fatalf("server unhealthy after bad input: %d", r.Status)
	}
	if r := e.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("/healthz after bad input: %d", r.Status)
	}
	e.login(appB, "nina-after-the-battery")
}

// TestBadUserAgent: a User-Agent of invalid UTF-8 (which PostgreSQL would refuse to store) does
// not fail a login; the session keeps a cleaned copy.
func TestBadUserAgent(t *testing.T) {
	e := newEnv(t)
	req := e.request("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "ua")})
	req.Header.Set("User-Agent", "Mozilla\xff\xfe/5.0 \xc3\x28")
	tk := e.mustTokens(e.send(req))
	sess, err := e.store.Session(context.Background(), tk.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if ua := sess.UserAgent; !utf8.ValidString(ua) || !strings.HasPrefix(ua, "Mozilla") {
		t.Fatalf("stored User-Agent %q", ua)
	}
}

// badInputHeaders are the extra headers of some cases of moreBadInput, by case name.
var badInputHeaders = map[string]map[string]string{
	"cloud without headers":     {},
	"cloud bad openid":          {"X-WX-APPID": "wxa0000000000000a1", "X-WX-OPENID": "o<script>"},
	"cloud long openid":         {"X-WX-APPID": "wxa0000000000000a1", "X-WX-OPENID": strings.Repeat("o", 65)},
	"cloud bad unionid":         {"X-WX-APPID": "wxa0000000000000a1", "X-WX-OPENID": "o123", "X-WX-UNIONID": "u u"},
	"cloud unknown appid":       {"X-WX-APPID": "wxnope", "X-WX-OPENID": "o123"},
	"cloud openid only":         {"X-WX-OPENID": "o123"},
	"cloud openid invalid utf8": {"X-WX-APPID": "wxa0000000000000a1", "X-WX-OPENID": "o\xff\xfe"},
}

// moreBadInput covers the routes the first table leaves out: every authenticated JSON endpoint,
// path parameters, introspection, Cloud Run headers, wrong methods, bad base64 and wrong iv and
// ciphertext lengths.
func moreBadInput(app string) []badInputCase {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	nested := `{"code":` + strings.Repeat("[", 100_000) + `}`
	var cases []badInputCase
	for _, path := range []string{"/v1/me", "/v1/me/wechat", "/v1/me/wechat/profile", "/v1/me/wechat/unionid", "/v1/me/phone"} {
		for _, method := range []string{"POST", "PATCH"} {
			if method == "PATCH" && path != "/v1/me" {
				continue
			}
			cases = append(cases,
				badInputCase{"no content type", method, path, "", `{"appid":"x"}`, true, 400, wxlogin.EINVALID},
				badInputCase{"bad content type", method, path, "application/json;;;", `{"appid":"x"}`, true, 400, wxlogin.EINVALID},
				badInputCase{"form", method, path, "application/x-www-form-urlencoded", `appid=x`, true, 400, wxlogin.EINVALID},
				badInputCase{"empty body", method, path, "application/json", ``, true, 400, wxlogin.EINVALID},
				badInputCase{"malformed", method, path, "application/json", `{"appid":`, true, 400, wxlogin.EINVALID},
				badInputCase{"array", method, path, "application/json", `[]`, true, 400, wxlogin.EINVALID},
				badInputCase{"unknown field", method, path, "application/json", `{"appid":"` + app + `","is_admin":true}`, true, 400, wxlogin.EINVALID},
				badInputCase{"wrong type", method, path, "application/json", `{"appid":["x"],"nickname":{}}`, true, 400, wxlogin.EINVALID},
				badInputCase{"trailing data", method, path, "application/json", `{}[]`, true, 400, wxlogin.EINVALID},
				badInputCase{"huge body", method, path, "application/json", `{"appid":"` + strings.Repeat("x", 80<<10) + `"}`, true, 413, wxlogin.ETOOLARGE},
				badInputCase{"100k nested arrays", method, path, "application/json", nested, true, 413, wxlogin.ETOOLARGE},
				badInputCase{"invalid UTF-8", method, path, "application/json", "{\"appid\":\"" + app + "\xc3\x28\"}", true, 400, wxlogin.EINVALID},
				badInputCase{"raw NUL byte", method, path, "application/json", "{\"appid\":\"a\x00b\"}", true, 400, wxlogin.EINVALID},
				badInputCase{"missing fields", method, path, "application/json", `{}`, true, 400, wxlogin.EINVALID},
			)
		}
	}
	long := strings.Repeat("a", 10_000)
	cases = append(cases,
		// PATCH /v1/me
		badInputCase{"nickname too long", "PATCH", "/v1/me", "application/json", `{"nickname":"` + strings.Repeat("名", 65) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"nickname with escaped NUL", "PATCH", "/v1/me", "application/json", `{"nickname":"a\u0000b"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"nickname invalid UTF-8", "PATCH", "/v1/me", "application/json", "{\"nickname\":\"ab\xff\"}", true, 400, wxlogin.EINVALID},
		badInputCase{"nickname with newline", "PATCH", "/v1/me", "application/json", `{"nickname":"a\nb"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"avatar javascript URL", "PATCH", "/v1/me", "application/json", `{"avatar_url":"javascript:alert(1)"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"avatar without host", "PATCH", "/v1/me", "application/json", `{"avatar_url":"https://"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"avatar too long", "PATCH", "/v1/me", "application/json", `{"avatar_url":"https://a.example/` + strings.Repeat("a", 1100) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"nulls only", "POST", "/v1/me", "application/json", `{"nickname":null,"avatar_url":null}`, true, 400, wxlogin.EINVALID},
		badInputCase{"nickname number", "POST", "/v1/me", "application/json", `{"nickname":12}`, true, 400, wxlogin.EINVALID},
		// POST /v1/me/wechat
		badInputCase{"bind code with spaces", "POST", "/v1/me/wechat", "application/json", `{"appid":"` + app + `","code":"a b"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"bind code too long", "POST", "/v1/me/wechat", "application/json", `{"appid":"` + app + `","code":"` + strings.Repeat("c", 129) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"bind unknown appid", "POST", "/v1/me/wechat", "application/json", `{"appid":"wxnope","code":"abc"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"bind huge appid", "POST", "/v1/me/wechat", "application/json", `{"appid":"` + long + `","code":"abc"}`, true, 400, wxlogin.EINVALID},
		// POST /v1/me/wechat/profile
		badInputCase{"profile bad base64", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"!!!!","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile iv 8 bytes", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(32) + `","iv":"` + b64(8) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile iv bad base64", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(32) + `","iv":"***"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile ciphertext 17 bytes", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(17) + `","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile ciphertext empty block", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"=","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile garbage ciphertext", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(64) + `","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile ciphertext too long", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(20<<10) + `","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile raw_data without signature", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(32) + `","iv":"` + b64(16) + `","raw_data":"{}"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile signature too long", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(32) + `","iv":"` + b64(16) + `","raw_data":"{}","signature":"` + strings.Repeat("f", 200) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"profile unknown appid", "POST", "/v1/me/wechat/profile", "application/json", `{"appid":"wxnope","encrypted_data":"` + b64(32) + `","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		// POST /v1/me/wechat/unionid
		badInputCase{"transaction_id too long", "POST", "/v1/me/wechat/unionid", "application/json", `{"appid":"` + app + `","transaction_id":"` + strings.Repeat("4", 65) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"transaction_id number", "POST", "/v1/me/wechat/unionid", "application/json", `{"appid":"` + app + `","transaction_id":4200001}`, true, 400, wxlogin.EINVALID},
		// POST /v1/me/phone
		badInputCase{"phone code and encrypted data", "POST", "/v1/me/phone", "application/json", `{"appid":"` + app + `","code":"abc","encrypted_data":"` + b64(32) + `","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"phone code with NUL", "POST", "/v1/me/phone", "application/json", `{"appid":"` + app + `","code":"a\u0000b"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"phone bad base64", "POST", "/v1/me/phone", "application/json", `{"appid":"` + app + `","encrypted_data":"%%%%","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"phone iv 12 bytes", "POST", "/v1/me/phone", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(32) + `","iv":"` + b64(12) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"phone ciphertext 15 bytes", "POST", "/v1/me/phone", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(15) + `","iv":"` + b64(16) + `"}`, true, 400, wxlogin.EINVALID},
		badInputCase{"phone encrypted data without iv", "POST", "/v1/me/phone", "application/json", `{"appid":"` + app + `","encrypted_data":"` + b64(32) + `"}`, true, 400, wxlogin.EINVALID},
		// Logins and accounts with malformed values.
		badInputCase{"phone login code with NUL", "POST", "/v1/login/phone", "application/json", `{"appid":"` + app + `","code":"a\u0000b"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"phone login unknown appid", "POST", "/v1/login/phone", "application/json", `{"appid":"wxnope","code":"abc"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"oauth code with NUL", "POST", "/v1/login/wechat/oauth", "application/json", `{"appid":"` + appOA + `","code":"a\u0000b"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"username with NUL", "POST", "/v1/login/password", "application/json", `{"username":"ni\u0000na","password":"whatever-pass"}`, false, 401, wxlogin.ECREDENTIALS},
		badInputCase{"password 100 KB", "POST", "/v1/login/password", "application/json", `{"username":"nina","password":"` + strings.Repeat("p", 50<<10) + `"}`, false, 401, wxlogin.ECREDENTIALS},
		badInputCase{"sign-up bad username", "POST", "/v1/accounts", "application/json", `{"username":"-x y","password":"whatever-pass"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"sign-up short password", "POST", "/v1/accounts", "application/json", `{"username":"zed","password":"short"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"sign-up password with NUL", "POST", "/v1/accounts", "application/json", `{"username":"zed","password":"long-enough\u0000"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"sign-up password is username", "POST", "/v1/accounts", "application/json", `{"username":"zedzedzed","password":"ZEDZEDZED"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"refresh token 300 chars", "POST", "/v1/token/refresh", "application/json", `{"refresh_token":"` + strings.Repeat("r", 300) + `"}`, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"refresh token with NUL", "POST", "/v1/token/refresh", "application/json", `{"refresh_token":"r\u0000"}`, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"wechat login unknown appid", "POST", "/v1/login/wechat", "application/json", `{"appid":"wxnope","code":"abc"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"wechat login appid number", "POST", "/v1/login/wechat", "application/json", `{"appid":1,"code":"abc"}`, false, 400, wxlogin.EINVALID},
		// Cloud Run headers (the mode is on in this environment).
		badInputCase{"cloud without headers", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"cloud bad openid", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"cloud long openid", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"cloud bad unionid", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"cloud unknown appid", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"cloud openid only", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"cloud openid invalid utf8", "POST", "/v1/login/cloud", "", ``, false, 400, wxlogin.EINVALID},
		// Introspection (with the service's credentials).
		badInputCase{"introspect no content type", "POST", "/v1/introspect", "", `token=x`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect text/plain", "POST", "/v1/introspect", "text/plain", `token=x`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect multipart", "POST", "/v1/introspect", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nx\r\n--x--", false, 400, wxlogin.EINVALID},
		badInputCase{"introspect form without token", "POST", "/v1/introspect", "application/x-www-form-urlencoded", `tok=x`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect empty form", "POST", "/v1/introspect", "application/x-www-form-urlencoded", ``, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect bad percent-encoding", "POST", "/v1/introspect", "application/x-www-form-urlencoded", `token=%zz`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect huge form", "POST", "/v1/introspect", "application/x-www-form-urlencoded", `token=` + strings.Repeat("a", 80<<10), false, 413, wxlogin.ETOOLARGE},
		badInputCase{"introspect malformed JSON", "POST", "/v1/introspect", "application/json", `{"token":`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect JSON unknown field", "POST", "/v1/introspect", "application/json", `{"token":"x","scope":"all"}`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect JSON token number", "POST", "/v1/introspect", "application/json", `{"token":1}`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect JSON without token", "POST", "/v1/introspect", "application/json", `{}`, false, 400, wxlogin.EINVALID},
		badInputCase{"introspect JSON invalid UTF-8", "POST", "/v1/introspect", "application/json", "{\"token\":\"\xff\"}", false, 400, wxlogin.EINVALID},
		// Path parameters.
		badInputCase{"unknown session", "DELETE", "/v1/me/sessions/ses_nope", "", ``, true, 404, wxlogin.ENOTFOUND},
		badInputCase{"session id with NUL", "DELETE", "/v1/me/sessions/a%00b", "", ``, true, 400, wxlogin.EINVALID},
		badInputCase{"session id invalid UTF-8", "DELETE", "/v1/me/sessions/%ff%fe", "", ``, true, 400, wxlogin.EINVALID},
		badInputCase{"session id with space", "DELETE", "/v1/me/sessions/a%20b", "", ``, true, 400, wxlogin.EINVALID},
		badInputCase{"session id 10k", "DELETE", "/v1/me/sessions/" + long, "", ``, true, 400, wxlogin.EINVALID},
		badInputCase{"session id empty", "DELETE", "/v1/me/sessions/", "", ``, true, 404, wxlogin.ENOTFOUND},
		badInputCase{"session id with encoded slash", "DELETE", "/v1/me/sessions/a%2Fb", "", ``, true, 404, wxlogin.ENOTFOUND},
		badInputCase{"unbind unknown app", "DELETE", "/v1/me/wechat/wxnope", "", ``, true, 404, wxlogin.ENOTFOUND},
		badInputCase{"unbind appid with NUL", "DELETE", "/v1/me/wechat/wx%00", "", ``, true, 400, wxlogin.EINVALID},
		badInputCase{"unbind appid 10k", "DELETE", "/v1/me/wechat/" + long, "", ``, true, 400, wxlogin.EINVALID},
		badInputCase{"unbind appid invalid UTF-8", "DELETE", "/v1/me/wechat/%c3%28", "", ``, true, 400, wxlogin.EINVALID},
		// Wrong methods.
		badInputCase{"PUT login", "PUT", "/v1/login/wechat", "application/json", `{}`, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"DELETE accounts", "DELETE", "/v1/accounts", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET cloud login", "GET", "/v1/login/cloud", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET phone login", "GET", "/v1/login/phone", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET logout", "GET", "/v1/logout", "", ``, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"PUT logout all", "PUT", "/v1/logout/all", "", ``, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"POST sessions", "POST", "/v1/me/sessions", "application/json", `{}`, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET a session", "GET", "/v1/me/sessions/x", "", ``, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET wechat binding", "GET", "/v1/me/wechat/x", "", ``, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"PATCH phone", "PATCH", "/v1/me/phone", "application/json", `{}`, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET profile", "GET", "/v1/me/wechat/profile", "", ``, true, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"unbind an app named unionid", "DELETE", "/v1/me/wechat/unionid", "", ``, true, 404, wxlogin.ENOTFOUND},
		badInputCase{"POST jwks", "POST", "/.well-known/jwks.json", "application/json", `{}`, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"GET introspect", "GET", "/v1/introspect", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"DELETE healthz", "DELETE", "/healthz", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"POST readyz", "POST", "/readyz", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		badInputCase{"PUT openapi", "PUT", "/openapi.yaml", "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		// Authenticated routes without a token.
		badInputCase{"logout without token", "POST", "/v1/logout", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"logout all without token", "POST", "/v1/logout/all", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"sessions without token", "GET", "/v1/me/sessions", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"revoke without token", "DELETE", "/v1/me/sessions/x", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"patch me without token", "PATCH", "/v1/me", "application/json", `{"nickname":"x"}`, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"phone without token", "POST", "/v1/me/phone", "application/json", `{"code":"x"}`, false, 401, wxlogin.EUNAUTHORIZED},
		badInputCase{"unknown v2 route", "GET", "/v2/me", "", ``, false, 404, wxlogin.ENOTFOUND},
		badInputCase{"login subpath", "POST", "/v1/login/wechat/x", "application/json", `{}`, false, 404, wxlogin.ENOTFOUND},
	)
	return cases
}

// badInputCase is one malformed request and the error it must get.
type badInputCase struct {
	name, method, path, ct, body string
	auth                         bool
	status                       int
	code                         string
}

// TestOpenAPIMatchesRoutes fails when routes.go and openapi.yaml disagree on a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range regexp.MustCompile(`mux\.Handle\("([A-Z]+) ([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1]+" "+m[2])
	}
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	if strings.Join(routes, "\n") != strings.Join(documented, "\n") {
		t.Errorf("routes.go and openapi.yaml differ\nroutes:\n%s\n\nopenapi:\n%s", strings.Join(routes, "\n"), strings.Join(documented, "\n"))
	}
	if len(routes) < 10 {
		t.Errorf("found only %d routes", len(routes))
	}
}
