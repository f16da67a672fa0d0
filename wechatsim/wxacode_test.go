package wechatsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// wxacode POSTs a getwxacodeunlimit body and returns the status, content type and body.
func (h *harness) wxacode(tok string, body any) (string, []byte) {
	h.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(h.srv.URL+PathWXACodeUnlimit+"?"+url.Values{"access_token": {tok}}.Encode(), "application/json", bytes.NewReader(b))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.Header.Get("Content-Type"), out
}

func (h *harness) wxacodeErr(tok string, body any, want int) {
	h.t.Helper()
	ct, b := h.wxacode(tok, body)
	if !strings.HasPrefix(ct, "application/json") {
		h.t.Fatalf("error answer with Content-Type %q", ct)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		h.t.Fatalf("error body %q", b)
	}
	wantErr(h.t, m, want)
}

func TestWXACodeUnlimit(t *testing.T) {
	h := newKindsHarness(t, Options{Pages: map[string][]string{appC: {"pages/scan/index"}}})
	tok := h.token(appA)

	ct, img := h.wxacode(tok, map[string]any{"scene": "a=1&b=xy", "page": "pages/qr-login/index", "width": 300})
	if ct != "image/png" {
		t.Fatalf("Content-Type %q", ct)
	}
	im, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if w := im.Bounds().Dx(); w != 300 {
		t.Errorf("width %d, want 300", w)
	}
	// Scanning the image for real.
	res, err := h.sim.Scan(appA, "zoe", base64.StdEncoding.EncodeToString(img))
	if err != nil || res.Scene != "a%3D1%26b%3Dxy" || res.Page != "pages/qr-login/index" || res.AppID != appA {
		t.Fatalf("scan: %+v, %v", res, err)
	}
	h.wxacodeErr(tok, map[string]any{"scene": "a=1&b=x y", "page": "pages/qr-login/index"}, 40169)

	_, img = h.wxacode(tok, map[string]any{"scene": "s=Ab9!#$&'()*+,/:;=?@-._~", "page": "pages/qr-login/index"})
	for _, enc := range []string{base64.StdEncoding.EncodeToString(img), "data:image/png;base64," + base64.StdEncoding.EncodeToString(img)} {
		m := h.ctl(http.MethodPost, "/sim/scan", map[string]string{"appid": appA, "user": "zoe", "image": enc}, http.StatusOK)
		if m["page"] != "pages/qr-login/index" || m["scene"] != "s%3DAb9!%23%24%26'()*%2B%2C%2F%3A%3B%3D%3F%40-._~" || m["env_version"] != "release" {
			t.Fatalf("scan: %v", m)
		}
	}
	// The decoded text works too, and names the appid, page and scene.
	text := WXACodeText(appA, "pages/index/index", "k=v", "trial")
	if !strings.HasPrefix(text, "https://sim.wxlogin.invalid/wxacode?") || !strings.Contains(text, "scene=k%3Dv") {
		t.Fatalf("text %q", text)
	}
	m := h.ctl(http.MethodPost, "/sim/scan", map[string]string{"appid": appA, "user": "zoe", "image": text}, http.StatusOK)
	if m["scene"] != "k%3Dv" || m["page"] != "pages/index/index" || m["env_version"] != "trial" {
		t.Fatalf("scan text: %v", m)
	}
	h.ctl(http.MethodPost, "/sim/scan", map[string]string{"appid": appC, "user": "zoe", "image": text}, http.StatusConflict)
	h.ctl(http.MethodPost, "/sim/scan", map[string]string{"appid": appA, "user": "zoe", "image": "bm90IGFuIGltYWdl"}, http.StatusBadRequest)
	h.ctl(http.MethodPost, "/sim/scan", map[string]string{"appid": appA, "user": "zoe", "image": "https://example.com/x"}, http.StatusBadRequest)
	h.ctl(http.MethodPost, "/sim/scan", map[string]string{"appid": appA, "user": "zoe"}, http.StatusBadRequest)

	// Defaults: home page, width 430.
	_, img = h.wxacode(tok, map[string]any{"scene": "x"})
	if im, err := png.Decode(bytes.NewReader(img)); err != nil || im.Bounds().Dx() != 430 {
		t.Fatalf("default width: %v", err)
	}
	if m, err := h.sim.Scan(appA, "zoe", base64.StdEncoding.EncodeToString(img)); err != nil || m.Page != "pages/index/index" {
		t.Fatalf("default page: %+v %v", m, err)
	}

	for _, tt := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"empty scene", map[string]any{"scene": ""}, 40169},
		{"33-character scene", map[string]any{"scene": strings.Repeat("a", 33)}, 40169},
		{"non-ASCII scene", map[string]any{"scene": "中"}, 40169},
		{"unpublished page", map[string]any{"scene": "x", "page": "pages/secret/index"}, 41030},
		{"leading slash", map[string]any{"scene": "x", "page": "/pages/index/index", "check_path": false}, 41030},
		{"query in page", map[string]any{"scene": "x", "page": "pages/index/index?a=1", "check_path": false}, 41030},
		{"bad env_version", map[string]any{"scene": "x", "env_version": "beta"}, 40097},
		{"narrow", map[string]any{"scene": "x", "width": 279}, 40097},
		{"wide", map[string]any{"scene": "x", "width": 1281}, 40097},
		{"wrong type", map[string]any{"scene": 5}, 47001},
	} {
		t.Run(tt.name, func(t *testing.T) { h.wxacodeErr(tok, tt.body, tt.want) })
	}
	// check_path false accepts an unpublished page.
	if ct, _ := h.wxacode(tok, map[string]any{"scene": "x", "page": "pages/secret/index", "check_path": false, "env_version": "develop"}); ct != "image/png" {
		t.Fatalf("check_path false: %q", ct)
	}
	// Per-app pages.
	tokC := h.token(appC)
	h.wxacodeErr(tokC, map[string]any{"scene": "x", "page": "pages/index/index"}, 41030)
	if ct, _ := h.wxacode(tokC, map[string]any{"scene": "x", "page": "pages/scan/index"}); ct != "image/png" {
		t.Fatalf("configured page: %q", ct)
	}
	h.ctl(http.MethodPost, "/sim/pages", map[string]any{"appid": appC, "pages": []string{"pages/other/index"}}, http.StatusOK)
	h.wxacodeErr(tokC, map[string]any{"scene": "x", "page": "pages/scan/index"}, 41030)
	h.ctl(http.MethodPost, "/sim/pages", map[string]any{"appid": appC, "pages": []string{"/bad"}}, http.StatusBadRequest)
	h.ctl(http.MethodPost, "/sim/pages", map[string]any{"appid": appOA, "pages": []string{"pages/a/b"}}, http.StatusBadRequest)

	// Token errors, a non-mini-program app, GET.
	h.wxacodeErr("nope", map[string]any{"scene": "x"}, 40001)
	h.wxacodeErr(h.token(appOA), map[string]any{"scene": "x"}, 48001)
	wantErr(t, h.get(PathWXACodeUnlimit, url.Values{"access_token": {tok}}), 43002)

	// Faults apply, answered as JSON.
	if err := h.sim.SetFault(Fault{Path: PathWXACodeUnlimit, Errcode: 45009, Count: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	h.wxacodeErr(tok, map[string]any{"scene": "x"}, 45009)
	if ct, _ := h.wxacode(tok, map[string]any{"scene": "x"}); ct != "image/png" {
		t.Fatalf("after the fault: %q", ct)
	}
}

func ptr[T any](v T) *T { return &v }

func TestEncodeURIComponent(t *testing.T) {
	for in, want := range map[string]string{
		"abc-_.!~*'()": "abc-_.!~*'()",
		"a=1&b=2":      "a%3D1%26b%3D2",
		"#$+,/:;?@":    "%23%24%2B%2C%2F%3A%3B%3F%40",
		"中":            "%E4%B8%AD",
	} {
		if got := encodeURIComponent(in); got != want {
			t.Errorf("encodeURIComponent(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := ParseAppKind("nope", "wx1:s"); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Errorf("ParseAppKind(bad kind) = %v", err)
	}
}
