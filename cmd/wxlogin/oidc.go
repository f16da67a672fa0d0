package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wxlogin/wxlogin/app"
	"github.com/wxlogin/wxlogin/oidc"
)

// oidcConfig returns the OpenID Connect provider's settings: the clients of oidc_clients (a YAML
// or JSON list of oidc.ClientConfig, unknown fields refused) at the issuer oidc_issuer. No
// clients: the provider is off. An http issuer is allowed on loopback hosts only.
func (c *Config) oidcConfig() (app.OIDCConfig, error) {
	var out app.OIDCConfig
	if c.OIDCClients == "" {
		return out, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(c.OIDCClients)))
	dec.KnownFields(true)
	if err := dec.Decode(&out.Clients); err != nil {
		return out, fmt.Errorf("oidc_clients: not a YAML or JSON list of clients: %v", yamlLine(err))
	}
	if _, err := oidc.ParseClients(out.Clients); err != nil {
		return out, fmt.Errorf("oidc_clients: %w", err)
	}
	if c.OIDCIssuer == "" {
		return out, errors.New("oidc_issuer is required with oidc_clients: wxlogin's public base URL, e.g. https://login.example.com")
	}
	u, err := url.Parse(c.OIDCIssuer)
	if err != nil || u.Host == "" {
		return out, errors.New("oidc_issuer must be an absolute URL (https://login.example.com)")
	}
	h := u.Hostname()
	out.Issuer, out.Insecure = c.OIDCIssuer, u.Scheme == "http" && (h == "localhost" || net.ParseIP(h).IsLoopback())
	return out, nil
}

// devOIDCClients returns oidc_clients for `wxlogin dev`: the demo public client dev-web (PKCE,
// loopback redirect URIs on any port).
func devOIDCClients() string {
	b, err := yaml.Marshal([]oidc.ClientConfig{oidc.DevClient()})
	if err != nil {
		panic("oidc: marshal the dev client: " + err.Error())
	}
	return string(b)
}

// pruneOIDC deletes the provider's expired auth requests and grants every interval until ctx
// ends (nothing when p is nil).
func pruneOIDC(ctx context.Context, p *oidc.Provider, logger *slog.Logger, every time.Duration) {
	if p == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := p.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
			logger.Error("pruning OpenID Connect state", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
