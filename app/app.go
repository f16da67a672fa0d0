// Package app wires wxlogin: from an opened store, the data keys and the settings it builds the
// token issuer, one WeChat client per app, the login service with its caches and limits, and the
// HTTP API. `wxlogin serve`, `wxlogin dev`, the benchmarks and the HTTP tests all call New, so
// there is one wiring to keep. Opening (and migrating) the store and Redis stays with the caller.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/metrics"
	"github.com/wxlogin/wxlogin/oidc"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/webhook"
	"github.com/wxlogin/wxlogin/wechat"
)

// Config configures New. Auth holds the login service's settings (Store and Sealer required);
// New fills in what it wires itself: Tokens, Apps, Logger and Now (from the fields below), and
// wraps Store with Metrics' instrumentation. HTTP holds the API's settings; New sets its Now,
// and its Observer and Metrics when Metrics is set.
type Config struct {
	Auth auth.Config
	HTTP wxhttp.Config

	// Apps are the mini programs served: each gets a WeChat client.
	Apps []wxlogin.App
	// WeChatBaseURL is WeChat's API (default the real one; tests and dev point it at the simulator).
	WeChatBaseURL string
	// WeChatHTTPClient calls WeChat (default: the wechat package's, 5 s timeout).
	WeChatHTTPClient *http.Client
	// WeChatTokens shares the apps' WeChat access tokens between instances (default: this process).
	WeChatTokens wxlogin.TokenCache

	// Issuer, TokenTTL and SigningAlgorithm configure the access tokens (token.Options).
	Issuer           string
	TokenTTL         time.Duration
	SigningAlgorithm string

	// OIDC configures the OpenID Connect provider (off without clients; see oidc.go).
	OIDC OIDCConfig

	// Metrics, when set, measures the store, the WeChat calls and the HTTP API, and serves them.
	Metrics *metrics.Metrics
	Now     func() time.Time // default time.Now
	Logger  *slog.Logger     // default: discard

	// Webhooks are the business systems that receive events (webhooks.go); WebhookRetryWindow is
	// how long failed deliveries are retried (default 24 h), WebhookMinBackoff the first wait
	// (default 10 s), WebhookTimeout the bound of one delivery (default 10 s).
	Webhooks           []webhook.Endpoint
	WebhookRetryWindow time.Duration
	WebhookMinBackoff  time.Duration
	WebhookTimeout     time.Duration
}

// App is a wired wxlogin.
type App struct {
	Store   wxlogin.Store // the store as the service uses it (instrumented when metrics are on)
	Tokens  *token.Issuer
	Service *auth.Service
	Handler http.Handler   // the whole HTTP API
	OIDC    *oidc.Provider // nil when no OIDC client is configured
	// Deliverer sends the webhook outbox (nil without Webhooks); the caller runs it (Run).
	Deliverer *webhook.Deliverer
}

// New wires an App from cfg. Errors: a missing Store or Sealer, the signing keys' ("signing keys: …"), a
// bad app list or service setting (auth.New).
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Auth.Store == nil || cfg.Auth.Sealer == nil {
		return nil, errors.New("app: Auth.Store and Auth.Sealer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	store := cfg.Auth.Store
	if cfg.Metrics != nil {
		store = metrics.InstrumentStore(store, cfg.Metrics)
	}
	issuer, err := token.New(ctx, token.Options{Keys: store, Sealer: cfg.Auth.Sealer, Issuer: cfg.Issuer, TTL: cfg.TokenTTL,
		Algorithm: cfg.SigningAlgorithm, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	tokens := cfg.WeChatTokens
	if tokens == nil {
		tokens = wechat.NewMemoryTokenCache() // one cache for every app's client, as Redis would be
	}
	a := cfg.Auth
	a.Store, a.Tokens, a.Logger, a.Now, a.Apps = store, issuer, cfg.Logger, cfg.Now, nil
	for _, ap := range cfg.Apps {
		wc := wechat.Config{BaseURL: cfg.WeChatBaseURL, AppID: ap.ID, Secret: ap.Secret, HTTPClient: cfg.WeChatHTTPClient,
			Logger: cfg.Logger, Tokens: tokens, Now: cfg.Now}
		if cfg.Metrics != nil {
			wc.Observer = cfg.Metrics
		}
		a.Apps = append(a.Apps, auth.AppClient{App: ap, WeChat: wechat.NewClient(wc)})
	}
	a.Webhooks = append(a.Webhooks, webhookRoutes(cfg.Webhooks)...)
	svc, err := auth.New(a)
	if err != nil {
		return nil, err
	}
	deliverer, err := newDeliverer(cfg, store)
	if err != nil {
		return nil, err
	}
	prov, clients, err := newOIDC(cfg, store, issuer, svc)
	if err != nil {
		return nil, err
	}
	h := cfg.HTTP
	if prov != nil {
		h.OIDC, h.OIDCClients = prov.Handler(), oidcClientsInfo(clients)
	}
	if h.Now == nil {
		h.Now = cfg.Now
	}
	if cfg.Metrics != nil {
		h.Observer, h.Metrics = cfg.Metrics, cfg.Metrics.Handler()
	}
	return &App{Store: store, Tokens: issuer, Service: svc, Handler: wxhttp.NewServer(cfg.Logger, h, svc), OIDC: prov, Deliverer: deliverer}, nil
}
