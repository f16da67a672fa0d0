// Package redis keeps the state that several wxlogin instances share in Redis (go-redis v9): the
// WeChat access token and its refresh lock, code de-duplication, rate-limit counters and cache
// invalidation notices.
//
// Keys, all under a configurable prefix (default "wxlogin:"):
//
//	<prefix>wxtoken:<appid>       JSON {"access_token","expires_at_ms"}; PX = time until the token expires
//	<prefix>wxtoken-lock:<appid>  random lock token; PX = the ttl passed to Lock (wechat uses 15 s)
//	<prefix>code:<hash>           "pending" with PX = inflight TTL (default 15 s, WithInflightTTL) while
//	                              an exchange runs, then JSON CodeResult with PX = the CodeCache window
//	<prefix>rl:<key>              fixed-window counter; PX = the window passed to Allow
//
// Pub/sub channel: <prefix>invalidations carries the cache keys writes made stale, newline-separated.
//
// Errors never carry an access token, a lock token or the Redis URL (which may hold a password).
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Defaults of the options.
const (
	DefaultPrefix      = "wxlogin:"
	DefaultInflightTTL = 15 * time.Second
	// pollInterval is how often a code claimer re-reads a key held by an exchange in flight.
	pollInterval = 25 * time.Millisecond
	// unlockTimeout bounds the release of a lock, whose unlock func has no context.
	unlockTimeout = 2 * time.Second
)

// Option configures a Client.
type Option func(*options)

type options struct {
	prefix      string
	inflightTTL time.Duration
	now         func() time.Time
	log         *slog.Logger
}

// WithPrefix sets the prefix of every key and channel (default "wxlogin:").
func WithPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithInflightTTL sets how long a code exchange in flight holds its key before others may take it
// over (default 15 s): it bounds the wait caused by an instance that died mid-exchange.
func WithInflightTTL(d time.Duration) Option { return func(o *options) { o.inflightTTL = d } }

// WithNow sets the clock used to turn token expiry times into TTLs (default time.Now).
func WithNow(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// Client is a connection pool to Redis and the factory of the shared caches. It is safe for
// concurrent use.
type Client struct {
	rdb    *goredis.Client
	opts   options
	tokens *FallbackTokenCache
}

// Open parses a redis:// or rediss:// URL (go-redis syntax, e.g. redis://:password@host:6379/0),
// connects and pings. The error never includes the URL.
func Open(ctx context.Context, url string, opts ...Option) (*Client, error) {
	ropts, err := goredis.ParseURL(url)
	if err != nil {
		// url.Parse errors quote the whole URL, password included.
		return nil, errors.New("redis: invalid URL (want redis://[user:password@]host:port/db)")
	}
	c := newClient(goredis.NewClient(ropts), opts)
	if err := c.Ping(ctx); err != nil {
		c.rdb.Close()
		return nil, err
	}
	return c, nil
}

func newClient(rdb *goredis.Client, opts []Option) *Client {
	o := options{prefix: DefaultPrefix, inflightTTL: DefaultInflightTTL}
	for _, f := range opts {
		f(&o)
	}
	if o.inflightTTL <= 0 {
		o.inflightTTL = DefaultInflightTTL
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	c := &Client{rdb: rdb, opts: o}
	c.tokens = NewFallbackTokenCache(&tokenCache{c: c}, o.now, o.log)
	return c
}

// Ping checks the connection. Errors: the Redis or network error.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the connection pool; the caches made by c stop working.
func (c *Client) Close() error { return c.rdb.Close() }

func (c *Client) key(parts ...string) string {
	k := c.opts.prefix
	for _, p := range parts {
		k += p
	}
	return k
}

// ms returns d in whole milliseconds, at least 1.
func ms(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
}
