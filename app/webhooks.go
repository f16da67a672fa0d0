package app

import (
	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/webhook"
)

// webhookRoutes returns the service's routes of events to endpoints.
func webhookRoutes(eps []webhook.Endpoint) []auth.WebhookRoute {
	var out []auth.WebhookRoute
	for _, e := range eps {
		out = append(out, auth.WebhookRoute{Endpoint: e.Name, Wants: e.Wants})
	}
	return out
}

// newDeliverer returns the deliverer of cfg's webhooks over store (nil when there are none).
func newDeliverer(cfg Config, store wxlogin.Store) (*webhook.Deliverer, error) {
	if len(cfg.Webhooks) == 0 {
		return nil, nil
	}
	wc := webhook.Config{Store: store, Endpoints: cfg.Webhooks, RetryWindow: cfg.WebhookRetryWindow, MinBackoff: cfg.WebhookMinBackoff, Timeout: cfg.WebhookTimeout,
		Now: cfg.Now, Logger: cfg.Logger}
	if cfg.Metrics != nil {
		wc.Observer = cfg.Metrics
	}
	return webhook.New(wc)
}
