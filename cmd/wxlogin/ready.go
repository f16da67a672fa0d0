package main

import (
	"context"

	"github.com/wxlogin/wxlogin"
	wxhttp "github.com/wxlogin/wxlogin/http"
	"github.com/wxlogin/wxlogin/redis"
)

// readyChecks returns what GET /readyz checks: the store answers, its schema migrations are all
// applied, and Redis answers a PING when it is configured (rc != nil). Failures name the
// dependency; their errors (which may hold an address, never a password) are only logged.
func readyChecks(store migratingStore, rc *redis.Client) []wxhttp.ReadyCheck {
	checks := []wxhttp.ReadyCheck{
		{Name: "store", Check: func(ctx context.Context) error {
			_, err := store.Migrated(ctx)
			return err
		}},
		{Name: "migrations", Check: func(ctx context.Context) error {
			ok, err := store.Migrated(ctx)
			if err != nil {
				return wxlogin.Errorf(wxlogin.EUPSTREAMUNAVAIL, "unknown: the store is unreachable")
			}
			if !ok {
				return wxlogin.Errorf(wxlogin.EUPSTREAMUNAVAIL, "not applied: run 'wxlogin migrate'")
			}
			return nil
		}},
	}
	if rc != nil {
		checks = append(checks, wxhttp.ReadyCheck{Name: "redis", Check: rc.Ping})
	}
	return checks
}
