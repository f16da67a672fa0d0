package wechatsim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// WeChat API paths the simulator serves.
const (
	PathCode2Session    = "/sns/jscode2session"
	PathToken           = "/cgi-bin/token"
	PathStableToken     = "/cgi-bin/stable_token"
	PathCheckSession    = "/wxa/checksession"
	PathResetSessionKey = "/wxa/resetusersessionkey"
	PathPhoneNumber     = "/wxa/business/getuserphonenumber"
	PathPaidUnionID     = "/wxa/getpaidunionid"
)

// wxError is a WeChat error answer; its errmsg gets a rid suffix when written.
type wxError struct {
	code int
	msg  string
}

var (
	errBusy           = &wxError{-1, "system error"}
	errBadCredential  = &wxError{40001, "invalid credential, access_token is invalid or not latest"}
	errBadGrantType   = &wxError{40002, "invalid grant_type"}
	errBadOpenID      = &wxError{40003, "invalid openid"}
	errBadAppID       = &wxError{40013, "invalid appid"}
	errBadCode        = &wxError{40029, "invalid code"}
	errBadArgs        = &wxError{40097, "invalid args"}
	errBadSecret      = &wxError{40125, "invalid appsecret"}
	errCodeUsed       = &wxError{40163, "code been used"}
	errBlocked        = &wxError{40226, "high risk user, login blocked"}
	errNoToken        = &wxError{41001, "access_token missing"}
	errNoAppID        = &wxError{41002, "appid missing"}
	errNoSecret       = &wxError{41004, "appsecret missing"}
	errTokenExpired   = &wxError{42001, "access_token expired"}
	errRequirePost    = &wxError{43002, "require POST method"}
	errEmptyBody      = &wxError{44002, "empty post data"}
	errMinuteQuota    = &wxError{45011, "api minute-quota reach limit mustslower retry next minute"}
	errDataFormat     = &wxError{47001, "data format error"}
	errKeyExpired     = &wxError{87007, "session_key is not existed or expired"}
	errBadSigMethod   = &wxError{87008, "invalid sig_method"}
	errBadSignature   = &wxError{87009, "invalid signature"}
	errNotBound       = &wxError{89002, "open not exists"}
	errBadTrade       = &wxError{89300, "invalid trade"}
	errUnknownAPIPath = &wxError{40066, "invalid url"}
)

type apiHandler func(r *http.Request) (any, *wxError)

func (s *Sim) apis() map[string]apiHandler {
	return map[string]apiHandler{
		PathCode2Session:    s.code2Session,
		PathToken:           s.token,
		PathStableToken:     s.stableToken,
		PathCheckSession:    s.checkSession,
		PathResetSessionKey: s.resetSessionKey,
		PathPhoneNumber:     s.phoneNumber,
		PathPaidUnionID:     s.paidUnionID,

		PathOAuthAccessToken:  s.oauthAccessToken,
		PathOAuthRefreshToken: s.oauthRefreshToken,
		PathOAuthUserInfo:     s.oauthUserInfo,
		PathOAuthAuth:         s.oauthAuth,
		PathWXACodeUnlimit:    s.wxaCodeUnlimit,
		PathUserRiskRank:      s.userRiskRank,
		PathCheckEncryptedMsg: s.checkEncryptedMsg,
	}
}

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for path, h := range s.apis() {
		mux.Handle(path, s.api(path, h))
	}
	s.controlRoutes(mux)
	mux.Handle(PathOAuthAuthorize, s.authorize(PathOAuthAuthorize))
	mux.Handle(PathQRConnect, s.authorize(PathQRConnect))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sim/") {
			writeSimJSON(w, http.StatusNotFound, map[string]string{"error": "no such control-plane path: " + r.URL.Path})
			return
		}
		s.log.Debug("wechatsim: unknown path", "method", r.Method, "path", r.URL.Path)
		writeWX(w, http.StatusNotFound, "application/json; encoding=utf-8", errorBody(errUnknownAPIPath, s.now()))
	})
	return mux
}

// ServeHTTP serves the WeChat API and the /sim/ control plane.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

type errorJSON struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

func errorBody(e *wxError, now time.Time) errorJSON {
	return errorJSON{Errcode: e.code, Errmsg: e.msg + ", rid: " + rid(now)}
}

// okJSON is the {"errcode":0,"errmsg":"ok"} head of the /wxa/* answers.
type okJSON struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

var okBody = okJSON{Errcode: 0, Errmsg: "ok"}

// api wraps a WeChat API handler: counts the call, applies faults, writes the answer (always HTTP 200,
// like WeChat) and logs method, path and errcode — never the query string.
func (s *Sim) api(path string, h apiHandler) http.Handler {
	// code2Session answers text/plain (observed); the others application/json.
	ctype := "application/json; encoding=utf-8"
	if path == PathCode2Session {
		ctype = "text/plain"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[path]++
		f := s.triggerFaultLocked(path)
		s.mu.Unlock()
		if f != nil {
			if done := s.applyFault(w, r, path, ctype, f); done {
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		body, e := h(r)
		errcode := 0
		if e != nil {
			errcode = e.code
			body = errorBody(e, s.now())
		}
		s.log.Debug("wechatsim: api call", "method", r.Method, "path", path, "errcode", errcode)
		if img, ok := body.(imageAnswer); ok {
			// getwxacodeunlimit: the image itself, not JSON.
			w.Header().Set("Content-Type", img.contentType)
			w.WriteHeader(http.StatusOK)
			w.Write(img.data)
			return
		}
		writeWX(w, http.StatusOK, ctype, body)
	})
}

func writeWX(w http.ResponseWriter, status int, ctype string, body any) {
	b, err := marshalNoEscape(body)
	if err != nil {
		b = []byte(`{"errcode":-1,"errmsg":"system error"}`)
	}
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	w.Write(b)
}

// appCredentials checks appid and secret: 41002, 40013, 41004, 40125.
func (s *Sim) appCredentials(appid, secret string) (*appState, *wxError) {
	if appid == "" {
		return nil, errNoAppID
	}
	s.mu.Lock()
	a := s.apps[appid]
	s.mu.Unlock()
	if a == nil {
		return nil, errBadAppID
	}
	if secret == "" {
		return nil, errNoSecret
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(a.Secret)) != 1 {
		return nil, errBadSecret
	}
	return a, nil
}

type code2SessionJSON struct {
	SessionKey string `json:"session_key"`
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid,omitempty"`
}

func (s *Sim) code2Session(r *http.Request) (any, *wxError) {
	q := r.URL.Query()
	a, e := s.appCredentials(q.Get("appid"), q.Get("secret"))
	if e != nil {
		return nil, e
	}
	if q.Get("grant_type") != "authorization_code" {
		return nil, errBadGrantType
	}
	code := q.Get("js_code")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	c := s.codes[code]
	if c == nil || c.appid != a.ID {
		return nil, errBadCode
	}
	u := c.user
	if minute := now.Unix() / 60; u.rateMinute != minute {
		u.rateMinute, u.rateCount = minute, 0
	}
	u.rateCount++
	switch {
	case u.rateCount > code2SessionPerMinute:
		return nil, errMinuteQuota
	case c.used:
		return nil, errCodeUsed
	case !now.Before(c.issued.Add(codeTTL)):
		return nil, errBadCode
	case u.blocked:
		return nil, errBlocked
	}
	c.used = true
	out := code2SessionJSON{SessionKey: c.key, OpenID: u.openid}
	if a.Platform != "" {
		out.UnionID = UnionID(a.Platform, u.name)
	}
	return out, nil
}

type tokenJSON struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (s *Sim) newTokenLocked(a *appState, stable bool, now time.Time) string {
	t := randomToken()
	s.tokens[t] = &accessToken{appid: a.ID, stable: stable, expires: now.Add(tokenTTL)}
	if stable {
		a.stable = append(a.stable, t)
	} else {
		a.plain = append(a.plain, t)
	}
	return t
}

func (s *Sim) token(r *http.Request) (any, *wxError) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" {
		return nil, errBadGrantType
	}
	a, e := s.appCredentials(q.Get("appid"), q.Get("secret"))
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.pruneLocked(now)
	// Every earlier token stays valid for the overlap only.
	cutoff := now.Add(tokenOverlap)
	for _, old := range a.plain {
		if t := s.tokens[old]; t != nil && (t.revoked.IsZero() || t.revoked.After(cutoff)) {
			t.revoked = cutoff
		}
	}
	return tokenJSON{AccessToken: s.newTokenLocked(a, false, now), ExpiresIn: int64(tokenTTL / time.Second)}, nil
}

type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// readJSONBody reads a POST body: 44002 when empty, 47001 when not a JSON object of the right types.
func readJSONBody(r *http.Request, v any) *wxError {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return errDataFormat
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return errEmptyBody
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errDataFormat
	}
	return nil
}

func (s *Sim) stableToken(r *http.Request) (any, *wxError) {
	if r.Method != http.MethodPost {
		return nil, errRequirePost
	}
	var req stableTokenRequest
	if e := readJSONBody(r, &req); e != nil {
		return nil, e
	}
	a, e := s.appCredentials(req.AppID, req.Secret)
	if e != nil {
		return nil, e
	}
	if req.GrantType != "client_credential" {
		return nil, errBadGrantType
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	s.pruneLocked(now)
	var cur *accessToken
	var curValue string
	if n := len(a.stable); n > 0 {
		curValue = a.stable[n-1]
		cur = s.tokens[curValue]
	}
	if req.ForceRefresh {
		day := now.In(chinaTime).Format("2006-01-02")
		if a.forceDay != day {
			a.forceDay, a.forceCount = day, 0
		}
		if a.forceCount < stableForcePerDay && (a.lastForce.IsZero() || now.Sub(a.lastForce) >= stableForceGap) {
			a.forceCount++
			a.lastForce = now
			for _, old := range a.stable {
				if t := s.tokens[old]; t != nil && (t.revoked.IsZero() || t.revoked.After(now)) {
					t.revoked = now
				}
			}
			return tokenJSON{AccessToken: s.newTokenLocked(a, true, now), ExpiresIn: int64(tokenTTL / time.Second)}, nil
		}
		// Over the limits: no refresh; the current token is returned as for force_refresh=false.
	}
	if cur == nil || !cur.revoked.IsZero() || cur.expires.Sub(now) < tokenOverlap {
		// Renewed 5 minutes before expiry: the previous token keeps its own expiry (the overlap).
		curValue = s.newTokenLocked(a, true, now)
		cur = s.tokens[curValue]
	}
	return tokenJSON{AccessToken: curValue, ExpiresIn: int64(cur.expires.Sub(now) / time.Second)}, nil
}

// tokenAppLocked checks the access_token query parameter: 41001 missing, 40001 unknown or superseded, 42001
// expired. The caller holds s.mu.
func (s *Sim) tokenAppLocked(r *http.Request, now time.Time) (*appState, *wxError) {
	v := r.URL.Query().Get("access_token")
	if v == "" {
		return nil, errNoToken
	}
	t := s.tokens[v]
	switch {
	case t == nil:
		return nil, errBadCredential
	case !t.revoked.IsZero() && !now.Before(t.revoked):
		return nil, errBadCredential
	case !now.Before(t.expires):
		return nil, errTokenExpired
	}
	a := s.apps[t.appid]
	if a == nil {
		return nil, errBadCredential
	}
	return a, nil
}

// signedUserLocked checks the access token and the login-state signature parameters of checksession and
// resetusersessionkey and returns the app and the user whose current key signed: 87008 bad sig_method,
// missingOpenID/missingSig for absent parameters, 40003 unknown openid, 87007 no valid key, 87009 wrong
// signature. The caller holds s.mu.
func (s *Sim) signedUserLocked(r *http.Request, now time.Time, missingOpenID, missingSig *wxError) (*appState, *userState, *wxError) {
	a, e := s.tokenAppLocked(r, now)
	if e != nil {
		return nil, nil, e
	}
	q := r.URL.Query()
	if q.Get("sig_method") != "hmac_sha256" {
		return nil, nil, errBadSigMethod
	}
	openid, sig := q.Get("openid"), q.Get("signature")
	if openid == "" {
		return nil, nil, missingOpenID
	}
	if sig == "" {
		return nil, nil, missingSig
	}
	u := a.byOpenID[openid]
	if u == nil {
		return nil, nil, errBadOpenID
	}
	k := validKey(u, now)
	if k == nil {
		return nil, nil, errKeyExpired
	}
	if subtle.ConstantTimeCompare([]byte(sig), []byte(signature(k.value, nil))) != 1 {
		return nil, nil, errBadSignature
	}
	return a, u, nil
}

func (s *Sim) checkSession(r *http.Request) (any, *wxError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, e := s.signedUserLocked(r, s.nowLocked(), errBadOpenID, errBadSignature); e != nil {
		return nil, e
	}
	return okBody, nil
}

type resetJSON struct {
	okJSON
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
}

func (s *Sim) resetSessionKey(r *http.Request) (any, *wxError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	_, u, e := s.signedUserLocked(r, now, errBadArgs, errBadArgs)
	if e != nil {
		return nil, e
	}
	u.key = s.newKeyLocked(now, u.key.expires)
	return resetJSON{okJSON: okBody, OpenID: u.openid, SessionKey: u.key.value}, nil
}

type phoneRequest struct {
	Code   string `json:"code"`
	OpenID string `json:"openid"`
}

type phoneInfoJSON struct {
	phoneNumber
	Watermark watermark `json:"watermark"`
}

type phoneJSON struct {
	okJSON
	PhoneInfo phoneInfoJSON `json:"phone_info"`
}

func (s *Sim) phoneNumber(r *http.Request) (any, *wxError) {
	if r.Method != http.MethodPost {
		return nil, errRequirePost
	}
	s.mu.Lock()
	a, e := s.tokenAppLocked(r, s.nowLocked())
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	var req phoneRequest
	if e := readJSONBody(r, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	c := s.phoneCodes[req.Code]
	switch {
	case c == nil:
		return nil, errBadCode
	case c.appid != a.ID:
		return nil, errBadAppID
	case c.used || !now.Before(c.issued.Add(codeTTL)):
		return nil, errBadCode
	case req.OpenID != "" && req.OpenID != c.user.openid:
		return nil, errBadOpenID
	}
	c.used = true
	return phoneJSON{okJSON: okBody, PhoneInfo: phoneInfoJSON{phoneNumber: c.phone,
		Watermark: watermark{Timestamp: now.Unix(), AppID: a.ID}}}, nil
}

type paidUnionIDJSON struct {
	UnionID string `json:"unionid"`
	okJSON
}

func (s *Sim) paidUnionID(r *http.Request) (any, *wxError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	a, e := s.tokenAppLocked(r, now)
	if e != nil {
		return nil, e
	}
	q := r.URL.Query()
	u := a.byOpenID[q.Get("openid")]
	if u == nil {
		return nil, errBadOpenID
	}
	if a.Platform == "" {
		return nil, errNotBound
	}
	t := s.trades[q.Get("transaction_id")]
	if t == nil || t.appid != a.ID || t.user != u || !now.Before(t.issued.Add(tradeTTL)) {
		return nil, errBadTrade
	}
	return paidUnionIDJSON{UnionID: UnionID(a.Platform, u.name), okJSON: okBody}, nil
}
