package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxlogin/wxlogin"
)

// TokenCache returns the WeChat access-token cache shared through Redis, wrapped in a
// FallbackTokenCache so that a brief Redis outage is served from the last token seen by this
// process. Every call returns the same cache.
func (c *Client) TokenCache() wxlogin.TokenCache { return c.tokens }

// tokenCache is the Redis wxlogin.TokenCache.
type tokenCache struct{ c *Client }

type storedToken struct {
	AccessToken string `json:"access_token"`
	ExpiresAtMS int64  `json:"expires_at_ms"`
}

// Deletes KEYS[1] when it holds a token whose access_token is ARGV[1].
var invalidateScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, t = pcall(cjson.decode, v)
if ok and type(t) == 'table' and t.access_token == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)

// Deletes KEYS[1] when it holds ARGV[1].
var compareDeleteScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

func (t *tokenCache) key(appid string) string { return t.c.key("wxtoken:", appid) }

// Get implements wxlogin.TokenCache. Errors: Redis errors, or a stored value that does not decode.
func (t *tokenCache) Get(ctx context.Context, appid string) (wxlogin.WeChatToken, bool, error) {
	v, err := t.c.rdb.Get(ctx, t.key(appid)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return wxlogin.WeChatToken{}, false, nil
	}
	if err != nil {
		return wxlogin.WeChatToken{}, false, fmt.Errorf("redis: get access token of %s: %w", appid, err)
	}
	var st storedToken
	if err := json.Unmarshal(v, &st); err != nil || st.AccessToken == "" {
		// The error of json.Unmarshal could quote the value: do not wrap it.
		return wxlogin.WeChatToken{}, false, fmt.Errorf("redis: stored access token of %s does not decode", appid)
	}
	return wxlogin.WeChatToken{AccessToken: wxlogin.Secret(st.AccessToken), ExpiresAt: time.UnixMilli(st.ExpiresAtMS)}, true, nil
}

// Set implements wxlogin.TokenCache: the key expires with the token. An expired token deletes the
// key. Errors: Redis errors.
func (t *tokenCache) Set(ctx context.Context, appid string, tok wxlogin.WeChatToken) error {
	ttl := tok.ExpiresAt.Sub(t.c.opts.now())
	var err error
	if ttl < time.Millisecond {
		err = t.c.rdb.Del(ctx, t.key(appid)).Err()
	} else {
		v, _ := json.Marshal(storedToken{AccessToken: tok.AccessToken.Reveal(), ExpiresAtMS: tok.ExpiresAt.UnixMilli()})
		err = t.c.rdb.Do(ctx, "SET", t.key(appid), v, "PX", ms(ttl)).Err()
	}
	if err != nil {
		return fmt.Errorf("redis: set access token of %s: %w", appid, err)
	}
	return nil
}

// Invalidate implements wxlogin.TokenCache with an atomic compare-and-delete. Errors: Redis errors.
func (t *tokenCache) Invalidate(ctx context.Context, appid string, accessToken wxlogin.Secret) error {
	if err := invalidateScript.Run(ctx, t.c.rdb, []string{t.key(appid)}, accessToken.Reveal()).Err(); err != nil {
		return fmt.Errorf("redis: invalidate access token of %s: %w", appid, err)
	}
	return nil
}

// Lock implements wxlogin.TokenCache with SET NX PX and a random token; unlock deletes the key only
// while it still holds that token, within a 2 s timeout of its own. Errors: Redis errors.
func (t *tokenCache) Lock(ctx context.Context, appid string, ttl time.Duration) (func(), bool, error) {
	return t.c.lock(ctx, t.c.key("wxtoken-lock:", appid), ttl)
}

// lock takes key for ttl; see tokenCache.Lock.
func (c *Client) lock(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	if ttl <= 0 {
		return nil, false, wxlogin.Errorf(wxlogin.EINVALID, "redis: lock ttl must be positive")
	}
	token := randomToken()
	ok, err := c.rdb.SetNX(ctx, key, token, time.Duration(ms(ttl))*time.Millisecond).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redis: lock %s: %w", key, err)
	}
	if !ok {
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
			defer cancel()
			if err := compareDeleteScript.Run(ctx, c.rdb, []string{key}, token).Err(); err != nil {
				// The lock expires on its own after ttl.
				c.opts.log.Warn("redis: unlock failed", "key", key, "error", err.Error())
			}
		})
	}, true, nil
}

// randomToken returns 128 random bits in hex.
func randomToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
