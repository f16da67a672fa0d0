package wechat

import (
	"testing"
	"time"
)

// The last token a client saw survives racing reads: an older token read late, or a read that
// found the cache empty, does not replace a newer one (it would cost a fetch in the next outage).
func TestRememberKeepsTheNewestToken(t *testing.T) {
	c := NewClient(Config{AppID: "wxremember", Secret: "s"})
	now := time.Now()
	newer := Token{AccessToken: "newer", ExpiresAt: now.Add(2 * time.Hour)}
	older := Token{AccessToken: "older", ExpiresAt: now.Add(time.Hour)}
	c.remember(newer, true)
	c.remember(older, true)
	c.remember(Token{}, false)
	if c.last.AccessToken != "newer" {
		t.Fatalf("last = %q, want newer", c.last.AccessToken)
	}
	c.forget("newer")
	c.remember(older, true)
	if c.last.AccessToken != "older" {
		t.Fatalf("after forget, last = %q, want older", c.last.AccessToken)
	}
}
