package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/avatardir"
)

// signupSettings are the settings of who may sign up and of avatars, parsed.
type signupSettings struct {
	rules   auth.SignupRules
	riskMax *int                // nil: no risk check
	avatars wxlogin.AvatarStore // nil: the store
}

// validateSignup reports the first sign-up or avatar setting that cannot work.
func (c *Config) validateSignup() error {
	if _, err := auth.ParseSignupRules(c.SignupPolicy, c.SignupOverrides); err != nil {
		return fmt.Errorf("signup_policy: %w", err)
	}
	if _, err := c.riskMax(); err != nil {
		return err
	}
	if c.AvatarMaxBytes < 1024 || c.AvatarMaxBytes > 16<<20 {
		return errors.New("avatar_max_bytes must be between 1024 and 16777216")
	}
	if c.AvatarBaseURL != "" {
		u, err := url.Parse(c.AvatarBaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("avatar_base_url must be an http(s) URL like https://login.example.com")
		}
	}
	return nil
}

// riskMax returns signup_risk_max: nil for off, else the rank 0 to 4.
func (c *Config) riskMax() (*int, error) {
	if c.SignupRiskMax == "off" || c.SignupRiskMax == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(c.SignupRiskMax)
	if err != nil || n < 0 || n > 4 {
		return nil, errors.New("signup_risk_max must be off or a rank from 0 to 4")
	}
	return &n, nil
}

// signupSettings returns the parsed sign-up settings, opening the avatar directory when one is set.
func (c *Config) signupSettings() (*signupSettings, error) {
	rules, err := auth.ParseSignupRules(c.SignupPolicy, c.SignupOverrides)
	if err != nil {
		return nil, fmt.Errorf("signup_policy: %w", err)
	}
	s := &signupSettings{rules: rules}
	if s.riskMax, err = c.riskMax(); err != nil {
		return nil, err
	}
	if c.AvatarDir != "" {
		d, err := avatardir.Open(c.AvatarDir)
		if err != nil {
			return nil, fmt.Errorf("avatar_dir: %w", err)
		}
		s.avatars = d
	}
	return s, nil
}

// devSignup applies `wxlogin dev`'s --signup-policy and --phone-signup to c.
func (c *Config) devSignup(policy string, phoneSignup bool) {
	c.SignupPolicy, c.PhoneSignup = policy, phoneSignup
	if phoneSignup || policy == string(auth.SignupExistingOnly) {
		c.PhoneLogin = true
	}
}

// printSignupGuide prints how sign-up works on a dev stack when it is not the default; adminToken
// is dev's admin token (--admin-token), which creates users.
func printSignupGuide(w io.Writer, c *Config, server, adminToken string) {
	if c.PhoneSignup {
		fmt.Fprintf(w, "\nPhone sign-up is on: POST %s/v1/login/phone {\"code\",\"wx_code\"} creates the user of an unknown number.\n", server)
	}
	if c.SignupPolicy != string(auth.SignupExistingOnly) {
		return
	}
	fmt.Fprintf(w, `
Sign-up policy existing_only: an unknown WeChat user gets 403 no_account with a link_token.
  # Create the user people log in as (admin token of operator "dev"):
  curl -s -X POST %[1]s/admin/v1/users -H 'Authorization: Bearer %[2]s' -H 'Content-Type: application/json' \
    -d '{"username":"alice","password":"alice password 1","phone":"13800000000"}'
  # Then link the WeChat identity: POST %[1]s/v1/login/password {"username","password","link_token"}
  # or POST %[1]s/v1/login/phone {"code","link_token"}.
`, server, adminToken)
}
