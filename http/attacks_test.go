package http_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/token"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwtParts decodes a JWT's header and claims, and returns its signature segment as is.
func jwtParts(t *testing.T, tok string) (header, claims map[string]any, sig string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims, parts[2]
}

// signingInput returns base64url(header) "." base64url(claims).
func signingInput(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(c)
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func signES256(t *testing.T, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	in := signingInput(t, header, claims)
	sum := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + b64(sig)
}

func signHS256(t *testing.T, secret []byte, header, claims map[string]any) string {
	t.Helper()
	in := signingInput(t, header, claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + b64(m.Sum(nil))
}

// publicKeyForms returns the server's public key in every form an algorithm-confusion attacker
// might use as an HMAC secret: the JWK, PEM and DER of the SPKI, the raw point.
func publicKeyForms(t *testing.T, e *env, kid string) map[string][]byte {
	t.Helper()
	r := e.do("GET", "/.well-known/jwks.json", "", nil)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if k["kid"] != kid {
			continue
		}
		jwk, _ := json.Marshal(k)
		x, _ := base64.RawURLEncoding.DecodeString(k["x"].(string))
		y, _ := base64.RawURLEncoding.DecodeString(k["y"].(string))
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		return map[string][]byte{
			"jwk": jwk, "pem": pemBytes, "pem without newline": []byte(strings.TrimSpace(string(pemBytes))), "der": der,
			"raw point": append(append([]byte{4}, x...), y...), "x||y": append(append([]byte{}, x...), y...),
		}
	}
	t.Fatalf("kid %s not in the JWKS", kid)
	return nil
}

// TestTokenAttacks presents forged and misused tokens to GET /v1/me (401 in the error shape) and
// POST /v1/introspect (200 active=false) while the genuine token keeps working.
func TestTokenAttacks(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "mallory")
	other := e.login(appB, "trent") // another user, another app
	header, claims, sig := jwtParts(t, tk.AccessToken)
	_, otherClaims, otherSig := jwtParts(t, other.AccessToken)
	kid, _ := header["kid"].(string)
	now := e.clock.Now().Unix()

	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// Another issuer (its own database and keys) signs a token for the same user and session.
	ctx := context.Background()
	otherStore, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otherStore.Close() })
	if err := otherStore.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	k2, _ := keyring.Generate("k1")
	ring2, _ := keyring.New(k2)
	otherIssuer, err := token.New(ctx, token.Options{Keys: otherStore, Sealer: ring2, Issuer: "wxlogin-test", Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := otherIssuer.Issue(tk.User.ID, tk.SessionID, appA)
	if err != nil {
		t.Fatal(err)
	}
	// Our own keys, but another iss: only this server's issuer is accepted.
	wrongIss, err := token.New(ctx, token.Options{Keys: e.store, Sealer: e.ring, Issuer: "evil", Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	evilIss, _, _ := wrongIss.Issue(tk.User.ID, tk.SessionID, appA)
	// Validly signed by this server, but for app B while the session is of app A.
	crossAud, _, err := e.svc.Tokens().Issue(tk.User.ID, tk.SessionID, appB)
	if err != nil {
		t.Fatal(err)
	}
	// Validly signed, other user's sub with mallory's sid, and mallory's sub with the other's sid.
	subSwap, _, _ := e.svc.Tokens().Issue(other.User.ID, tk.SessionID, appA)
	sidSwap, _, _ := e.svc.Tokens().Issue(tk.User.ID, other.SessionID, appB)

	tamper := func(kv ...any) string {
		in := signingInput(t, header, with(claims, kv...))
		return in + "." + sig
	}
	cases := map[string]string{
		"alg none":                         signingInput(t, with(header, "alg", "none"), claims) + ".",
		"alg none with signature":          signingInput(t, with(header, "alg", "none"), claims) + "." + sig,
		"alg NONE":                         signingInput(t, with(header, "alg", "NONE"), claims) + ".",
		"alg none, no kid":                 signingInput(t, with(header, "alg", "none", "kid", nil), claims) + ".",
		"alg ES384 with the ES256 sig":     signingInput(t, with(header, "alg", "ES384"), claims) + "." + sig,
		"alg EdDSA with the ES256 sig":     signingInput(t, with(header, "alg", "EdDSA"), claims) + "." + sig,
		"alg RS256 with the ES256 sig":     signingInput(t, with(header, "alg", "RS256"), claims) + "." + sig,
		"alg missing":                      signingInput(t, with(header, "alg", nil), claims) + "." + sig,
		"unknown kid, attacker's key":      signES256(t, attacker, with(header, "kid", "attacker-key"), claims),
		"our kid, attacker's key":          signES256(t, attacker, header, claims),
		"no kid, attacker's key":           signES256(t, attacker, with(header, "kid", nil), claims),
		"kid path traversal":               signES256(t, attacker, with(header, "kid", "../../../../dev/null"), claims),
		"kid not a string":                 signES256(t, attacker, with(header, "kid", 7), claims),
		"jwk header with attacker's key":   signES256(t, attacker, with(header, "jwk", map[string]any{"kty": "EC", "crv": "P-256", "x": b64(attacker.X.FillBytes(make([]byte, 32))), "y": b64(attacker.Y.FillBytes(make([]byte, 32)))}), claims),
		"jku header":                       signES256(t, attacker, with(header, "jku", "https://attacker.example/jwks.json", "kid", "a"), claims),
		"another issuer's key":             foreign,
		"our key, another iss":             evilIss,
		"typ JWT":                          signingInput(t, with(header, "typ", "JWT"), claims) + "." + sig,
		"crit header":                      signingInput(t, with(header, "crit", []string{"exp"}), claims) + "." + sig,
		"tampered sub":                     tamper("sub", other.User.ID),
		"tampered sid":                     tamper("sid", other.SessionID),
		"tampered exp":                     tamper("exp", now+365*24*3600),
		"tampered aud":                     tamper("aud", appB),
		"tampered iss":                     tamper("iss", "wxlogin"),
		"exp removed":                      tamper("exp", nil),
		"other token's signature":          signingInput(t, header, claims) + "." + otherSig,
		"other token's claims, our sig":    signingInput(t, header, otherClaims) + "." + sig,
		"signature stripped":               signingInput(t, header, claims) + ".",
		"signature truncated":              signingInput(t, header, claims) + "." + sig[:len(sig)-4],
		"signature bit flipped":            signingInput(t, header, claims) + "." + flipLast(sig),
		"four segments":                    tk.AccessToken + ".x",
		"two segments":                     signingInput(t, header, claims),
		"aud of another configured app":    crossAud,
		"sub of another user":              subSwap,
		"sid of another user's session":    sidSwap,
		"refresh token as access token":    tk.RefreshToken,
		"session id as access token":       tk.SessionID,
		"padded base64":                    strings.Replace(tk.AccessToken, ".", "=.", 1),
		"JSON serialization":               `{"payload":"` + strings.Split(tk.AccessToken, ".")[1] + `","signature":"` + sig + `"}`,
		"oversized (32 KiB)":               tk.AccessToken + strings.Repeat("A", 32<<10),
		"garbage":                          "!!!not a token!!!",
		"HS256 with a random secret":       signHS256(t, []byte("secret"), with(header, "alg", "HS256"), claims),
		"HS256 with the app secret as key": signHS256(t, []byte(secretA), with(header, "alg", "HS256"), claims),
	}
	for form, secret := range publicKeyForms(t, e, kid) {
		cases["HS256 with the public key ("+form+")"] = signHS256(t, secret, with(header, "alg", "HS256"), claims)
		cases["HS512 with the public key ("+form+")"] = signingInput(t, with(header, "alg", "HS512"), claims) + "." + sig
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/v1/me", tok, nil)
			if r.Status != http.StatusUnauthorized || r.ErrorCode(t) != "unauthorized" {
				t.Fatalf("GET /v1/me: %d %s", r.Status, r.Body)
			}
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no WWW-Authenticate: Bearer")
			}
			if active := introspect(t, e, tok); active {
				t.Fatal("introspection says active")
			}
		})
	}
	// Access token used as a refresh token.
	if r := e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.AccessToken}); r.Status != 401 || r.ErrorCode(t) != "unauthorized" {
		t.Errorf("access token as refresh token: %d %s", r.Status, r.Body)
	}
	// None of that disturbed the genuine tokens.
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
		t.Fatalf("the genuine token stopped working: %d %s", r.Status, r.Body)
	}
	if !introspect(t, e, other.AccessToken) {
		t.Fatal("the other genuine token is not active")
	}
	// Expired: the same token one second past exp and the verifier's clock-skew leeway (sessions
	// last far longer).
	e.clock.Advance(time.Duration(tk.ExpiresIn+1)*time.Second + token.Leeway)
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 401 || r.ErrorCode(t) != "unauthorized" {
		t.Errorf("expired token: %d %s", r.Status, r.Body)
	}
	if introspect(t, e, tk.AccessToken) {
		t.Error("expired token introspected as active")
	}
	e.mustTokens(e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}))
	if len(cases) < 40 {
		t.Fatalf("only %d token attacks", len(cases))
	}
	t.Logf("%d forged or misused tokens refused", len(cases)+2)
}

func flipLast(s string) string {
	b := []byte(s)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}

// introspect asks POST /v1/introspect about tok and returns active; any answer but 200 with the
// RFC 7662 body fails the test.
func introspect(t *testing.T, e *env, tok string) bool {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, clientSec)
	r := e.send(req)
	if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspect: %d (Cache-Control %q) %s", r.Status, r.Header.Get("Cache-Control"), r.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	active, ok := body["active"].(bool)
	if !ok || (!active && len(body) != 1) {
		t.Fatalf("introspect body %s", r.Body)
	}
	return active
}

// The Bearer scheme is case-insensitive (RFC 7235 §2.1): clients that send "bearer" work.
func TestBearerSchemeCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "casey")
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/v1/me", nil)
		req.Header.Set("Authorization", scheme+" "+tk.AccessToken)
		if r := e.send(req); r.Status != http.StatusOK {
			t.Errorf("%s: %d %s", scheme, r.Status, r.Body)
		}
	}
}

// TestAuthorizationHeaderAttacks sends malformed Authorization headers to GET /v1/me and
// POST /v1/introspect: each is 401 in the error shape.
func TestAuthorizationHeaderAttacks(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "nick")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSec))
	meCases := map[string][]string{
		"none":                          nil,
		"empty":                         {""},
		"Bearer only":                   {"Bearer"},
		"Bearer and a space":            {"Bearer "},
		"garbage":                       {"garbage"},
		"token without scheme":          {tk.AccessToken},
		"Basic instead of Bearer":       {basic},
		"Bearer with garbage":           {"Bearer !!!"},
		"Bearer and a tab":              {"Bearer\t" + tk.AccessToken},
		"Bearer with two tokens":        {"Bearer " + tk.AccessToken + " " + tk.AccessToken},
		"Bearer with comma list":        {"Bearer " + tk.AccessToken + ", Bearer " + tk.AccessToken},
		"oversized":                     {"Bearer " + strings.Repeat("a", 100<<10)},
		"two headers, good first":       {"Bearer " + tk.AccessToken, "Bearer garbage"},
		"two headers, good second":      {"Bearer garbage", "Bearer " + tk.AccessToken},
		"two identical headers":         {"Bearer " + tk.AccessToken, "Bearer " + tk.AccessToken},
		"refresh token as Bearer":       {"Bearer " + tk.RefreshToken},
		"access token in Basic":         {"Basic " + base64.StdEncoding.EncodeToString([]byte(tk.AccessToken+":"))},
		"Bearer with the secret of app": {"Bearer " + secretA},
	}
	for name, values := range meCases {
		t.Run("me "+name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL+"/v1/me", nil)
			for _, v := range values {
				req.Header.Add("Authorization", v)
			}
			r := e.send(req)
			if r.Status != http.StatusUnauthorized || r.ErrorCode(t) != "unauthorized" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
	introCases := map[string][]string{
		"none":                 nil,
		"empty":                {""},
		"Bearer access token":  {"Bearer " + tk.AccessToken},
		"wrong secret":         {"Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":wrong"))},
		"secret as id":         {"Basic " + base64.StdEncoding.EncodeToString([]byte(clientSec+":"+clientID))},
		"unknown client":       {"Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:"+clientSec))},
		"empty credentials":    {"Basic " + base64.StdEncoding.EncodeToString([]byte(":"))},
		"no colon":             {"Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+clientSec))},
		"bad base64":           {"Basic !!!"},
		"secret with a suffix": {"Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSec+"x"))},
		"secret prefix":        {"Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSec[:len(clientSec)-1]))},
		"two headers":          {basic, "Basic " + base64.StdEncoding.EncodeToString([]byte("nobody:x"))},
		"oversized":            {"Basic " + strings.Repeat("A", 100<<10)},
	}
	for name, values := range introCases {
		t.Run("introspect "+name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/v1/introspect", strings.NewReader("token="+url.QueryEscape(tk.AccessToken)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, v := range values {
				req.Header.Add("Authorization", v)
			}
			r := e.send(req)
			if r.Status != http.StatusUnauthorized || r.ErrorCode(t) != "unauthorized" {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), `"active"`) {
				t.Fatalf("an unauthenticated caller learned about the token: %s", r.Body)
			}
		})
	}
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
		t.Fatalf("the genuine token: %d", r.Status)
	}
	t.Logf("%d malformed Authorization headers refused", len(meCases)+len(introCases))
}

// TestTokenResponsesNotCacheable checks Cache-Control: no-store on every response that carries a
// token.
func TestTokenResponsesNotCacheable(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "olive") // mustTokens checks no-store
	next := e.mustTokens(e.do("POST", "/v1/token/refresh", "", map[string]string{"refresh_token": tk.RefreshToken}))
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "olive", "password": "olive-password"}); r.Status != 201 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	e.mustTokens(e.do("POST", "/v1/login/password", "", map[string]string{"username": "olive", "password": "olive-password"}))
	if !introspect(t, e, next.AccessToken) { // introspect checks no-store
		t.Fatal("not active")
	}
	r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "olive")})
	if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
		t.Errorf("login: Cache-Control %q, Pragma %q", r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
	}
}

// TestAmbiguousJSON: a body whose meaning depends on which duplicate wins, or on keys matching a
// field only by case (encoding/json matches case-insensitively, with Unicode folding), is refused
// with invalid_request even when every value in it is valid. Issue 14, item 4.
func TestAmbiguousJSON(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "amber", "password": "correct horse battery"}); r.Status != 201 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		name, path string
		body       func() string
	}{
		{"duplicate code", "/v1/login/wechat", func() string {
			return `{"appid":"` + appA + `","code":"x","code":"` + e.code(appA, "dup1") + `"}`
		}},
		{"duplicate appid", "/v1/login/wechat", func() string {
			return `{"appid":"wx0","appid":"` + appA + `","code":"` + e.code(appA, "dup2") + `"}`
		}},
		{"keys in other case", "/v1/login/wechat", func() string {
			return `{"APPID":"` + appA + `","Code":"` + e.code(appA, "dup3") + `"}`
		}},
		{"same key twice, same value", "/v1/login/wechat", func() string {
			c := e.code(appA, "dup4")
			return `{"appid":"` + appA + `","code":"` + c + `","code":"` + c + `"}`
		}},
		{"key with the Kelvin sign", "/v1/login/password", func() string {
			return `{"username":"amber","password":"correct horse battery","\u212aey":1}`
		}},
		{"escaped key in other case", "/v1/login/password", func() string {
			return `{"username":"amber","\u0050assword":"correct horse battery"}`
		}},
		{"duplicate username", "/v1/login/password", func() string {
			return `{"username":"nobody","username":"amber","password":"correct horse battery"}`
		}},
		{"duplicate refresh_token", "/v1/token/refresh", func() string {
			return `{"refresh_token":"x","refresh_token":"y"}`
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", tc.path, "", tc.body())
			if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
				t.Fatalf("status %d, body %s; want 400 invalid_request", r.Status, r.Body)
			}
		})
	}
	// The same requests, unambiguous, succeed.
	e.mustTokens(e.do("POST", "/v1/login/wechat", "", `{"appid":"`+appA+`","code":"`+e.code(appA, "dup5")+`"}`))
	e.mustTokens(e.do("POST", "/v1/login/password", "", `{"username":"amber","password":"correct horse battery"}`))
}

// TestUnicodeConfusion: a username outside the ASCII alphabet is refused before any case mapping
// (the Kelvin sign must not become "kevin"), and display text and avatar URLs that could mislead
// or break out of HTML are refused. Issue 14, item 5.
func TestUnicodeConfusion(t *testing.T) {
	e := newEnv(t)
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "kevin", "password": "correct horse battery"}); r.Status != 201 {
		t.Fatalf("sign-up: %d %s", r.Status, r.Body)
	}
	for _, name := range []string{"\u212aevin", "\u212aevin2", "ſam", "ｋevin"} {
		if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": name, "password": "correct horse battery"}); r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("sign-up as %q: %d %s, want 400 invalid_request", name, r.Status, r.Body)
		}
	}
	if r := e.do("POST", "/v1/login/password", "", map[string]string{"username": "\u212aevin", "password": "correct horse battery"}); r.Status == 200 {
		t.Errorf("log-in as \\u212aevin logged in as kevin: %s", r.Body)
	}
	e.mustTokens(e.do("POST", "/v1/login/password", "", map[string]string{"username": "KEVIN", "password": "correct horse battery"}))

	tk := e.login(appA, "uni")
	for _, body := range []map[string]string{
		{"nickname": "admin\u202egnp.exe"},
		{"nickname": "ad\u200bmin"},
		{"nickname": "\ufeffadmin"},
		{"avatar_url": `https://x.example/a.png" onerror="alert(1)`},
		{"avatar_url": "https://ex\u202eample.com/"},
		{"avatar_url": "http://x.example/a.png"},
		{"avatar_url": "https://x.example/a b.png"},
	} {
		r := e.do("PATCH", "/v1/me", tk.AccessToken, body)
		if r.Status != 400 || r.ErrorCode(t) != wxlogin.EINVALID {
			t.Errorf("PATCH /v1/me %q: %d %s, want 400 invalid_request", body, r.Status, r.Body)
		}
	}
	r := e.do("PATCH", "/v1/me", tk.AccessToken, map[string]string{"nickname": "小明 👨\u200d👩\u200d👧", "avatar_url": "https://thirdwx.qlogo.cn/mmopen/a/132"})
	if r.Status != 200 {
		t.Fatalf("a good profile: %d %s", r.Status, r.Body)
	}
}
