package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
)

// Limiter counts events per key in fixed windows shared by every instance on this Redis.
type Limiter struct{ c *Client }

// Limiter returns the rate limiter of c.
func (c *Client) Limiter() *Limiter { return &Limiter{c: c} }

// Counts one event in KEYS[1], starting a window of ARGV[1] ms with the first: {count, ms left}.
var allowScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
	ttl = tonumber(ARGV[1])
end
return {n, ttl}`)

// Allow counts one event for key and reports whether it is within limit events per window. The
// window starts with the first event of key and lasts window (a fixed window: up to 2×limit
// events can pass around a window boundary). When ok is false, retryAfter is the time until the
// window ends. Denied events count too. Use one key per (limit, window) pair. Errors: EINVALID for
// limit < 1 or window < 1 ms; Redis errors.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	if limit < 1 || window < time.Millisecond {
		return false, 0, wxlogin.Errorf(wxlogin.EINVALID, "redis: rate limit needs limit >= 1 and window >= 1ms")
	}
	vals, err := allowScript.Run(ctx, l.c.rdb, []string{l.c.key("rl:", key)}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redis: rate limit: %w", err)
	}
	if len(vals) != 2 {
		return false, 0, fmt.Errorf("redis: rate limit: unexpected script answer")
	}
	if vals[0] <= int64(limit) {
		return true, 0, nil
	}
	return false, time.Duration(vals[1]) * time.Millisecond, nil
}
