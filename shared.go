package wxlogin

import (
	"context"
	"time"
)

// The interfaces below are implemented by the providers of state shared between instances (package
// redis; in-process versions in auth and wechat) and used by auth and wechat.

// WeChatSession is what WeChat's code2Session answers for a code: the user as the app sees them and
// the session_key (which never leaves the server).
type WeChatSession struct {
	OpenID     string
	UnionID    string // "" unless the app is bound to an Open Platform account
	SessionKey Secret
}

// WeChatToken is an app's WeChat access token and the time it stops being valid.
type WeChatToken struct {
	AccessToken Secret
	ExpiresAt   time.Time
}

// TokenCache shares each app's WeChat access token between the instances of a deployment.
// Implementations must be safe for concurrent use. WeChatToken.AccessToken is a Secret whose
// encoders redact it: an implementation that serialises a token must store AccessToken.Reveal().
//
// A Redis implementation: Get/Set a hash or JSON value with PX = time until ExpiresAt; Invalidate
// with a Lua script that deletes the key only when it still holds accessToken; Lock with
// SET lockkey <random> NX PX ttl, unlock with a Lua compare-and-delete of <random>.
type TokenCache interface {
	// Get returns the cached token of appid; ok is false when there is none. Callers check ExpiresAt.
	Get(ctx context.Context, appid string) (tok WeChatToken, ok bool, err error)
	// Set stores tok as appid's token, replacing any other.
	Set(ctx context.Context, appid string, tok WeChatToken) error
	// Invalidate deletes appid's token only if it is still accessToken (compare-and-delete), so a
	// caller holding an old token cannot delete the new one another instance just stored.
	Invalidate(ctx context.Context, appid string, accessToken Secret) error
	// Lock takes appid's refresh lock for at most ttl. ok is false when someone else holds it.
	// unlock releases it only if it is still ours (it may have expired and been taken by another).
	Lock(ctx context.Context, appid string, ttl time.Duration) (unlock func(), ok bool, err error)
}

// CodeResult is what a settled code exchange left behind: which identity the code belonged to, and
// which request from which client may repeat it.
type CodeResult struct {
	AppID  string
	OpenID string
	IP     string // the client that exchanged it: only the same client may repeat the code
	// Request identifies what the first exchange was asked (the account named, the user agent;
	// hashed): only the same request may repeat the code, and a repeat changes nothing.
	Request string
}

// CodeCache de-duplicates code exchanges: WeChat accepts a code once, but clients double-tap and
// retry. The first caller of a key exchanges the code; later callers within the window get its
// result instead of WeChat's 40163.
type CodeCache interface {
	// Claim returns (nil, nil) when the caller owns the exchange of key and must call Settle, or the
	// result of an earlier exchange (waiting while one is in flight). An in-flight exchange that
	// fails is released, and its waiters then get (nil, nil) and may try themselves.
	Claim(ctx context.Context, key string) (*CodeResult, error)
	// Settle records res (nil: the exchange failed; release the key) for the window.
	Settle(ctx context.Context, key string, res *CodeResult) error
}

// Invalidations carries cache invalidations between the instances sharing a store, so that every
// instance drops what another one's write made stale.
type Invalidations interface {
	// Publish announces keys to every instance. Errors: the transport's.
	Publish(ctx context.Context, keys []string) error
	// Subscribe calls fn with every key any instance publishes until ctx ends. It calls up(true)
	// each time the subscription is (re)established and up(false) when it is lost; keys published
	// while it was lost are never delivered.
	Subscribe(ctx context.Context, fn func(key string), up func(bool)) error
}
