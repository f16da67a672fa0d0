package main

import (
	"errors"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/redis"
)

// validateQRLogin reports the first QR login setting that cannot work.
func (c *Config) validateQRLogin() error {
	switch {
	case strings.HasPrefix(c.QRLoginPage, "/") || strings.ContainsAny(c.QRLoginPage, "?#"):
		return errors.New("qr_login_page must be a page path such as pages/qr-login/index: no leading / and no query")
	case c.QRLoginEnvVersion != "release" && c.QRLoginEnvVersion != "trial" && c.QRLoginEnvVersion != "develop":
		return errors.New("qr_login_env_version must be release, trial or develop")
	case c.QRLoginTTL < 10*time.Second || c.QRLoginTTL > time.Hour:
		return errors.New("qr_login_ttl must be between 10s and 1h")
	case c.QRLoginPollWait < time.Second || c.QRLoginPollWait > 2*time.Minute:
		return errors.New("qr_login_poll_wait must be between 1s and 2m")
	case c.QRLoginPollWait >= c.WriteTimeout:
		return errors.New("qr_login_poll_wait must be shorter than write_timeout, or polls are cut before they answer")
	}
	return nil
}

// qrLogin returns the QR login door's settings; notifier is nil on one instance without Redis.
func (c *Config) qrLogin(notifier wxlogin.Notifier) auth.QRConfig {
	return auth.QRConfig{Page: c.QRLoginPage, CheckPath: c.QRLoginCheckPath, EnvVersion: c.QRLoginEnvVersion,
		TTL: c.QRLoginTTL, PollWait: c.QRLoginPollWait, Notifier: notifier}
}

// qrNotifier returns Redis's notifier when several instances share Redis, else nil (the door
// then wakes polls in this process only).
func qrNotifier(rc *redis.Client) wxlogin.Notifier {
	if rc == nil {
		return nil
	}
	return rc.Notifier()
}
