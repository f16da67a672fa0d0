package auth

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func TestMemoryCodeCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := NewMemoryCodeCache(time.Minute, clock)
	ctx := context.Background()

	// Concurrent claimers: one owner; the others wait for its result.
	var owners atomic.Int32
	var wg sync.WaitGroup
	results := make([]*wxlogin.CodeResult, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Claim(ctx, "k")
			if err != nil {
				t.Error(err)
				return
			}
			if res == nil {
				owners.Add(1)
				time.Sleep(10 * time.Millisecond)
				c.Settle(ctx, "k", &wxlogin.CodeResult{AppID: "a", OpenID: "o"})
				res = &wxlogin.CodeResult{AppID: "a", OpenID: "o"}
			}
			results[i] = res
		}()
	}
	wg.Wait()
	if owners.Load() != 1 {
		t.Fatalf("%d owners of one key", owners.Load())
	}
	for _, r := range results {
		if r == nil || r.OpenID != "o" {
			t.Fatalf("result %+v", r)
		}
	}
	// Past the window the key is free again.
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	if res, _ := c.Claim(ctx, "k"); res != nil {
		t.Error("expired entry still answered")
	}
	// A failed exchange releases the key to the next claimer.
	if res, _ := c.Claim(ctx, "f"); res != nil {
		t.Fatal("fresh key answered")
	}
	waiter := make(chan *wxlogin.CodeResult)
	go func() { r, _ := c.Claim(ctx, "f"); waiter <- r }()
	time.Sleep(10 * time.Millisecond)
	c.Settle(ctx, "f", nil)
	if r := <-waiter; r != nil {
		t.Error("waiter of a failed exchange got a result instead of ownership")
	}
	// A cancelled wait returns the context's error.
	c.Claim(ctx, "w")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Claim(cctx, "w"); err == nil {
		t.Error("cancelled wait returned no error")
	}
	if codeKey("a", "code") == codeKey("b", "code") || strings.Contains(codeKey("a", "secretcode"), "secretcode") {
		t.Error("code keys must differ per app and not contain the code")
	}
}

func TestPasswordHash(t *testing.T) {
	p := Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1}
	h := hashPassword("correct horse", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if !checkPasswordHash("correct horse", h) || checkPasswordHash("correct horsE", h) {
		t.Fatal("hash check wrong")
	}
	if hashPassword("correct horse", p) == h {
		t.Error("no salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=8192,t=1,p=1$AAAA$AAAA", "$argon2id$v=18$m=8192,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=8192,t=1,p=1$!!$AAAA", strings.Replace(h, "$argon2id", "$x", 1)} {
		if checkPasswordHash("correct horse", bad) {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

func TestUsernameAndPasswordRules(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", "a.b-c_d": "a.b-c_d", "007": "007"} {
		if got, err := normalizeUsername(in); err != nil || got != want {
			t.Errorf("normalizeUsername(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ab", ".abc", "-abc", "a b", "ab@c", "名字名字", strings.Repeat("a", 33)} {
		if _, err := normalizeUsername(bad); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("normalizeUsername(%q) accepted", bad)
		}
	}
	if err := validatePassword("alice", "长密码长密码长密码"); err != nil {
		t.Errorf("unicode password refused: %v", err)
	}
	for _, bad := range []string{"short", "ALICEALICE"[:5] + "", "alice", "has\x00nul-long", strings.Repeat("p", 129), "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"} {
		if err := validatePassword("alice", bad); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("validatePassword(%q) accepted", bad)
		}
	}
	if err := validatePassword("alicealice", "ALICEALICE"); err == nil {
		t.Error("password equal to the username (case-insensitively) accepted")
	}
}

func TestValidCode(t *testing.T) {
	for _, ok := range []string{"023MVZhy15eDoa0Et4iy1SLVhy1MVZhS", "a", strings.Repeat("f", 64)} {
		if !validCode(ok) {
			t.Errorf("validCode(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "a b", "ab\x00", "ab\n", "é", strings.Repeat("a", 129)} {
		if validCode(bad) {
			t.Errorf("validCode(%q) = true", bad)
		}
	}
}
