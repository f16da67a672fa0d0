package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// The QR login settings: defaults, and each one that cannot work is refused by name.
func TestQRLoginConfig(t *testing.T) {
	base := map[string]string{"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey}
	cfg, err := loadConfig("", envFrom(base))
	if err != nil {
		t.Fatal(err)
	}
	qc := cfg.qrLogin(nil)
	if qc.Page != "pages/qr-login/index" || !qc.CheckPath || qc.EnvVersion != "release" || qc.TTL != 2*time.Minute || qc.PollWait != 25*time.Second || qc.Notifier != nil {
		t.Fatalf("defaults %+v", qc)
	}
	if l, _ := cfg.rateLimits(); !l.QRLoginIP.On() {
		t.Fatal("QR login rate limit off by default")
	}
	for _, c := range []struct{ key, val, want string }{
		{"WXLOGIN_QR_LOGIN_PAGE", "/pages/a/b", "qr_login_page"},
		{"WXLOGIN_QR_LOGIN_PAGE", "pages/a/b?x=1", "qr_login_page"},
		{"WXLOGIN_QR_LOGIN_ENV_VERSION", "beta", "qr_login_env_version"},
		{"WXLOGIN_QR_LOGIN_TTL", "1s", "qr_login_ttl"},
		{"WXLOGIN_QR_LOGIN_POLL_WAIT", "10m", "qr_login_poll_wait"},
		{"WXLOGIN_QR_LOGIN_POLL_WAIT", "40s", "write_timeout"},
		{"WXLOGIN_RATE_LIMIT_QR_LOGIN_IP", "lots", "rate_limit_qr_login_ip"},
	} {
		env := map[string]string{c.key: c.val}
		for k, v := range base {
			env[k] = v
		}
		if _, err := loadConfig("", envFrom(env)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%s: %v, want an error naming %s", c.key, c.val, err, c.want)
		}
	}
	env := map[string]string{"WXLOGIN_QR_LOGIN_ENV_VERSION": "trial", "WXLOGIN_QR_LOGIN_CHECK_PATH": "false", "WXLOGIN_QR_LOGIN_PAGE": ""}
	for k, v := range base {
		env[k] = v
	}
	if cfg, err = loadConfig("", envFrom(env)); err != nil {
		t.Fatal(err)
	}
	if qc := cfg.qrLogin(nil); qc.EnvVersion != "trial" || qc.CheckPath {
		t.Fatalf("a trial build's settings: %+v", qc)
	}
}

// The pruner deletes QR login requests that expired more than an hour ago, and keeps the others.
func TestPrunerQRLogins(t *testing.T) {
	st, cfg := newTestStack(t)
	ctx := t.Context()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for i, age := range []time.Duration{2 * time.Hour, 30 * time.Minute, 0} {
		q := &wxlogin.QRLogin{ID: "qrl_" + string(rune('a'+i)), AppID: "wx1234567890abcdef", Scene: "s" + string(rune('a'+i)),
			Status: wxlogin.QRPending, CreatedAt: now.Add(-age - 2*time.Minute), ExpiresAt: now.Add(-age)}
		if err := st.store.CreateQRLogin(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	p := newPruner(st.svc, cfg, slog.New(slog.DiscardHandler))
	p.now = func() time.Time { return now }
	if _, _, err := p.once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.store.QRLogin(ctx, "qrl_a"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Errorf("a request expired 2 hours ago survived: %v", err)
	}
	for _, id := range []string{"qrl_b", "qrl_c"} {
		if _, err := st.store.QRLogin(ctx, id); err != nil {
			t.Errorf("%s was pruned: %v", id, err)
		}
	}
}
