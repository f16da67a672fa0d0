package app

import (
	"fmt"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/token"
)

// OIDCConfig configures the OpenID Connect provider (package oidc). It is off when Clients is
// empty.
type OIDCConfig struct {
	// Issuer is wxlogin's public base URL ("https://login.example.com", no path): the iss of ID
	// tokens and the base of every endpoint discovery names.
	Issuer string
	// Insecure allows an http Issuer (tests and `wxlogin dev` only).
	Insecure bool
	// Clients are the relying parties (oidc.ParseClients validates them).
	Clients []oidc.ClientConfig
	// Store keeps the auth requests, codes and grants. nil: oidc.NewStore over the wired store,
	// which every instance sharing that store shares.
	Store wxlogin.OIDCStore
	// Doors are the WeChat doors the login page offers besides the password form.
	Doors []oidc.Door
	// AuthRequestTTL, CodeTTL and IDTokenTTL: 0 for the oidc package's defaults.
	AuthRequestTTL, CodeTTL, IDTokenTTL time.Duration
}

// grantTTL is how long a session's OIDC grant is kept: a backstop only, since a grant is deleted
// with its session (ON DELETE CASCADE), and a session that keeps being refreshed lives on.
const grantTTL = 10 * 365 * 24 * time.Hour

// newOIDC returns the provider of cfg.OIDC over the wired store, issuer and service, or nil when
// no client is configured. Errors: a bad client or issuer (oidc.ParseClients, oidc.New).
func newOIDC(cfg Config, store wxlogin.Store, issuer *token.Issuer, svc *auth.Service) (*oidc.Provider, *oidc.StaticClients, error) {
	oc := cfg.OIDC
	if len(oc.Clients) == 0 {
		return nil, nil, nil
	}
	clients, err := oidc.ParseClients(oc.Clients)
	if err != nil {
		return nil, nil, err
	}
	st := oc.Store
	if st == nil {
		st = oidc.NewStore(store)
	}
	p, err := oidc.New(oidc.Options{
		Issuer: oc.Issuer, Insecure: oc.Insecure, Clients: clients, Store: st,
		Sessions: svc.OIDC(), Users: store, Passwords: svc.Accounts, Doors: oc.Doors,
		Tokens: issuer, Keys: store, Sealer: cfg.Auth.Sealer,
		AuthRequestTTL: oc.AuthRequestTTL, CodeTTL: oc.CodeTTL, IDTokenTTL: oc.IDTokenTTL,
		GrantTTL: grantTTL, Now: cfg.Now, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("oidc: %w", err)
	}
	return p, clients, nil
}

// oidcClientsInfo returns what the admin API shows of the clients (never a secret hash).
func oidcClientsInfo(clients *oidc.StaticClients) []wxhttp.OIDCClientInfo {
	if clients == nil {
		return nil
	}
	var out []wxhttp.OIDCClientInfo
	for _, c := range clients.List() {
		out = append(out, wxhttp.OIDCClientInfo{ID: c.ID, Name: c.Name, Public: c.Public, RedirectURIs: c.RedirectURIs,
			PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, LoopbackAnyPort: c.LoopbackAnyPort, Scopes: c.Scopes,
			Doors: c.Doors, ThirdParty: c.ThirdParty, UnionID: c.UnionID})
	}
	return out
}
