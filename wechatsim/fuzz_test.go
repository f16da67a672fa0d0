package wechatsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzServeHTTP checks that no request makes the simulator panic or answer a WeChat path with anything
// but a JSON object.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", PathCode2Session, "appid=wx1111111111111111&secret=s&js_code=x&grant_type=authorization_code", "")
	f.Add("POST", PathStableToken, "", `{"grant_type":"client_credential","appid":"wx1111111111111111","secret":"s","force_refresh":true}`)
	f.Add("POST", PathPhoneNumber, "access_token=x", `{"code":1}`)
	f.Add("GET", PathCheckSession, "access_token=&openid=o&signature=00&sig_method=hmac_sha256", "")
	f.Add("POST", "/sim/login", "", `{"appid":"wx1111111111111111","user":"u"}`)
	f.Add("POST", "/sim/faults", "", `{"path":"*","latency_ms":1,"count":1}`)
	f.Add("POST", "/sim/clock", "", `{"advance_seconds":1e300}`)
	f.Add("POST", PathWXACodeUnlimit, "access_token=x", `{"scene":"a","width":1e300}`)
	f.Add("GET", PathOAuthAccessToken, "appid=wx1111111111111111&secret=s&code=x&grant_type=authorization_code", "")
	f.Add("GET", PathOAuthAuthorize, "appid=wx1111111111111111&redirect_uri=http%3A%2F%2Fx&response_type=code&scope=snsapi_base&sim_user=u", "")
	f.Add("POST", PathQRConnect, "", "appid=wx1&action=refuse")
	f.Add("POST", "/sim/scan", "", `{"appid":"wx1111111111111111","user":"u","image":"data:image/png;base64,iVBORw0KGgo="}`)
	f.Add("POST", "/sim/risk", "", `{"user":"u","rank":-1}`)
	f.Add("POST", "/sim/push", "", `{"appid":"wx1111111111111111","user":"u","event":"user_info_modified"}`)
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path+query, " \r\n#?%") || method == "" ||
			strings.ContainsAny(method, " \r\n") {
			return
		}
		base := time.Unix(1_700_000_000, 0)
		s := New(Options{Apps: []App{{ID: "wx1111111111111111", Secret: "s", Platform: "p"}}, Now: func() time.Time { return base }})
		req, err := http.NewRequest(method, "http://sim"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d", method, path, w.Code)
		}
		if _, ok := s.apis()[path]; ok && !strings.HasPrefix(w.Header().Get("Content-Type"), "image/") {
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s %s: non-JSON answer %q", method, path, w.Body.String())
			}
		}
	})
}
