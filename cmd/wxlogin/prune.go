package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/auth"
)

// pruneInterval is how often serve and dev prune.
const pruneInterval = time.Hour

// pruner deletes what the retention settings no longer keep: audit events older than audit, and
// dead sessions (revoked or expired) older than sessions, with their refresh tokens. A zero
// retention keeps forever. It deletes through the auth service, like every other write.
type pruner struct {
	svc      *auth.Service
	audit    time.Duration
	sessions time.Duration
	now      func() time.Time
	log      *slog.Logger
}

// newPruner returns the pruner of cfg's retention settings.
func newPruner(svc *auth.Service, cfg *Config, logger *slog.Logger) *pruner {
	return &pruner{svc: svc, audit: cfg.AuditRetention, sessions: cfg.SessionRetention, now: time.Now, log: logger}
}

// once prunes once and returns how many audit events and sessions it deleted; it goes on with
// sessions when the audit events fail, and returns both errors.
func (p *pruner) once(ctx context.Context) (events, sessions int64, err error) {
	now := p.now()
	var errs []error
	if p.audit > 0 {
		n, err := p.svc.PruneAuditEvents(ctx, now.Add(-p.audit))
		events += n
		if err != nil {
			errs = append(errs, fmt.Errorf("audit events: %w", err))
		}
	}
	if p.sessions > 0 {
		n, err := p.svc.PruneSessions(ctx, now.Add(-p.sessions))
		sessions += n
		if err != nil {
			errs = append(errs, fmt.Errorf("sessions: %w", err))
		}
	}
	if _, err := p.svc.PruneWebTickets(ctx, now); err != nil { // spent flows of the web doors
		errs = append(errs, fmt.Errorf("web tickets: %w", err))
	}
	return events, sessions, errors.Join(errs...)
}

// run prunes at once and then every interval until ctx ends, logging what it deleted.
func (p *pruner) run(ctx context.Context, every time.Duration) {
	if p.audit <= 0 && p.sessions <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		events, sessions, err := p.once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("pruning failed", "audit_events", events, "sessions", sessions, "err", err)
		case events > 0 || sessions > 0:
			p.log.Info("pruned", "audit_events", events, "sessions", sessions)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// parseAdminTokens parses admin_tokens, "name:token,...", into name → token. Names are 1-64 of
// A-Z a-z 0-9 _ . @ - (the audit trail's actor is admin:<name>); tokens are at least 16
// characters; names and tokens are unique. Errors name the entry, never echo a token.
func parseAdminTokens(s string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, tok, ok := strings.Cut(item, ":")
		switch {
		case !ok || !validAdminName(name):
			return nil, errors.New("admin_tokens: each entry must be name:token, the name 1-64 of A-Z a-z 0-9 _ . @ -")
		case len(tok) < 16:
			return nil, fmt.Errorf("admin_tokens: the token of %q is shorter than 16 characters", name)
		case out[name] != "":
			return nil, fmt.Errorf("admin_tokens: %q is named twice", name)
		case seen[tok]:
			return nil, fmt.Errorf("admin_tokens: the token of %q is also another name's token", name)
		}
		out[name], seen[tok] = tok, true
	}
	return out, nil
}

func validAdminName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.@-", c) >= 0) {
			return false
		}
	}
	return true
}
