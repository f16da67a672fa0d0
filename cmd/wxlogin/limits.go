package main

import (
	"errors"
	"fmt"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// rateLimits returns the parsed rate limits; the error names the setting at fault.
func (c *Config) rateLimits() (wxhttp.RateLimits, error) {
	var out wxhttp.RateLimits
	for _, f := range []struct {
		key string
		val string
		dst *wxhttp.RateLimit
	}{
		{"rate_limit_login_ip", c.RateLimitLoginIP, &out.LoginIP},
		{"rate_limit_login_identity", c.RateLimitLoginIdentity, &out.LoginIdentity},
		{"rate_limit_password_ip", c.RateLimitPasswordIP, &out.PasswordIP},
		{"rate_limit_password_identity", c.RateLimitPasswordIdentity, &out.PasswordIdentity},
		{"rate_limit_refresh_ip", c.RateLimitRefreshIP, &out.RefreshIP},
		{"rate_limit_refresh_identity", c.RateLimitRefreshIdentity, &out.RefreshIdentity},
		{"rate_limit_phone_ip", c.RateLimitPhoneIP, &out.PhoneIP},
		{"rate_limit_phone_identity", c.RateLimitPhoneIdentity, &out.PhoneIdentity},
		{"rate_limit_qr_login_ip", c.RateLimitQRLoginIP, &out.QRLoginIP},
	} {
		l, err := wxhttp.ParseRateLimit(f.val)
		if err != nil {
			return out, fmt.Errorf("%s %w", f.key, err)
		}
		*f.dst = l
	}
	return out, nil
}

// lockout returns the password lock-out policy: lockout_failures and lockout_duration per account,
// lockout_ip per client address. The error names the setting at fault.
func (c *Config) lockout() (auth.LockoutPolicy, error) {
	ip, err := wxhttp.ParseRateLimit(c.LockoutIP)
	if err == nil && !ip.On() {
		err = errors.New("must be COUNT/WINDOW such as 30/15m: the cap on failures per address cannot be off")
	}
	if err != nil {
		return auth.LockoutPolicy{}, fmt.Errorf("lockout_ip %w", err)
	}
	return auth.LockoutPolicy{MaxFailures: c.LockoutFailures, LockFor: c.LockoutDuration, IPMaxFailures: ip.Limit, IPWindow: ip.Window}, nil
}

// validateLimits reports the first abuse limit that cannot work.
func (c *Config) validateLimits() error {
	if _, err := c.rateLimits(); err != nil {
		return err
	}
	if _, err := c.lockout(); err != nil {
		return err
	}
	switch {
	case c.ReadHeaderTimeout <= 0 || c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0:
		return errors.New("read_header_timeout, read_timeout, write_timeout and idle_timeout must be positive")
	case c.WriteTimeout <= c.WeChatTimeout:
		return errors.New("write_timeout must be longer than wechat_timeout, or logins are cut off while WeChat answers")
	case c.MaxHeaderBytes < 4096:
		return errors.New("max_header_bytes must be at least 4096")
	}
	return nil
}

// generousRateLimits multiplies every rate limit by 20 (wxlogin dev: limits stay on, so they can
// be seen working, but a developer clicking around never meets them).
func (c *Config) generousRateLimits() {
	for _, p := range []*string{&c.RateLimitLoginIP, &c.RateLimitLoginIdentity, &c.RateLimitPasswordIP, &c.RateLimitPasswordIdentity,
		&c.RateLimitRefreshIP, &c.RateLimitRefreshIdentity, &c.RateLimitPhoneIP, &c.RateLimitPhoneIdentity,
		&c.RateLimitQRLoginIP} {
		if l, err := wxhttp.ParseRateLimit(*p); err == nil && l.On() {
			l.Limit *= 20
			*p = l.String()
		}
	}
}
