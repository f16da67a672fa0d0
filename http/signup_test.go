package http_test

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

func withExistingOnly(a *auth.Config, h *wxhttp.Config) {
	a.SignupPolicy = auth.SignupRules{Default: auth.SignupExistingOnly}
	a.PhoneLogin = true
	h.AdminTokens = map[string]string{"ops": opsToken}
}

// linkToken checks a no_account answer and returns its link token.
func linkToken(t *testing.T, r *response) string {
	t.Helper()
	if r.Status != http.StatusForbidden || r.ErrorCode(t) != "no_account" {
		t.Fatalf("want 403 no_account, got %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("a no_account answer may be cached")
	}
	var body struct {
		Error struct {
			LinkToken     string `json:"link_token"`
			LinkExpiresIn int64  `json:"link_expires_in"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &body)
	if body.Error.LinkToken == "" || body.Error.LinkExpiresIn != 600 {
		t.Fatalf("no link token: %s", r.Body)
	}
	return body.Error.LinkToken
}

// Under existing_only, an unknown WeChat user is refused with a link token, which a password login
// or a phone login spends to bind that WeChat identity to a user an operator created.
func TestExistingOnlyOverHTTP(t *testing.T) {
	e := newEnv(t, withExistingOnly)
	r := e.do("POST", "/admin/v1/users", opsToken, map[string]string{"username": "olga", "password": "olga password 1"})
	if r.Status != http.StatusCreated || r.JSON(t)["username"] != "olga" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	olga := r.JSON(t)["id"].(string)
	if r := e.do("POST", "/admin/v1/users", opsToken, map[string]string{"username": "olga", "password": "olga password 1"}); r.Status != http.StatusConflict {
		t.Fatalf("taken: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/admin/v1/users", opsToken, map[string]string{}); r.Status != http.StatusBadRequest {
		t.Fatalf("empty: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/admin/v1/users", "", map[string]string{"phone": "13812345678"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", r.Status)
	}
	if r := e.do("POST", "/v1/accounts", "", map[string]string{"username": "x"}); r.Status == http.StatusCreated {
		t.Fatal("sign-up")
	}

	link := linkToken(t, e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "olga")}))
	bad := e.do("POST", "/v1/login/password", "", map[string]string{"username": "olga", "password": "olga password 1", "link_token": "nope"})
	if bad.Status != http.StatusBadRequest {
		t.Fatalf("bad link token: %d %s", bad.Status, bad.Body)
	}
	tk := e.mustTokens(e.do("POST", "/v1/login/password", "", map[string]string{"username": "olga", "password": "olga password 1", "link_token": link}))
	if tk.User.ID != olga {
		t.Fatalf("linked to %s", tk.User.ID)
	}
	if again := e.login(appA, "olga"); again.User.ID != olga {
		t.Fatalf("WeChat login after the link: %s", again.User.ID)
	}
	if r := e.do("POST", "/v1/login/password", "", map[string]string{"username": "olga", "password": "olga password 1", "link_token": link}); r.Status != http.StatusBadRequest {
		t.Fatalf("spent link token: %d %s", r.Status, r.Body)
	}

	// The phone door: an operator-created user with a phone.
	r = e.do("POST", "/admin/v1/users", opsToken, map[string]string{"phone": "13812345678", "country_code": "86"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create by phone: %d %s", r.Status, r.Body)
	}
	pavel := r.JSON(t)["id"].(string)
	link = linkToken(t, e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "pavel")}))
	pc, err := e.sim.PhoneCode(appA, "pavel", "13812345678")
	if err != nil {
		t.Fatal(err)
	}
	tk = e.mustTokens(e.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": pc, "link_token": link}))
	if tk.User.ID != pavel {
		t.Fatalf("phone link to %s, want %s", tk.User.ID, pavel)
	}
	if again := e.login(appA, "pavel"); again.User.ID != pavel {
		t.Fatal("WeChat login after the phone link")
	}
	if strings.Contains(e.logs.String(), link) {
		t.Fatal("a link token was logged")
	}
}

// Phone-first sign-up over HTTP: one tap with wx_code makes one user holding the phone and the
// WeChat identity.
func TestPhoneSignupOverHTTP(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.PhoneSignup = true })
	pc, err := e.sim.PhoneCode(appA, "quinn", "13912345678")
	if err != nil {
		t.Fatal(err)
	}
	tk := e.mustTokens(e.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": pc, "wx_code": e.code(appA, "quinn")}))
	if !tk.NewUser || tk.User.UnionID == "" {
		t.Fatalf("%+v", tk)
	}
	if w := e.login(appA, "quinn"); w.User.ID != tk.User.ID || w.NewUser {
		t.Fatalf("WeChat login found %s, want %s", w.User.ID, tk.User.ID)
	}
	me := e.do("GET", "/v1/me", tk.AccessToken, nil).JSON(t)
	if me["phone"] != "13912345678" {
		t.Fatalf("%v", me)
	}
	both := e.do("POST", "/v1/login/phone", "", map[string]string{"appid": appA, "code": pc, "wx_code": "x", "link_token": "y"})
	if both.Status != http.StatusBadRequest {
		t.Fatalf("wx_code and link_token: %d", both.Status)
	}
}

// avatarUpload returns a multipart body with data in the field "file", as wx.uploadFile sends it.
func avatarUpload(t *testing.T, field string, data []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	w, err := mw.CreateFormFile(field, "tmp_avatar.png")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func (e *env) upload(bearer, contentType string, body []byte) *response {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.srv.URL+"/v1/me/avatar", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+bearer)
	return e.send(req)
}

func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	return img
}

func TestAvatarOverHTTP(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.AvatarMaxBytes = 64 << 10 })
	tk := e.login(appA, "ava")
	var jp bytes.Buffer
	jpeg.Encode(&jp, testImage(900, 300), nil)
	// EXIF-like metadata in an APP1 segment must not survive.
	withMeta := append([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x10}, []byte("Exif\x00\x00GPS-SECRET")...)
	withMeta = append(withMeta, jp.Bytes()[2:]...)
	ct, body := avatarUpload(t, "file", withMeta)
	r := e.upload(tk.AccessToken, ct, body)
	if r.Status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	url, _ := r.JSON(t)["avatar_url"].(string)
	path := strings.TrimPrefix(url, e.srv.URL)
	if !strings.HasPrefix(path, "/v1/avatars/") || !strings.HasSuffix(path, ".jpg") {
		t.Fatalf("avatar_url %q", url)
	}
	got := e.do("GET", path, "", nil)
	if got.Status != http.StatusOK || got.Header.Get("Content-Type") != "image/jpeg" || got.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(got.Header.Get("Cache-Control"), "max-age") || got.Header.Get("ETag") == "" {
		t.Fatalf("serve: %d %v", got.Status, got.Header)
	}
	if bytes.Contains(got.Body, []byte("GPS-SECRET")) {
		t.Fatal("metadata survived")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(got.Body))
	if err != nil || cfg.Width != 512 || cfg.Height != 170 {
		t.Fatalf("served image: %v %+v", err, cfg)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("If-None-Match", got.Header.Get("ETag"))
	if r := e.send(req); r.Status != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", r.Status)
	}
	if r := e.do("GET", "/v1/avatars/"+strings.Repeat("0", 64)+".png", "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("unknown avatar: %d", r.Status)
	}
	if r := e.do("GET", "/v1/avatars/..%2f..%2fetc", "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("bad id: %d", r.Status)
	}

	var pn bytes.Buffer
	png.Encode(&pn, testImage(40, 40))
	bomb := pngHeader(t, 100000, 100000)
	polyglot := append(append([]byte{}, pn.Bytes()...), []byte("PK\x03\x04zip payload")...)
	withScript := append([]byte{}, pn.Bytes()[:33]...) // signature + IHDR
	withScript = append(withScript, textChunk("<script>alert(1)</script>")...)
	withScript = append(withScript, pn.Bytes()[33:]...)
	for _, c := range []struct {
		name, field string
		data        []byte
		want        int
	}{
		{"png", "file", pn.Bytes(), http.StatusOK},
		{"a decompression bomb", "file", bomb, http.StatusBadRequest},
		{"a polyglot (zip after the image)", "file", polyglot, http.StatusBadRequest},
		{"markup in a chunk", "file", withScript, http.StatusBadRequest},
		{"html", "file", []byte("<html><script>alert(1)</script></html>"), http.StatusBadRequest},
		{"gif", "file", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), http.StatusBadRequest},
		{"too large", "file", bytes.Repeat([]byte{0xff}, 65<<10), http.StatusRequestEntityTooLarge},
		{"no file field", "photo", pn.Bytes(), http.StatusBadRequest},
	} {
		ct, body := avatarUpload(t, c.field, c.data)
		if r := e.upload(tk.AccessToken, ct, body); r.Status != c.want {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	if r := e.upload(tk.AccessToken, "application/json", []byte(`{}`)); r.Status != http.StatusBadRequest {
		t.Errorf("json: %d", r.Status)
	}
	if r := e.upload("", ct, body); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", r.Status)
	}
}

// pngHeader returns a PNG signature and IHDR chunk declaring w x h pixels, and nothing else worth
// decoding: what a decompression bomb shows before its data.
func pngHeader(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), 8, 6, 0, 0, 0}
	b.Write(chunk("IHDR", ihdr))
	b.Write(chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}))
	b.Write(chunk("IEND", nil))
	return b.Bytes()
}

func textChunk(s string) []byte { return chunk("tEXt", append([]byte("Comment\x00"), s...)) }

func chunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	n := len(data)
	b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.ChecksumIEEE(append([]byte(typ), data...))
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

// The risk check against the simulator's getuserriskrank: a rank above signup_risk_max refuses
// the sign-up, and nobody is created.
func TestSignupRiskOverHTTP(t *testing.T) {
	max := 1
	e := newEnv(t, func(a *auth.Config, _ *wxhttp.Config) { a.SignupRiskMax = &max })
	if err := e.sim.SetRisk(appA, "risky", 3); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v1/login/wechat", "", map[string]string{"appid": appA, "code": e.code(appA, "risky")})
	if r.Status != http.StatusForbidden || r.ErrorCode(t) != "forbidden" {
		t.Fatalf("risky: %d %s", r.Status, r.Body)
	}
	if tk := e.login(appA, "calm"); !tk.NewUser {
		t.Fatal("a calm user was not created")
	}
	if err := e.sim.SetRisk(appA, "risky", 1); err != nil {
		t.Fatal(err)
	}
	if tk := e.login(appA, "risky"); !tk.NewUser {
		t.Fatal("rank 1 was refused")
	}
}

// Malformed requests to the sign-up routes get a clear 4xx JSON error.
func TestSignupBadInput(t *testing.T) {
	e := newEnv(t, func(a *auth.Config, h *wxhttp.Config) {
		a.PhoneLogin, a.PhoneSignup = true, true
		h.AdminTokens = map[string]string{"ops": opsToken}
	})
	tk := e.login(appA, "bad-input")
	long := strings.Repeat("x", 200)
	mp := "multipart/form-data; boundary=XYZ"
	cases := []struct {
		name, method, path, ct, body, bearer string
		status                               int
		code                                 string
	}{
		{"link token too long", "POST", "/v1/login/password", "application/json", `{"username":"abc","password":"abcdefgh1","link_token":"` + long + `"}`, "", 400, "invalid_request"},
		{"link token of nothing", "POST", "/v1/login/phone", "application/json", `{"appid":"` + appA + `","code":"abc","link_token":"nope"}`, "", 400, "invalid_request"},
		{"wx_code with a space", "POST", "/v1/login/phone", "application/json", `{"appid":"` + appA + `","code":"abc","wx_code":"a b"}`, "", 400, "invalid_request"},
		{"wx_code of a number", "POST", "/v1/login/phone", "application/json", `{"appid":"` + appA + `","code":"abc","wx_code":5}`, "", 400, "invalid_request"},
		{"admin user unknown field", "POST", "/admin/v1/users", "application/json", `{"username":"abc","is_admin":true}`, opsToken, 400, "invalid_request"},
		{"admin user username without password", "POST", "/admin/v1/users", "application/json", `{"username":"abc"}`, opsToken, 400, "invalid_request"},
		{"admin user bad country code", "POST", "/admin/v1/users", "application/json", `{"phone":"13800000000","country_code":"x1"}`, opsToken, 400, "invalid_request"},
		{"admin user bad nickname", "POST", "/admin/v1/users", "application/json", `{"phone":"13800000000","nickname":"a\u0007b"}`, opsToken, 400, "invalid_request"},
		{"admin user malformed", "POST", "/admin/v1/users", "application/json", `{"phone":`, opsToken, 400, "invalid_request"},
		{"avatar json", "POST", "/v1/me/avatar", "application/json", `{}`, tk.AccessToken, 400, "invalid_request"},
		{"avatar no boundary", "POST", "/v1/me/avatar", "multipart/form-data", `--XYZ--`, tk.AccessToken, 400, "invalid_request"},
		{"avatar truncated multipart", "POST", "/v1/me/avatar", mp, "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n\x89PNG", tk.AccessToken, 400, "invalid_request"},
		{"avatar empty multipart", "POST", "/v1/me/avatar", mp, "--XYZ--\r\n", tk.AccessToken, 400, "invalid_request"},
		{"avatar garbage", "POST", "/v1/me/avatar", mp, "garbage", tk.AccessToken, 400, "invalid_request"},
		{"avatar huge", "POST", "/v1/me/avatar", mp, "--XYZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" + strings.Repeat("\x00", 2<<20) + "\r\n--XYZ--\r\n", tk.AccessToken, 413, "payload_too_large"},
		{"avatar PUT", "PUT", "/v1/me/avatar", mp, "", tk.AccessToken, 405, "method_not_allowed"},
		{"avatar id traversal", "GET", "/v1/avatars/..%2F..%2Fwxlogin.db", "", "", "", 404, "not_found"},
		{"avatar id upper case", "GET", "/v1/avatars/" + strings.Repeat("A", 64) + ".png", "", "", "", 404, "not_found"},
		{"avatar id long", "GET", "/v1/avatars/" + strings.Repeat("a", 300), "", "", "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			if c.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+c.bearer)
			}
			r := e.send(req)
			if r.Status != c.status || r.ErrorCode(t) != c.code {
				t.Fatalf("%d %s, want %d %s", r.Status, r.Body, c.status, c.code)
			}
		})
	}
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
		t.Fatalf("unhealthy after bad input: %d", r.Status)
	}
}

// TestAvatarLargerThanMaxBody: an avatar upload may be as large as avatar_max_bytes (1 MiB by
// default) even though other bodies stop at max_body_bytes (64 KiB): the server-wide body guard
// knows the avatar route's own limit, and answers 413 only past it.
func TestAvatarLargerThanMaxBody(t *testing.T) {
	e := newEnv(t, func(_ *auth.Config, h *wxhttp.Config) { h.MaxBodyBytes = 64 << 10 })
	tk := e.login(appA, "big-avatar")
	img := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	for i := range img.Pix { // noise does not compress: the PNG is far over 64 KiB
		img.Pix[i] = byte(crc32.ChecksumIEEE([]byte{byte(i), byte(i >> 8), byte(i >> 16)}))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if buf.Len() <= 64<<10 || buf.Len() > 1<<20 {
		t.Fatalf("test image is %d bytes, want between 64 KiB and 1 MiB", buf.Len())
	}
	ct, body := avatarUpload(t, "file", buf.Bytes())
	if r := e.upload(tk.AccessToken, ct, body); r.Status != http.StatusOK {
		t.Fatalf("a %d-byte avatar: %d %s", buf.Len(), r.Status, r.Body)
	}
	big := bytes.Repeat([]byte{0xff}, (1<<20)+avatarSlack)
	ct, body = avatarUpload(t, "file", big)
	if r := e.upload(tk.AccessToken, ct, body); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over the avatar limit: %d %s, want 413", r.Status, r.Body)
	}
}

// avatarSlack puts a body past the avatar limit and its multipart framing.
const avatarSlack = 32 << 10
