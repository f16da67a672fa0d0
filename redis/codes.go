package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
)

const pending = "pending"

// CodeCache returns an wxlogin.CodeCache shared by every instance on this Redis, remembering settled
// exchanges for window (window <= 0: not at all; Settle then only releases the key).
func (c *Client) CodeCache(window time.Duration) wxlogin.CodeCache {
	return &codeCache{c: c, window: window}
}

type codeCache struct {
	c      *Client
	window time.Duration
}

// Takes KEYS[1] as "pending" for ARGV[1] ms: {1} when taken, else {0, current value}.
var claimScript = goredis.NewScript(`
if redis.call('SET', KEYS[1], 'pending', 'NX', 'PX', ARGV[1]) then return {1} end
return {0, redis.call('GET', KEYS[1])}`)

// Stores ARGV[1] for ARGV[2] ms unless KEYS[1] already holds a result; ARGV[2] = "0" deletes a
// pending KEYS[1] instead.
var settleScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and v ~= 'pending' then return 0 end
if ARGV[2] == '0' then
	if v then redis.call('DEL', KEYS[1]) end
	return 1
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// Deletes KEYS[1] when it is still "pending".
var releaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == 'pending' then return redis.call('DEL', KEYS[1]) end
return 0`)

func (cc *codeCache) key(k string) string { return cc.c.key("code:", k) }

// Claim implements wxlogin.CodeCache: SET key "pending" NX PX <inflight TTL>; a caller that does not
// get it polls every 25 ms until the key holds a result (returned), disappears (claimed again) or
// ctx ends. Errors: Redis errors, a stored value that does not decode, ctx's.
func (cc *codeCache) Claim(ctx context.Context, key string) (*wxlogin.CodeResult, error) {
	k := cc.key(key)
	var tick *time.Ticker
	for {
		vals, err := claimScript.Run(ctx, cc.c.rdb, []string{k}, ms(cc.c.opts.inflightTTL)).Slice()
		if err != nil {
			return nil, fmt.Errorf("redis: claim code: %w", err)
		}
		if n, _ := vals[0].(int64); n == 1 {
			return nil, nil
		}
		if len(vals) > 1 {
			if v, _ := vals[1].(string); v != pending {
				var res wxlogin.CodeResult
				if err := json.Unmarshal([]byte(v), &res); err != nil {
					return nil, fmt.Errorf("redis: stored code result does not decode")
				}
				return &res, nil
			}
		}
		if tick == nil {
			tick = time.NewTicker(pollInterval)
			defer tick.Stop()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Settle implements wxlogin.CodeCache: res is stored for the window unless the key already holds a
// result; nil deletes the key only while it is pending. Errors: Redis errors.
func (cc *codeCache) Settle(ctx context.Context, key string, res *wxlogin.CodeResult) error {
	k := cc.key(key)
	var err error
	if res == nil {
		err = releaseScript.Run(ctx, cc.c.rdb, []string{k}).Err()
	} else {
		v, _ := json.Marshal(res)
		var px int64
		if cc.window > 0 {
			px = ms(cc.window)
		}
		err = settleScript.Run(ctx, cc.c.rdb, []string{k}, v, px).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: settle code: %w", err)
	}
	return nil
}
