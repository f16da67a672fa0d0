package main

import (
	"strings"
	"testing"
	"time"
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
