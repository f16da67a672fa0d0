package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// seeder is a store that writes many rows at once (sqlite.Store and postgres.Store).
type seeder interface {
	Seed(ctx context.Context, users []*wxlogin.User, ids []*wxlogin.Identity, sessions []*wxlogin.Session, tokens []*wxlogin.RefreshToken) error
}

// seedBatch is one transaction's worth of rows.
type seedBatch struct {
	users    []*wxlogin.User
	ids      []*wxlogin.Identity
	sessions []*wxlogin.Session
	tokens   []*wxlogin.RefreshToken
	samples  []seedSample
}

// seedSample is a seeded session whose refresh token the seed file reveals.
type seedSample struct {
	user, sessionID, userID string
	refresh                 wxlogin.Secret
}

// runSeed fills the configured database with users (each with a WeChat identity of one app, the
// device user "<prefix><index>" of the WeChat simulator, so `/sim/login` can log them in) and
// sessions (each with an unspent refresh token), in large batches. It writes a sample of the
// sessions, with their refresh tokens and fresh access tokens, to --out (mode 0600) for benchmarks.
// It is for test and benchmark databases only.
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
	bulk, ok := store.(seeder)
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
	var sampleFile *bufio.Writer
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		sampleFile = bufio.NewWriter(f)
		fmt.Fprintln(sampleFile, "# user\tsession_id\tuser_id\trefresh_token\taccess_token")
	}

	stride := 0
	if *nSamples > 0 && *nSessions > 0 {
		stride = max(1, *nSessions / *nSamples)
	}
	userIDs := make([]string, *nUsers) // session j belongs to user j % users
	var run [5]byte                    // ids are run prefix + counter: same shape as wxlogin.NewID, but ascending, so inserts append to the indexes
	if _, err := rand.Read(run[:]); err != nil {
		return err
	}
	now := time.Now().UTC()
	total := max(*nUsers, *nSessions)
	batches := make(chan *seedBatch, 2)
	genErr := make(chan error, 1)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // build batches (the crypto) while the previous one is written
		defer close(batches)
		for start := 0; start < total; start += *batch {
			b, err := buildSeedBatch(start, min(start+*batch, total), *nUsers, *nSessions, stride, *nSamples, userIDs, run, app, *prefix, ring, cfg.SessionTTL, now)
			if err != nil {
				genErr <- err
				return
			}
			select {
			case batches <- b:
			case <-gctx.Done():
				return
			}
		}
	}()
	began := time.Now()
	written := 0
	for b := range batches {
		if err := bulk.Seed(ctx, b.users, b.ids, b.sessions, b.tokens); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		written += len(b.users) + len(b.ids) + len(b.sessions) + len(b.tokens)
		for _, s := range b.samples {
			if sampleFile == nil {
				break
			}
			access, _, err := issuer.Issue(s.userID, s.sessionID, app.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(sampleFile, "%s\t%s\t%s\t%s\t%s\n", s.user, s.sessionID, s.userID, s.refresh.Reveal(), access)
		}
	}
	select {
	case err := <-genErr:
		return err
	default:
	}
	if sampleFile != nil {
		if err := sampleFile.Flush(); err != nil {
			return err
		}
	}
	took := time.Since(began)
	fmt.Fprintf(stdout, "seeded %d users (app %s, device users %s%07d…), %d sessions with refresh tokens: %d rows in %s (%.0f rows/s)\n",
		*nUsers, app.ID, *prefix, 0, *nSessions, written, took.Round(time.Millisecond), float64(written)/took.Seconds())
	return nil
}

// buildSeedBatch returns the rows of indexes [from, to): user i (when i < users) with its identity,
// and session i (when i < sessions) of user i % users with one refresh token.
func buildSeedBatch(from, to, users, sessions, stride, maxSamples int, userIDs []string, run [5]byte, app wxlogin.App, prefix string,
	ring *keyring.Keyring, sessionTTL time.Duration, now time.Time) (*seedBatch, error) {
	b := &seedBatch{}
	var raw [16]byte
	for i := from; i < to && i < users; i++ {
		name := fmt.Sprintf("%s%07d", prefix, i)
		openid := wechatsim.OpenID(app.ID, name)
		unionid := ""
		if app.Platform != "" {
			unionid = wechatsim.UnionID(app.Platform, name)
		}
		userIDs[i] = seedID("usr", run, i)
		b.users = append(b.users, &wxlogin.User{ID: userIDs[i], UnionID: unionid, CreatedAt: now, UpdatedAt: now})
		// A random session_key, sealed as auth seals one (additional data binds it to the identity).
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		sealed, err := ring.Seal([]byte(base64.StdEncoding.EncodeToString(raw[:])), auth.SessionKeyAD(app.ID, openid))
		if err != nil {
			return nil, err
		}
		b.ids = append(b.ids, &wxlogin.Identity{AppID: app.ID, OpenID: openid, UnionID: unionid, UserID: userIDs[i],
			SessionKey: sealed, SessionKeyUpdatedAt: now, CreatedAt: now, UpdatedAt: now})
	}
	for j := from; j < to && j < sessions; j++ {
		u := j % users
		s := &wxlogin.Session{ID: seedID("ses", run, j), UserID: userIDs[u], AppID: app.ID, Method: "wechat", UserAgent: "wxlogin-seed",
			IP: "127.0.0.1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(sessionTTL)}
		refresh, hash := token.NewRefreshToken()
		b.sessions = append(b.sessions, s)
		b.tokens = append(b.tokens, &wxlogin.RefreshToken{Hash: hash, SessionID: s.ID, CreatedAt: now, ExpiresAt: s.ExpiresAt})
		if stride > 0 && j%stride == 0 && j/stride < maxSamples {
			b.samples = append(b.samples, seedSample{user: fmt.Sprintf("%s%07d", prefix, u), sessionID: s.ID, userID: s.UserID, refresh: refresh})
		}
	}
	return b, nil
}

// seedID returns prefix_hex(run | 8-byte big-endian i): the shape of wxlogin.NewID (13 bytes of
// hex), unique per seed run, ascending in i.
func seedID(prefix string, run [5]byte, i int) string {
	var b [13]byte
	copy(b[:5], run[:])
	binary.BigEndian.PutUint64(b[5:], uint64(i))
	return prefix + "_" + hex.EncodeToString(b[:])
}
