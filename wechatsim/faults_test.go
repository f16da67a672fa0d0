package wechatsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	h := newHarness(t, Options{})
	tokenQ := url.Values{"grant_type": {"client_credential"}, "appid": {appA}, "secret": {secretA}}
	setFault := func(f map[string]any) {
		t.Helper()
		h.ctl(http.MethodPost, "/sim/faults", f, http.StatusOK)
	}
	// A fresh connection per call: Go's Transport silently retries a GET whose reused connection
	// closes before any answer, which would hide a reset.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	raw := func() (int, string, error) {
		resp, err := fresh.Get(h.srv.URL + PathToken + "?" + tokenQ.Encode())
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	t.Run("errcode with rate 1 and count", func(t *testing.T) {
		setFault(map[string]any{"path": PathToken, "errcode": -1, "rate": 1, "count": 2})
		wantErr(t, h.get(PathToken, tokenQ), -1)
		wantErr(t, h.get(PathToken, tokenQ), -1)
		if h.get(PathToken, tokenQ)["access_token"] == nil {
			t.Fatal("fault outlived its count")
		}
	})
	t.Run("rate 0 never fires", func(t *testing.T) {
		setFault(map[string]any{"path": PathToken, "errcode": 45009, "rate": 0})
		for i := 0; i < 20; i++ {
			if h.get(PathToken, tokenQ)["access_token"] == nil {
				t.Fatal("rate 0 fault fired")
			}
		}
	})
	t.Run("other paths unaffected, star affects all", func(t *testing.T) {
		h.ctl(http.MethodDelete, "/sim/faults", nil, http.StatusOK)
		setFault(map[string]any{"path": PathCode2Session, "errcode": -1})
		if h.get(PathToken, tokenQ)["access_token"] == nil {
			t.Fatal("fault on another path fired")
		}
		wantErr(t, h.code2Session(appA, h.login(appA, "u")), -1)
		setFault(map[string]any{"path": "*", "errcode": 45011, "errmsg": "slow down"})
		m := h.get(PathToken, tokenQ)
		wantErr(t, m, 45011)
		if m["errmsg"].(string)[:10] != "slow down," {
			t.Fatalf("errmsg %v", m["errmsg"])
		}
		h.ctl(http.MethodDelete, "/sim/faults", nil, http.StatusOK)
		if h.get(PathToken, tokenQ)["access_token"] == nil {
			t.Fatal("DELETE /sim/faults did not clear")
		}
	})
	t.Run("latency", func(t *testing.T) {
		setFault(map[string]any{"path": PathToken, "latency_ms": 150, "count": 1})
		start := time.Now()
		m := h.get(PathToken, tokenQ)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("answered after %v", d)
		}
		if m["access_token"] == nil {
			t.Fatalf("latency-only fault changed the answer: %v", m)
		}
	})
	t.Run("reset", func(t *testing.T) {
		setFault(map[string]any{"path": PathToken, "reset": true, "count": 1})
		if _, body, err := raw(); err == nil {
			t.Fatalf("reset fault answered %q", body)
		}
		if _, _, err := raw(); err != nil {
			t.Fatalf("after the reset: %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		setFault(map[string]any{"path": PathToken, "garbage": true, "count": 1})
		_, body, err := raw()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if json.Unmarshal([]byte(body), &v) == nil {
			t.Fatalf("garbage body is JSON: %q", body)
		}
	})
	t.Run("invalid faults", func(t *testing.T) {
		for _, f := range []map[string]any{
			{"path": "/nope", "errcode": -1},
			{"path": PathToken},
			{"path": PathToken, "errcode": -1, "rate": 1.5},
			{"path": PathToken, "errcode": -1, "count": 0},
			{"path": PathToken, "latency_ms": -5},
			{"path": PathToken, "reset": true, "garbage": true},
			{"path": PathToken, "errcode": -1, "bogus": 1},
		} {
			h.ctl(http.MethodPost, "/sim/faults", f, http.StatusBadRequest)
		}
	})
	if got := h.sim.Calls(PathToken); got < 30 {
		t.Fatalf("Calls(token) = %d: faulted calls must count", got)
	}
}
