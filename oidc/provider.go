package oidc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
)

// Paths the provider serves (relative to the issuer, which has no path of its own).
const (
	PathDiscovery  = "/.well-known/openid-configuration"
	PathJWKS       = "/.well-known/jwks.json" // wxlogin's JWKS: the provider only names it in discovery
	PathAuthorize  = "/oidc/authorize"
	PathToken      = "/oidc/token"
	PathUserinfo   = "/oidc/userinfo"
	PathEndSession = "/oidc/end_session"
	PathLogin      = "/oidc/login"
	PathConsent    = "/oidc/consent"
	PathLoggedOut  = "/oidc/logged_out"
	PathDoor       = "/oidc/door/" // + name + "/" + step: the doors served by the provider (Door.Serve)
)

// Routes are the paths Handler serves, for http/routes.go (PathJWKS stays wxlogin's own route).
var Routes = []string{PathDiscovery, PathAuthorize, PathToken, PathUserinfo, PathEndSession, PathLogin, PathConsent, PathLoggedOut, PathDoor}

// Defaults of Options.
const (
	DefaultAuthRequestTTL = 15 * time.Minute
	DefaultCodeTTL        = time.Minute
	DefaultIDTokenTTL     = time.Hour
	DefaultGrantTTL       = 90 * 24 * time.Hour
)

// SupportedClaims are the claims ID tokens and userinfo may carry.
var SupportedClaims = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp", "sid",
	"at_hash", "c_hash", "name", "picture", "phone_number", "phone_number_verified", "unionid"}

// Options configures a Provider. Issuer, Clients, Store, Sessions, Users, Tokens, Keys and Sealer
// are required.
type Options struct {
	// Issuer is wxlogin's public base URL, e.g. "https://login.example.com" (no path): the "iss" of
	// ID tokens and the base of every endpoint. Access tokens keep token.Issuer's own "iss".
	Issuer string
	// Insecure allows an http issuer (tests and `wxlogin dev` only).
	Insecure  bool
	Clients   Clients
	Store     Store
	Sessions  Sessions
	Users     Users
	Passwords PasswordLogin // nil: no password form
	Doors     []Door        // the WeChat doors; filled in as they land
	// Tokens, Keys and Sealer are the access-token issuer and the store and sealer of its keys:
	// ID tokens are signed by the key that signs access tokens (Tokens.SignClaims), which the JWKS
	// publishes. Keys and Sealer are still required but no longer read here.
	Tokens         *token.Issuer
	Keys           token.KeyStore
	Sealer         wxlogin.Sealer
	AuthRequestTTL time.Duration // 0: DefaultAuthRequestTTL
	CodeTTL        time.Duration // 0: DefaultCodeTTL
	IDTokenTTL     time.Duration // 0: DefaultIDTokenTTL
	GrantTTL       time.Duration // how long a session's grant is kept (>= the session lifetime); 0: DefaultGrantTTL
	Now            func() time.Time
	Logger         *slog.Logger
}

// Provider is wxlogin's OpenID Connect provider. It is safe for concurrent use and keeps no flow
// state in memory: several instances sharing a Store behave as one.
type Provider struct {
	issuer      string
	secure      bool
	clients     Clients
	store       Store
	sessions    Sessions
	users       Users
	passwords   PasswordLogin
	doors       map[string]Door
	keys        *keys
	requestTTL  time.Duration
	codeTTL     time.Duration
	idTokenTTL  time.Duration
	grantTTL    time.Duration
	now         func() time.Time
	log         *slog.Logger
	op          *op.Provider
	handler     http.Handler
	pages       *template.Template
	langMatcher language.Matcher
}

// New returns a Provider. It returns an error when a required option is missing or the issuer is
// not an absolute https URL without path (http only with Insecure).
func New(opts Options) (*Provider, error) {
	if opts.Clients == nil || opts.Store == nil || opts.Sessions == nil || opts.Users == nil ||
		opts.Tokens == nil || opts.Keys == nil || opts.Sealer == nil {
		return nil, errors.New("oidc: Options.Clients, Store, Sessions, Users, Tokens, Keys and Sealer are required")
	}
	u, err := url.Parse(opts.Issuer)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("oidc: Options.Issuer %q must be an absolute URL without path, query or fragment", opts.Issuer)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && opts.Insecure) {
		return nil, fmt.Errorf("oidc: Options.Issuer %q must be https (http only with Insecure)", opts.Issuer)
	}
	p := &Provider{
		issuer: strings.TrimSuffix(opts.Issuer, "/"), secure: u.Scheme == "https",
		clients: opts.Clients, store: opts.Store, sessions: opts.Sessions, users: opts.Users, passwords: opts.Passwords,
		doors:      map[string]Door{},
		keys:       &keys{issuer: opts.Tokens},
		requestTTL: orDefault(opts.AuthRequestTTL, DefaultAuthRequestTTL), codeTTL: orDefault(opts.CodeTTL, DefaultCodeTTL),
		idTokenTTL: orDefault(opts.IDTokenTTL, DefaultIDTokenTTL), grantTTL: orDefault(opts.GrantTTL, DefaultGrantTTL),
		now: opts.Now, log: opts.Logger,
		langMatcher: language.NewMatcher([]language.Tag{language.English, language.Chinese}),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range opts.Doors {
		if d.Name == DoorPassword || !slices.Contains(knownDoors, d.Name) || (d.URL == nil && d.Serve == nil) {
			return nil, fmt.Errorf("oidc: door %q: a door needs a known name other than %q, and a URL or Serve", d.Name, DoorPassword)
		}
		p.doors[d.Name] = d
	}
	if p.pages, err = parsePages(); err != nil {
		return nil, err
	}

	// op's crypto key encrypts op's own opaque codes and tokens; this provider issues neither
	// (codes are random and stored hashed, access tokens are wxlogin's), so a random key it never
	// uses is as good as a configured one.
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}
	cfg := &op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: p.issuer + PathLoggedOut,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedScopes:          SupportedScopes,
		SupportedClaims:          SupportedClaims,
		SupportedUILocales:       []language.Tag{language.English, language.Chinese},
	}
	opOpts := []op.Option{
		op.WithIDTokenHintKeySet(p.keys),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(token.AlgES256, token.AlgEdDSA)),
	}
	if opts.Insecure {
		opOpts = append(opOpts, op.WithAllowInsecure())
	}
	p.op, err = op.NewProvider(cfg, &opStorage{p: p}, op.StaticIssuer(p.issuer), opOpts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	endpoints := op.Endpoints{
		Authorization: op.NewEndpoint(PathAuthorize),
		Token:         op.NewEndpoint(PathToken),
		Userinfo:      op.NewEndpoint(PathUserinfo),
		EndSession:    op.NewEndpoint(PathEndSession),
		JwksURI:       op.NewEndpoint(PathJWKS),
	}
	srv := &server{LegacyServer: op.NewLegacyServer(p.op, endpoints), p: p}
	opHandler := op.RegisterServer(srv, endpoints,
		op.WithHTTPMiddleware(op.NewIssuerInterceptor(p.op.IssuerFromRequest).Handler))

	mux := http.NewServeMux()
	for _, path := range []string{PathDiscovery, PathAuthorize, PathToken, PathUserinfo, PathEndSession} {
		mux.Handle(path, opHandler)
	}
	mux.HandleFunc("GET "+PathLogin, p.handleLoginPage)
	mux.HandleFunc("POST "+PathLogin, p.handlePasswordLogin)
	mux.HandleFunc("POST "+PathConsent, p.handleConsent)
	mux.HandleFunc("GET "+PathLoggedOut, p.handleLoggedOut)
	mux.HandleFunc("GET "+PathDoor+"{door}/{step}", p.handleDoor)
	mux.HandleFunc("POST "+PathDoor+"{door}/{step}", p.handleDoor)
	p.handler = mux
	return p, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Handler returns the handler of every path in Routes.
func (p *Provider) Handler() http.Handler { return p.handler }

// Issuer returns the provider's issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

// Prune deletes the auth requests and grants that expired before before. Run it periodically.
func (p *Provider) Prune(ctx context.Context, before time.Time) error {
	if _, err := p.store.DeleteAuthRequestsBefore(ctx, before); err != nil {
		return err
	}
	_, err := p.store.DeleteGrantsBefore(ctx, before)
	return err
}

// client returns the op view of a registered client.
func (p *Provider) opClient(c *Client) *opClient { return &opClient{c: c} }

// loginURL returns the login page of an auth request.
func loginURL(id string) string { return PathLogin + "?id=" + url.QueryEscape(id) }
