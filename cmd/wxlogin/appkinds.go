package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// allApps returns the apps of every kind the settings configure: mini programs (apps), official
// accounts, websites and mobile apps. Errors name the setting and the appid, never a secret.
func (c *Config) allApps() ([]wxlogin.App, error) {
	var all []wxlogin.App
	seen := map[string]bool{}
	for _, group := range []struct {
		setting string
		kind    wxlogin.AppKind
		value   string
	}{
		{"apps", wxlogin.KindMiniProgram, c.Apps},
		{"official_accounts", wxlogin.KindOfficialAccount, c.OfficialAccounts},
		{"websites", wxlogin.KindWebsite, c.Websites},
		{"mobile_apps", wxlogin.KindMobileApp, c.MobileApps},
	} {
		for _, item := range strings.Split(group.value, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			a, err := wechatsim.ParseApp(item)
			if err != nil {
				appid, _, _ := strings.Cut(item, ":")
				return nil, fmt.Errorf("%s: app %q: want appid:secret[:platform]", group.setting, appid)
			}
			if seen[a.ID] {
				return nil, fmt.Errorf("%s: app %q is configured twice", group.setting, a.ID)
			}
			seen[a.ID] = true
			app := wxlogin.App{ID: a.ID, Secret: wxlogin.Secret(a.Secret), Platform: a.Platform}
			if group.kind != wxlogin.KindMiniProgram {
				app.Kind = group.kind
			}
			all = append(all, app)
		}
	}
	if len(all) == 0 {
		return nil, errors.New("no app configured")
	}
	return all, nil
}

// webRedirectURIs parses web_redirect_uris ("appid=URI,…") against apps: each appid must be an
// official account or a website, each URI an absolute http(s) URL without a fragment.
func (c *Config) webRedirectURIs(apps []wxlogin.App) (map[string][]string, error) {
	kinds := map[string]wxlogin.AppKind{}
	for _, a := range apps {
		kinds[a.ID] = a.AppKind()
	}
	out := map[string][]string{}
	for _, item := range strings.Split(c.WebRedirectURIs, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		appid, uri, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("web_redirect_uris: each entry must be appid=URI (entry %q is not)", item)
		}
		if k := kinds[appid]; k != wxlogin.KindOfficialAccount && k != wxlogin.KindWebsite {
			return nil, fmt.Errorf("web_redirect_uris: %q is not a configured official account or website", appid)
		}
		u, err := url.Parse(uri)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("web_redirect_uris: %q is not an absolute http(s) URL without a fragment", uri)
		}
		out[appid] = append(out[appid], uri)
	}
	return out, nil
}

// webConfig returns the browser redirect flow's settings for apps.
func (c *Config) webConfig(apps []wxlogin.App) (auth.WebConfig, error) {
	uris, err := c.webRedirectURIs(apps)
	if err != nil {
		return auth.WebConfig{}, err
	}
	if c.WebCallbackURL != "" {
		u, err := url.Parse(c.WebCallbackURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "/v1/oauth/wechat/callback" {
			return auth.WebConfig{}, errors.New("web_callback_url must be an absolute http(s) URL ending in /v1/oauth/wechat/callback")
		}
	}
	return auth.WebConfig{OpenBaseURL: c.WeChatOpenBaseURL, RedirectURIs: uris, AllowLoopback: c.WebAllowLoopback}, nil
}
