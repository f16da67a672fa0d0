// Package seed fills a test or benchmark database fast: users, each with a WeChat identity of one
// app (the device user "<prefix><index>" of the WeChat simulator, so `/sim/login` logs them in),
// and sessions, each with an unspent refresh token, written in large batches through the store's
// bulk Seed. `wxlogin seed` runs it; it is for test and benchmark databases only.
package seed

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
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// Seeder is a store that writes many rows at once (sqlite.Store and postgres.Store).
type Seeder interface {
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

// Options configure Run.
type Options struct {
	Store      Seeder
	Ring       *keyring.Keyring // seals the identities' random session_keys
	Issuer     *token.Issuer    // signs the samples' access tokens
	App        wxlogin.App      // the app of the identities
	Users      int              // users to create (at least 1)
	Sessions   int              // sessions, spread over the users
	Batch      int              // rows per table per transaction (at least 1)
	Prefix     string           // simulator device user names are <Prefix><7-digit index>
	Samples    int              // sessions to write to SampleOut with their tokens
	SampleOut  io.Writer        // tab-separated: user, session_id, user_id, refresh_token, access_token; nil: none
	SessionTTL time.Duration
	Now        time.Time
}

// Run seeds o.Store and returns how many rows it wrote. Errors: bad counts, the store's, the
// signer's, SampleOut's.
func Run(ctx context.Context, o Options) (rows int, err error) {
	if o.Users < 1 || o.Batch < 1 {
		return 0, errors.New("seed: --users and --batch must be at least 1")
	}
	var sampleFile *bufio.Writer
	if o.SampleOut != nil {
		sampleFile = bufio.NewWriter(o.SampleOut)
		fmt.Fprintln(sampleFile, "# user\tsession_id\tuser_id\trefresh_token\taccess_token")
	}
	stride := 0
	if o.Samples > 0 && o.Sessions > 0 {
		stride = max(1, o.Sessions/o.Samples)
	}
	userIDs := make([]string, o.Users) // session j belongs to user j % users
	var run [5]byte                    // ids are run prefix + counter: same shape as wxlogin.NewID, but ascending, so inserts append to the indexes
	if _, err := rand.Read(run[:]); err != nil {
		return 0, err
	}
	total := max(o.Users, o.Sessions)
	batches := make(chan *seedBatch, 2)
	genErr := make(chan error, 1)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // build batches (the crypto) while the previous one is written
		defer close(batches)
		for start := 0; start < total; start += o.Batch {
			b, err := buildSeedBatch(start, min(start+o.Batch, total), o.Users, o.Sessions, stride, o.Samples, userIDs, run, o.App, o.Prefix, o.Ring, o.SessionTTL, o.Now)
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
	written := 0
	for b := range batches {
		if err := o.Store.Seed(ctx, b.users, b.ids, b.sessions, b.tokens); err != nil {
			return written, fmt.Errorf("seed: %w", err)
		}
		written += len(b.users) + len(b.ids) + len(b.sessions) + len(b.tokens)
		for _, s := range b.samples {
			if sampleFile == nil {
				break
			}
			access, _, err := o.Issuer.Issue(s.userID, s.sessionID, o.App.ID)
			if err != nil {
				return written, err
			}
			fmt.Fprintf(sampleFile, "%s\t%s\t%s\t%s\t%s\n", s.user, s.sessionID, s.userID, s.refresh.Reveal(), access)
		}
	}
	select {
	case err := <-genErr:
		return written, err
	default:
	}
	if sampleFile != nil {
		if err := sampleFile.Flush(); err != nil {
			return written, err
		}
	}
	return written, nil
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
