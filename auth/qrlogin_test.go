package auth

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// qrWeChat is a fake WeChat that also draws mini-program codes: the "image" is the request's text,
// and fail, when set, is the answer instead.
type qrWeChat struct {
	*fakeWeChat
	mu   sync.Mutex
	reqs []wechat.WXACodeRequest
	fail error
}

func (f *qrWeChat) GetWXACodeUnlimit(_ context.Context, req wechat.WXACodeRequest) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, "", f.fail
	}
	f.reqs = append(f.reqs, req)
	return []byte("code of " + req.Scene), "image/png", nil
}

// last returns the last code request.
func (f *qrWeChat) last() wechat.WXACodeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

// newQREnv is newRuleEnv with the QR door on: wxa draws codes, wxc does not.
func newQREnv(t *testing.T, cfg QRConfig) (*ruleEnv, *qrWeChat) {
	t.Helper()
	e, c := openRuleEnv(t, filepath.Join(t.TempDir(), "db.sqlite"))
	qa := &qrWeChat{fakeWeChat: newFakeWeChat("wxa", true)}
	wc := newFakeWeChat("wxc", false)
	e.apps["wxa"], e.apps["wxc"] = qa.fakeWeChat, wc
	c.QR = cfg
	c.Apps = []AppClient{{App: wxlogin.App{ID: "wxa"}, WeChat: qa}, {App: wxlogin.App{ID: "wxc"}, WeChat: wc}}
	e.serve(t, c)
	return e, qa
}

var browser = Meta{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/120"}

// qrScene returns the scene of the request st (what the mini program reads from options.scene).
func qrScene(t *testing.T, e *ruleEnv, st *QRStart) string {
	t.Helper()
	q, err := e.store.QRLogin(context.Background(), st.ID)
	if err != nil {
		t.Fatal(err)
	}
	return q.Scene
}

// The QR login's state transitions and refusals, step by step, with a fake WeChat.
func TestQRLoginRules(t *testing.T) {
	ctx := context.Background()
	quick := QRConfig{Page: "pages/qr-login/index", CheckPath: true, PollWait: time.Millisecond}
	tests := []struct {
		name string
		run  func(t *testing.T, e *ruleEnv, wx *qrWeChat)
	}{
		{"pending, scanned, confirmed: the website gets a new session of the user, once", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, err := e.svc.StartQRLogin(ctx, "wxa", browser)
			if err != nil {
				t.Fatal(err)
			}
			req := wx.last()
			if len(req.Scene) != 32 || !validScene(req.Scene) || req.Page != "pages/qr-login/index" || req.CheckPath == nil || !*req.CheckPath || req.EnvVersion != "release" {
				t.Fatalf("code request %+v", req)
			}
			if string(st.Image) != "code of "+req.Scene || st.ContentType != "image/png" || st.ExpiresIn != 2*time.Minute || len(st.PollToken.Reveal()) < 40 {
				t.Fatalf("start %+v", st)
			}
			q, _ := e.store.QRLogin(ctx, st.ID)
			if q.PollHash == st.PollToken.Reveal() || q.PollHash != pollHash(st.PollToken.Reveal()) || q.IP != browser.IP {
				t.Fatalf("stored request %+v: the poll token must be stored hashed", q)
			}
			poll := func(since string) (*QRPoll, error) {
				return e.svc.PollQRLogin(ctx, st.ID, st.PollToken.Reveal(), since, browser)
			}
			if p, err := poll(""); err != nil || p.Status != wxlogin.QRPending || p.Login != nil {
				t.Fatalf("first poll: %+v %v", p, err)
			}
			amy, _ := e.wechat("wxa", "amy", "")
			who, err := e.svc.ScanQRLogin(ctx, e.principal(t, amy), req.Scene, Meta{IP: "198.51.100.1"})
			if err != nil || who.IP != browser.IP || who.UserAgent != browser.UserAgent || !who.CreatedAt.Equal(e.clock()) {
				t.Fatalf("scan: %+v %v (the requester is the browser that created the request)", who, err)
			}
			if p, err := poll("pending"); err != nil || p.Status != wxlogin.QRScanned || p.Login != nil {
				t.Fatalf("poll after scan: %+v %v (no user data before confirmation)", p, err)
			}
			if err := e.svc.ConfirmQRLogin(ctx, e.principal(t, amy), req.Scene, Meta{}); err != nil {
				t.Fatal(err)
			}
			p, err := poll("scanned")
			if err != nil || p.Status != wxlogin.QRConfirmed || p.Login == nil {
				t.Fatalf("poll after confirm: %+v %v", p, err)
			}
			l := p.Login
			if l.User.ID != amy.User.ID || l.Session.ID == amy.Session.ID || l.Session.Method != "qr" || l.Session.AppID != "wxa" || l.Session.IP != browser.IP || l.AccessToken == "" || l.RefreshToken == "" {
				t.Fatalf("website login %+v session %+v", l, l.Session)
			}
			if pr, err := e.svc.Authenticate(ctx, l.AccessToken.Reveal()); err != nil || pr.UserID != amy.User.ID || pr.SessionID != l.Session.ID {
				t.Fatalf("the website's token: %+v %v", pr, err)
			}
			if _, err := poll("scanned"); wxlogin.ErrorCode(err) != wxlogin.EEXPIRED {
				t.Fatalf("a spent request polled again: %v, want expired", err)
			}
			for _, typ := range []string{"qr.create", "qr.scan", "qr.confirm", "login.success"} {
				evs, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{Type: typ})
				if len(evs) == 0 {
					t.Errorf("no %s audit event", typ)
				}
			}
		}},
		{"the poll token is the key: a wrong one learns nothing", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "", browser) // "" is ambiguous with two apps
			if st != nil {
				t.Fatal("start without appid among two apps succeeded")
			}
			st, _ = e.svc.StartQRLogin(ctx, "wxa", browser)
			other, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			for _, tok := range []string{"", "nope", other.PollToken.Reveal()} {
				if _, err := e.svc.PollQRLogin(ctx, st.ID, tok, "", browser); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
					t.Fatalf("poll with token %q: %v", tok, err)
				}
			}
			if _, err := e.svc.PollQRLogin(ctx, "qrl_unknown", st.PollToken.Reveal(), "", browser); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Fatalf("unknown id: %v", err)
			}
		}},
		{"denied: the website learns it, and the scene cannot be used again", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			if _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.DenyQRLogin(ctx, amy, scene, Meta{}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if p, err := e.svc.PollQRLogin(ctx, st.ID, st.PollToken.Reveal(), "scanned", browser); err != nil || p.Status != wxlogin.QRDenied || p.Login != nil {
					t.Fatalf("poll after deny: %+v %v", p, err)
				}
			}
			if err := e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("confirm after deny: %v", err)
			}
			if _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EEXPIRED {
				t.Fatalf("scan after deny: %v", err)
			}
		}},
		{"one scanner: a second user can neither scan nor decide", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			ben := e.principal(t, must2(e.wechat("wxa", "ben", "")))
			if err := e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("confirm before scan: %v", err)
			}
			if _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); err != nil {
				t.Fatalf("the same user scanning again: %v", err)
			}
			if _, err := e.svc.ScanQRLogin(ctx, ben, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("second user's scan: %v", err)
			}
			for _, decide := range []func(context.Context, *Principal, string, Meta) error{e.svc.ConfirmQRLogin, e.svc.DenyQRLogin} {
				if err := decide(ctx, ben, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
					t.Fatalf("second user's decision: %v", err)
				}
			}
			if err := e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.ECONFLICT {
				t.Fatalf("double confirm: %v", err)
			}
		}},
		{"two users scanning at once: exactly one wins", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			var ps []*Principal
			for _, u := range []string{"u1", "u2", "u3", "u4"} {
				ps = append(ps, e.principal(t, must2(e.wechat("wxa", u, ""))))
			}
			errs := make([]error, len(ps))
			var wg sync.WaitGroup
			for i, p := range ps {
				wg.Go(func() { _, errs[i] = e.svc.ScanQRLogin(ctx, p, scene, Meta{}) })
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch wxlogin.ErrorCode(err) {
				case "":
					won++
				case wxlogin.ECONFLICT:
				default:
					t.Fatalf("racing scan: %v", err)
				}
			}
			q, _ := e.store.QRLogin(ctx, st.ID)
			if won != 1 || q.Status != wxlogin.QRScanned {
				t.Fatalf("%d scans won; request %+v", won, q)
			}
		}},
		{"polls racing on a confirmed request: one login", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			must(t, func() error { _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); return err }())
			must(t, e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}))
			logins := make([]*QRPoll, 4)
			errs := make([]error, 4)
			var wg sync.WaitGroup
			for i := range logins {
				wg.Go(func() { logins[i], errs[i] = e.svc.PollQRLogin(ctx, st.ID, st.PollToken.Reveal(), "scanned", browser) })
			}
			wg.Wait()
			got := 0
			for i := range logins {
				switch {
				case errs[i] == nil && logins[i].Login != nil:
					got++
				case wxlogin.ErrorCode(errs[i]) != wxlogin.EEXPIRED:
					t.Fatalf("racing poll: %+v %v", logins[i], errs[i])
				}
			}
			sessions, _ := e.store.SessionsByUser(ctx, amy.UserID)
			qr := 0
			for _, s := range sessions {
				if s.Method == "qr" {
					qr++
				}
			}
			if got != 1 || qr != 1 {
				t.Fatalf("%d logins given, %d qr sessions, want 1 and 1", got, qr)
			}
		}},
		{"expiry: after the TTL nothing moves, and it answers expired", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			must(t, func() error { _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); return err }())
			e.advance(2 * time.Minute)
			if err := e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EEXPIRED {
				t.Fatalf("confirm after expiry: %v", err)
			}
			if _, err := e.svc.PollQRLogin(ctx, st.ID, st.PollToken.Reveal(), "", browser); wxlogin.ErrorCode(err) != wxlogin.EEXPIRED {
				t.Fatalf("poll after expiry: %v", err)
			}
			st2, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			e.advance(3 * time.Minute)
			if _, err := e.svc.ScanQRLogin(ctx, amy, qrScene(t, e, st2), Meta{}); wxlogin.ErrorCode(err) != wxlogin.EEXPIRED {
				t.Fatalf("scan after expiry: %v", err)
			}
			evs, _ := e.store.AuditEvents(ctx, wxlogin.AuditFilter{Type: "qr.failure"})
			if len(evs) != 2 {
				t.Fatalf("%d qr.failure events, want 2", len(evs))
			}
		}},
		{"a confirmed request of a user disabled meanwhile gives no login", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			must(t, func() error { _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); return err }())
			must(t, e.svc.ConfirmQRLogin(ctx, amy, scene, Meta{}))
			if _, err := e.svc.SetUserDisabled(ctx, Admin{Name: "ops"}, amy.UserID, true); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.PollQRLogin(ctx, st.ID, st.PollToken.Reveal(), "scanned", browser); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("poll for a disabled user: %v", err)
			}
		}},
		{"bad scenes, sessions without an app, another app's scene", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			for _, bad := range []string{"", "a b", "x=1", "中文", string(make([]byte, 33))} {
				if _, err := e.svc.ScanQRLogin(ctx, amy, bad, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
					t.Fatalf("scene %q: %v", bad, err)
				}
			}
			if _, err := e.svc.ScanQRLogin(ctx, amy, "UnknownScene0123", Meta{}); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Fatalf("unknown scene: %v", err)
			}
			e.signUp(t, "pat")
			pw, err := e.svc.LoginPassword(ctx, "", "pat", "correct horse battery", Meta{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.ScanQRLogin(ctx, e.principal(t, pw), scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.EFORBIDDEN {
				t.Fatalf("scan with a password session: %v", err)
			}
			cat := e.principal(t, must2(e.wechat("wxc", "cat", "")))
			if _, err := e.svc.ScanQRLogin(ctx, cat, scene, Meta{}); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				t.Fatalf("scan in another mini program: %v", err)
			}
			if _, err := e.svc.StartQRLogin(ctx, "wxc", browser); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
				t.Fatalf("start at an app without codes: %v", err)
			}
		}},
		{"WeChat failing to draw the code", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			for _, c := range []struct {
				err   error
				code  string
				retry bool
			}{
				{&wechat.APIError{Code: -1, API: "/wxa/getwxacodeunlimit"}, wxlogin.EUPSTREAMUNAVAIL, true},
				{&wechat.APIError{Code: 45009, API: "/wxa/getwxacodeunlimit"}, wxlogin.EUPSTREAMUNAVAIL, true},
				{&wechat.TransportError{API: "/wxa/getwxacodeunlimit"}, wxlogin.EUPSTREAMUNAVAIL, true},
				{&wechat.APIError{Code: 41030, API: "/wxa/getwxacodeunlimit"}, wxlogin.EUPSTREAM, false},
			} {
				wx.fail = c.err
				_, err := e.svc.StartQRLogin(ctx, "wxa", browser)
				if wxlogin.ErrorCode(err) != c.code || (wxlogin.RetryAfter(err) > 0) != c.retry {
					t.Fatalf("%v: %v (retry after %v)", c.err, err, wxlogin.RetryAfter(err))
				}
			}
		}},
		{"a waiting poll wakes when the request changes", func(t *testing.T, e *ruleEnv, wx *qrWeChat) {
			e.svc.QRDoor.cfg.PollWait = time.Hour // only a notification can end the poll
			st, _ := e.svc.StartQRLogin(ctx, "wxa", browser)
			scene := qrScene(t, e, st)
			amy := e.principal(t, must2(e.wechat("wxa", "amy", "")))
			done := make(chan *QRPoll)
			go func() {
				p, err := e.svc.PollQRLogin(ctx, st.ID, st.PollToken.Reveal(), "pending", browser)
				if err != nil {
					t.Error(err)
				}
				done <- p
			}()
			// Scan once the poll waits (subscribed), so that the wake-up is what ends it.
			waitSubscribed(t, e.svc.QRDoor.cfg.Notifier, st.ID)
			if _, err := e.svc.ScanQRLogin(ctx, amy, scene, Meta{}); err != nil {
				t.Fatal(err)
			}
			if p := <-done; p == nil || p.Status != wxlogin.QRScanned {
				t.Fatalf("woken poll: %+v", p)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, wx := newQREnv(t, quick)
			tc.run(t, e, wx)
		})
	}
}

// waitSubscribed waits until key has a subscriber on the in-process notifier n.
func waitSubscribed(t *testing.T, n wxlogin.Notifier, key string) {
	t.Helper()
	hub := n.(memoryNotifier).hub
	for i := 0; hub.Subscribers(key) == 0; i++ {
		if i > 10_000 {
			t.Fatal("the poll never subscribed")
		}
		time.Sleep(time.Millisecond)
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
