package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wxlogin/wxlogin/seed"
	"github.com/wxlogin/wxlogin/token"
)

// runSeed is `wxlogin seed`: it parses the flags, opens and migrates the configured database and
// runs seed.Run, writing a sample of the sessions with their tokens to --out (mode 0600) for
// benchmarks. It is for test and benchmark databases only.
func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("seed", stderr)
	path := fs.String("config", "", "YAML configuration file (WXLOGIN_* environment variables override it)")
	db := fs.String("database", "", "database URL (overrides the configuration)")
	nUsers := fs.Int("users", 1000, "users to create (each with one WeChat identity)")
	nSessions := fs.Int("sessions", -1, "sessions to create, spread over the users (default: as many as users)")
	batch := fs.Int("batch", 10000, "rows per table per transaction")
	prefix := fs.String("user-prefix", "bench-", "simulator device user names are <prefix><7-digit index>")
	appid := fs.String("appid", "", "the app of the identities (default: the first configured app)")
	nSamples := fs.Int("samples", 1000, "sessions to write to --out with their tokens")
	out := fs.String("out", "", "file for the sample sessions (tab-separated: user, session_id, user_id, refresh_token, access_token); none when empty")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *nSessions < 0 {
		*nSessions = *nUsers
	}
	if *nUsers < 1 || *batch < 1 {
		return errors.New("seed: --users and --batch must be at least 1")
	}
	cfg, err := commandConfig(*path, getenv)
	if err != nil {
		return err
	}
	if *db != "" {
		cfg.Database = *db
	}
	apps, err := parseApps(cfg.Apps)
	if err != nil {
		return err
	}
	app := apps[0]
	if *appid != "" {
		found := false
		for _, a := range apps {
			if a.ID == *appid {
				app, found = a, true
			}
		}
		if !found {
			return fmt.Errorf("seed: app %q is not configured", *appid)
		}
	}
	ring, store, err := openKeysAndStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	bulk, ok := store.(seed.Seeder)
	if !ok {
		return errors.New("seed: this store cannot seed")
	}
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	issuer, err := token.New(ctx, token.Options{Keys: store, Sealer: ring, Issuer: cfg.Issuer, TTL: cfg.AccessTokenTTL, Algorithm: cfg.SigningAlgorithm})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	var sampleOut io.Writer
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		sampleOut = f
	}
	began := time.Now()
	written, err := seed.Run(ctx, seed.Options{Store: bulk, Ring: ring, Issuer: issuer, App: app, Users: *nUsers, Sessions: *nSessions,
		Batch: *batch, Prefix: *prefix, Samples: *nSamples, SampleOut: sampleOut, SessionTTL: cfg.SessionTTL, Now: time.Now().UTC()})
	if err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Fprintf(stdout, "seeded %d users (app %s, device users %s%07d…), %d sessions with refresh tokens: %d rows in %s (%.0f rows/s)\n",
		*nUsers, app.ID, *prefix, 0, *nSessions, written, took.Round(time.Millisecond), float64(written)/took.Seconds())
	return nil
}
