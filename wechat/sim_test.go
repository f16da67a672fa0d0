package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

func newSimBackend(t *testing.T) (backend, *wechatsim.Sim) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{
		{ID: "wx1111111111111111", Secret: "plain-secret"},
		{ID: "wx2222222222222222", Secret: "platform-secret", Platform: "openplatform1"},
	}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return backend{
		baseURL:  srv.URL,
		plain:    testApp{"wx1111111111111111", "plain-secret"},
		platform: testApp{"wx2222222222222222", "platform-secret"},
		now:      sim.Now,
		login: func(t *testing.T, appid, user string) string {
			code, err := sim.Login(appid, user)
			if err != nil {
				t.Fatal(err)
			}
			return code
		},
		phoneCode: func(t *testing.T, appid, user, phone string) string {
			code, err := sim.PhoneCode(appid, user, phone)
			if err != nil {
				t.Fatal(err)
			}
			return code
		},
		calls: sim.Calls,
	}, sim
}

func TestClientSuiteSimulator(t *testing.T) {
	b, _ := newSimBackend(t)
	runClientSuite(t, b)
}

func TestSimulatorExtras(t *testing.T) {
	ctx := context.Background()
	b, sim := newSimBackend(t)
	var logs bytes.Buffer
	c := wechat.NewClient(wechat.Config{BaseURL: b.baseURL, AppID: b.platform.id, Secret: b.platform.secret, Now: sim.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	var errs []error

	s, err := c.Code2Session(ctx, b.login(t, b.platform.id, "frank"))
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != sim.OpenID(b.platform.id, "frank") || s.UnionID != sim.UnionID("openplatform1", "frank") {
		t.Errorf("identity %+v differs from the simulator's", s)
	}

	t.Run("user info decrypts", func(t *testing.T) {
		ui, err := sim.UserInfoWith(b.platform.id, "frank", "Frank", "https://example.com/a.png")
		if err != nil {
			t.Fatal(err)
		}
		u, err := wechat.DecryptUserInfo(b.platform.id, s.SessionKey, ui.EncryptedData, ui.IV)
		if err != nil {
			t.Fatalf("DecryptUserInfo: %v", err)
		}
		if u.OpenID != s.OpenID || u.UnionID != s.UnionID || u.NickName != "Frank" || u.Watermark.AppID != b.platform.id {
			t.Errorf("user info %+v", u)
		}
		if !wechat.VerifyRawDataSignature(ui.RawData, ui.Signature, s.SessionKey) {
			t.Errorf("rawData signature does not verify")
		}
		if _, err := wechat.Decrypt(b.plain.id, s.SessionKey, ui.EncryptedData, ui.IV); err != wechat.ErrDecrypt {
			t.Errorf("decrypt for another appid: %v", err)
		}
		// A new wx.login replaces the key: the old data no longer decrypts with the new key.
		s2, err := c.Code2Session(ctx, b.login(t, b.platform.id, "frank"))
		if err != nil {
			t.Fatal(err)
		}
		if s2.SessionKey != s.SessionKey {
			if _, err := wechat.Decrypt(b.platform.id, s2.SessionKey, ui.EncryptedData, ui.IV); err != wechat.ErrDecrypt {
				t.Errorf("stale data with the new key: %v", err)
			}
		}
		s = s2
	})

	t.Run("expired session key", func(t *testing.T) {
		if err := sim.ExpireSessionKey(b.platform.id, "frank"); err != nil {
			t.Fatal(err)
		}
		err := c.CheckSessionKey(ctx, s.OpenID, s.SessionKey)
		if !wechat.IsSessionKeyExpired(err) && !wechat.IsInvalidSignature(err) {
			t.Errorf("CheckSessionKey(expired): %v", err)
		}
		errs = append(errs, err)
	})

	t.Run("blocked user", func(t *testing.T) {
		code := b.login(t, b.platform.id, "grace")
		if err := sim.Block(b.platform.id, "grace", true); err != nil {
			t.Fatal(err)
		}
		_, err := c.Code2Session(ctx, code)
		if !wechat.IsUserBlocked(err) {
			t.Errorf("blocked: %v", err)
		}
		errs = append(errs, err)
	})

	t.Run("paid unionid", func(t *testing.T) {
		tx, err := sim.Payment(b.platform.id, "frank")
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.GetPaidUnionID(ctx, s.OpenID, tx)
		if err != nil || u != s.UnionID {
			t.Errorf("GetPaidUnionID = %q, %v; want %q", u, err, s.UnionID)
		}
	})

	t.Run("faults", func(t *testing.T) {
		// No Count: net/http retries a GET once when a reused connection is closed before any
		// answer, so a one-shot reset would go unnoticed.
		for _, tc := range []struct {
			fault wechatsim.Fault
			check func(error) bool
		}{
			{wechatsim.Fault{Path: wechatsim.PathCode2Session, Reset: true}, func(err error) bool {
				var te *wechat.TransportError
				return errors.As(err, &te)
			}},
			{wechatsim.Fault{Path: wechatsim.PathCode2Session, Garbage: true}, func(err error) bool {
				var te *wechat.TransportError
				return errors.As(err, &te)
			}},
			{wechatsim.Fault{Path: wechatsim.PathCode2Session, Errcode: -1}, wechat.IsSystemBusy},
			{wechatsim.Fault{Path: wechatsim.PathCode2Session, Errcode: 45011}, wechat.IsRateLimited},
		} {
			if err := sim.SetFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			_, err := c.Code2Session(ctx, b.login(t, b.platform.id, "heidi"))
			sim.ClearFaults()
			if !tc.check(err) || !wechat.IsTemporary(err) {
				t.Errorf("fault %+v: got %v", tc.fault, err)
			}
			errs = append(errs, err)
		}
	})

	t.Run("no issued session key leaks", func(t *testing.T) {
		for _, k := range sim.IssuedSessionKeys() {
			if strings.Contains(logs.String(), k) {
				t.Errorf("log holds a session_key")
			}
			for _, err := range errs {
				if err != nil && strings.Contains(err.Error(), k) {
					t.Errorf("error holds a session_key: %v", err)
				}
			}
		}
		if strings.Contains(logs.String(), b.platform.secret.Reveal()) {
			t.Errorf("log holds the app secret")
		}
	})
}
