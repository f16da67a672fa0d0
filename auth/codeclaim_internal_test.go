package auth

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechat"
)

// nopStore satisfies wxlogin.Store for tests that never reach the store.
type nopStore struct{ wxlogin.Store }

func (nopStore) AddAuditEvent(context.Context, *wxlogin.AuditEvent) error { return nil }

// panicWeChat panics on its first code2Session and fails the later ones.
type panicWeChat struct {
	calls atomic.Int32
}

func (p *panicWeChat) AppID() string { return "wxpanic" }
func (p *panicWeChat) Code2Session(ctx context.Context, code string) (*wechat.Session, error) {
	if p.calls.Add(1) == 1 {
		panic("boom")
	}
	return nil, &wechat.APIError{Code: 40029, API: "/sns/jscode2session"}
}
func (p *panicWeChat) CheckSessionKey(context.Context, string, wxlogin.Secret) error { return nil }
func (p *panicWeChat) GetPhoneNumber(context.Context, string, string) (*wechat.PhoneInfo, error) {
	return nil, nil
}
func (p *panicWeChat) GetPaidUnionID(context.Context, string, string) (string, error) { return "", nil }

func newTestService(t *testing.T, wx WeChat, argon Argon2Params) *Service {
	t.Helper()
	k, _ := keyring.Generate("k1")
	ring, _ := keyring.New(k)
	s, err := New(Config{Store: nopStore{}, Tokens: &token.Issuer{}, Sealer: ring, Argon2: argon,
		Apps: []AppClient{{App: wxlogin.App{ID: "wxpanic"}, WeChat: wx}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A panic between claiming a code and settling it must release the code: a retry reaches WeChat
// again instead of waiting forever.
func TestCodeReleasedOnPanic(t *testing.T) {
	wx := &panicWeChat{}
	s := newTestService(t, wx, Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1})
	func() {
		defer func() { recover() }()
		s.LoginWeChat(context.Background(), WeChatLogin{Code: "samecode"}, Meta{IP: "1.2.3.4"})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := s.LoginWeChat(ctx, WeChatLogin{Code: "samecode"}, Meta{IP: "1.2.3.4"})
	if wxlogin.ErrorCode(err) != wxlogin.EINVALIDCODE || wx.calls.Load() != 2 {
		t.Fatalf("retry after a panic: %v (WeChat calls %d)", err, wx.calls.Load())
	}
}

// Unknown usernames are checked against a hash of the configured cost, so they take as long as
// known ones.
func TestDummyHashUsesConfiguredCost(t *testing.T) {
	s := newTestService(t, &panicWeChat{}, Argon2Params{Memory: 9 * 1024, Time: 3, Threads: 1})
	if !strings.Contains(s.dummyHash, "$m=9216,t=3,p=1$") {
		t.Errorf("dummy hash %q does not use the configured cost", s.dummyHash)
	}
}
