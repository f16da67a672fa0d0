package wechatsim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/jpeg" // /sim/scan decodes JPEG as well as PNG
	_ "image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	goqrcode "github.com/skip2/go-qrcode"

	"github.com/wxlogin/wxlogin"
)

// PathWXACodeUnlimit is getwxacodeunlimit (§10).
const PathWXACodeUnlimit = "/wxa/getwxacodeunlimit"

// WXACodeTextPrefix starts the text of every mini-program code the simulator draws: the code
// encodes WXACodeTextPrefix + "?appid=…&page=…&scene=…&env_version=…" (query-escaped values; scene
// as the caller sent it).
const WXACodeTextPrefix = "https://sim.wxlogin.invalid/wxacode"

const (
	maxSceneLen     = 32
	sceneAlphabet   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~"
	defaultWXAWidth = 430
	minWXAWidth     = 280
	maxWXAWidth     = 1280
)

var (
	errBadScene = &wxError{40169, "invalid length for scene, or the data is not json string"}
	errBadPage  = &wxError{41030, "invalid page rid"}
)

// imageAnswer is an API answer that is an image, not JSON.
type imageAnswer struct {
	contentType string
	data        []byte
}

type wxaCodeRequest struct {
	Scene      string `json:"scene"`
	Page       string `json:"page"`
	CheckPath  *bool  `json:"check_path"`
	EnvVersion string `json:"env_version"`
	Width      *int   `json:"width"`
	AutoColor  bool   `json:"auto_color"`
	IsHyaline  bool   `json:"is_hyaline"`
	LineColor  any    `json:"line_color"`
}

func validScene(s string) bool {
	if s == "" || len(s) > maxSceneLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(sceneAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// wxaCodeUnlimit serves POST /wxa/getwxacodeunlimit: the PNG of a QR code whose text is
// WXACodeText(appid, page, scene, env_version). Errors (JSON): 41001/40001/42001 token, 43002 not a
// POST, 44002/47001 body, 48001 not a mini program, 40169 scene (1–32 characters of the allowed
// alphabet), 41030 page (a syntactically bad page; with check_path (default true) a page not in the
// app's published pages), 40097 env_version not release|trial|develop or width outside 280–1280.
func (s *Sim) wxaCodeUnlimit(r *http.Request) (any, *wxError) {
	s.mu.Lock()
	a, e := s.tokenAppLocked(r, s.nowLocked())
	var pages []string
	if a != nil {
		pages = a.publishedPages()
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if r.Method != http.MethodPost {
		return nil, errRequirePost
	}
	var req wxaCodeRequest
	if e := readJSONBody(r, &req); e != nil {
		return nil, e
	}
	if a.kind() != wxlogin.KindMiniProgram {
		return nil, errUnauthorizedScope
	}
	if !validScene(req.Scene) {
		return nil, errBadScene
	}
	page := req.Page
	if page == "" {
		page = pages[0]
	}
	if !validPagePath(page) || (req.CheckPath == nil || *req.CheckPath) && !slices.Contains(pages, page) {
		return nil, errBadPage
	}
	env := req.EnvVersion
	if env == "" {
		env = "release"
	}
	if env != "release" && env != "trial" && env != "develop" {
		return nil, errBadArgs
	}
	width := defaultWXAWidth
	if req.Width != nil {
		width = *req.Width
	}
	if width < minWXAWidth || width > maxWXAWidth {
		return nil, errBadArgs
	}
	q, err := goqrcode.New(WXACodeText(a.ID, page, req.Scene, env), goqrcode.Medium)
	if err != nil {
		return nil, errBusy
	}
	png, err := q.PNG(width)
	if err != nil {
		return nil, errBusy
	}
	return imageAnswer{contentType: "image/png", data: png}, nil
}

// WXACodeText returns the text the simulator's mini-program code for (appid, page, scene,
// envVersion) encodes.
func WXACodeText(appid, page, scene, envVersion string) string {
	return WXACodeTextPrefix + "?" + url.Values{"appid": {appid}, "page": {page}, "scene": {scene}, "env_version": {envVersion}}.Encode()
}

// ScanResult is what scanning a mini-program code opens: Page with options.scene = Scene, which is
// the code's scene URL-encoded as encodeURIComponent does (the mini program calls
// decodeURIComponent on it).
type ScanResult struct {
	AppID      string `json:"appid"`
	Page       string `json:"page"`
	Scene      string `json:"scene"`
	EnvVersion string `json:"env_version"`
}

// Scan plays user scanning a mini-program code with the phone. image is the code as a PNG or JPEG
// (base64, or a data: URL), or the text it encodes; the image is decoded as a QR code for real.
// Errors: EINVALID (not a readable code, not one of the simulator's codes, empty user), ENOTFOUND
// (unknown app), ECONFLICT (the code opens another app than appid).
func (s *Sim) Scan(appid, user, img string) (*ScanResult, error) {
	if user == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "user is required")
	}
	text := img
	if !strings.HasPrefix(img, WXACodeTextPrefix+"?") {
		var err error
		if text, err = decodeQR(img); err != nil {
			return nil, err
		}
	}
	rest, ok := strings.CutPrefix(text, WXACodeTextPrefix+"?")
	if !ok {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "the code is not a mini-program code of the simulator")
	}
	q, err := url.ParseQuery(rest)
	if err != nil || q.Get("appid") == "" || q.Get("page") == "" || q.Get("scene") == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "the code is not a mini-program code of the simulator")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.deviceLocked(appid, user); err != nil {
		return nil, err
	}
	if q.Get("appid") != appid {
		return nil, wxlogin.Errorf(wxlogin.ECONFLICT, "the code opens app %q, not %q", q.Get("appid"), appid)
	}
	return &ScanResult{AppID: appid, Page: q.Get("page"), Scene: encodeURIComponent(q.Get("scene")), EnvVersion: q.Get("env_version")}, nil
}

// decodeQR decodes a base64 (or data: URL) PNG or JPEG and reads the QR code in it.
func decodeQR(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		_, data, found := strings.Cut(rest, ";base64,")
		if !found {
			return "", wxlogin.Errorf(wxlogin.EINVALID, "image: a data: URL must be base64")
		}
		s = data
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "image must be base64 (or a data: URL) of a PNG or JPEG, or the code's text")
	}
	im, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "image is not a PNG or JPEG")
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(im)
	if err != nil {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "image could not be read")
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "no QR code found in the image")
	}
	return res.GetText(), nil
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does: everything but
// A–Z a–z 0–9 - _ . ! ~ * ' ( ) is percent-encoded (UTF-8, uppercase hex).
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
