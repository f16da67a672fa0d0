package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/webhook"
)

// parseWebhooks parses the webhooks setting: entries separated by ";", each
// "name|URL|secret[|type,type,…]" (no types: every event type but the opt-in login.succeeded).
// Errors name the entry and never echo a secret.
func parseWebhooks(s string) ([]webhook.Endpoint, error) {
	var out []webhook.Endpoint
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		f := strings.Split(item, "|")
		name := strings.TrimSpace(f[0])
		if len(f) < 3 || len(f) > 4 || name == "" {
			return nil, fmt.Errorf("webhooks: each entry must be name|URL|secret[|types] (entry %q is not)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("webhooks: endpoint %q is configured twice", name)
		}
		seen[name] = true
		u, err := url.Parse(strings.TrimSpace(f[1]))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("webhooks: endpoint %q: the URL must be http(s)://host/…", name)
		}
		secret := strings.TrimSpace(f[2])
		if len(secret) < 16 {
			return nil, fmt.Errorf("webhooks: endpoint %q: the secret must be at least 16 characters", name)
		}
		e := webhook.Endpoint{Name: name, URL: u.String(), Secret: wxlogin.Secret(secret)}
		if len(f) == 4 {
			for _, t := range strings.Split(f[3], ",") {
				t = strings.TrimSpace(t)
				if t != "*" && !slices.Contains(auth.EventTypes, t) {
					return nil, fmt.Errorf("webhooks: endpoint %q: unknown event type %q (known: *, %s)", name, t, strings.Join(auth.EventTypes, ", "))
				}
				e.Events = append(e.Events, t)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// runDeliverer runs st's webhook deliverer until ctx ends (nothing without webhooks).
func (s *stack) runDeliverer(ctx context.Context) {
	if s.deliverer != nil {
		s.deliverer.Run(ctx)
	}
}

// randomSecret returns a random webhook secret (dev's default).
func randomSecret() string {
	var b [24]byte
	rand.Read(b[:])
	return "whsec_" + hex.EncodeToString(b[:])
}

// devWebhooks sets cfg's webhooks to urls (named dev1, dev2, …), signed with secret (a random
// one, printed to stdout, when ""). Errors: a bad URL.
func devWebhooks(cfg *Config, urls []string, secret string, stdout io.Writer) error {
	if len(urls) == 0 {
		return nil
	}
	if secret == "" {
		secret = randomSecret()
		fmt.Fprintf(stdout, "webhook secret: %s\n", secret)
	}
	var entries []string
	for i, u := range urls {
		entries = append(entries, fmt.Sprintf("dev%d|%s|%s", i+1, u, secret))
	}
	cfg.Webhooks = strings.Join(entries, ";")
	_, err := parseWebhooks(cfg.Webhooks)
	return err
}

// runDeletions deletes the accounts whose deletion grace period is over, every interval until ctx
// ends, logging how many.
func runDeletions(ctx context.Context, svc *auth.Service, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := svc.RunDeletions(ctx)
		if err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "account deletions", "err", err)
		} else if n > 0 {
			logger.InfoContext(ctx, "accounts deleted after their grace period", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lookupClients returns the set of client ids of the lookup_clients setting.
func lookupClients(s string) map[string]bool {
	out := map[string]bool{}
	for _, id := range strings.Split(s, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out[id] = true
		}
	}
	return out
}
