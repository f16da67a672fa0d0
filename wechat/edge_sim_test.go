package wechat_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
	"github.com/wxlogin/wxlogin/wechatsim"
)

const (
	simMP  = "wxmp00000000000001"
	simOA  = "wxoa00000000000001"
	simWeb = "wxweb0000000000001"
	simMob = "wxmob0000000000001"
	simPF  = "open1"
)

var simSecrets = map[string]wxlogin.Secret{simMP: "mpsecret", simOA: "oasecret", simWeb: "websecret", simMob: "mobsecret"}

// newEdgeSim serves a simulator with one app of each kind on one open platform; clients log into logs.
func newEdgeSim(t *testing.T) (*wechatsim.Sim, func(appid string) *wechat.Client, *bytes.Buffer) {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{
		{ID: simMP, Secret: "mpsecret", Platform: simPF},
		{ID: simOA, Secret: "oasecret", Platform: simPF, Kind: wxlogin.KindOfficialAccount},
		{ID: simWeb, Secret: "websecret", Platform: simPF, Kind: wxlogin.KindWebsite},
		{ID: simMob, Secret: "mobsecret", Platform: simPF, Kind: wxlogin.KindMobileApp},
	}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return sim, func(appid string) *wechat.Client {
		return wechat.NewClient(wechat.Config{BaseURL: srv.URL, AppID: appid, Secret: simSecrets[appid], Now: sim.Now, Logger: log})
	}, &logs
}

func oauthCode(t *testing.T, sim *wechatsim.Sim, appid, user, scope string, snapshot bool) string {
	t.Helper()
	code, err := sim.OAuthCode(appid, user, scope, snapshot)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// noSecrets fails when any of the values appears in s.
func noSecrets(t *testing.T, what, s string, values ...string) {
	t.Helper()
	for _, v := range values {
		if v != "" && strings.Contains(s, v) {
			t.Errorf("%s contains a secret value %q", what, v)
		}
	}
}

func TestOAuthAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	sim, client, logs := newEdgeSim(t)
	oa, web, mob := client(simOA), client(simWeb), client(simMob)
	unionid := wechatsim.UnionID(simPF, "alice")

	code := oauthCode(t, sim, simOA, "alice", wechat.ScopeUserInfo, false)
	tok, err := oa.OAuthExchange(ctx, code)
	if err != nil {
		t.Fatalf("OAuthExchange: %v", err)
	}
	if tok.OpenID != wechatsim.OpenID(simOA, "alice") || tok.UnionID != unionid || tok.Scope != wechat.ScopeUserInfo ||
		tok.ExpiresIn != 7200 || tok.AccessToken == "" || tok.RefreshToken == "" || tok.SnapshotUser {
		t.Fatalf("token %+v", tok)
	}
	_, err = oa.OAuthExchange(ctx, code)
	if !wechat.IsCodeUsed(err) {
		t.Fatalf("reused code: %v", err)
	}
	noSecrets(t, "error", err.Error(), code, "oasecret")
	if _, err := web.OAuthExchange(ctx, oauthCode(t, sim, simOA, "alice", wechat.ScopeBase, false)); !wechat.IsInvalidCode(err) {
		t.Fatalf("code of another app: %v", err)
	}
	if _, err := oa.OAuthExchange(ctx, ""); !wechat.IsMissingCode(err) {
		t.Fatalf("missing code: %v", err)
	}

	p, err := oa.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID)
	if err != nil || p.OpenID != tok.OpenID || p.Nickname != "alice" || p.UnionID != unionid || p.HeadImgURL == "" || p.Privilege == nil {
		t.Fatalf("OAuthUserInfo: %+v %v", p, err)
	}
	if err := oa.OAuthCheck(ctx, tok.AccessToken, tok.OpenID); err != nil {
		t.Fatalf("OAuthCheck: %v", err)
	}
	if err := oa.OAuthCheck(ctx, tok.AccessToken, "oOther"); !wechat.IsInvalidOpenID(err) {
		t.Fatalf("OAuthCheck(other openid): %v", err)
	}

	// The website and the mobile app see the same unionid, their own openids.
	wt, err := web.OAuthExchange(ctx, oauthCode(t, sim, simWeb, "alice", wechat.ScopeLogin, false))
	if err != nil || wt.UnionID != unionid || wt.OpenID == tok.OpenID || wt.Scope != wechat.ScopeLogin {
		t.Fatalf("website: %+v %v", wt, err)
	}
	mt, err := mob.OAuthExchange(ctx, oauthCode(t, sim, simMob, "alice", wechat.ScopeUserInfo, false))
	if err != nil || mt.UnionID != unionid || mt.OpenID == tok.OpenID || mt.OpenID == wt.OpenID {
		t.Fatalf("mobile app: %+v %v", mt, err)
	}

	// snsapi_base: no profile.
	bt, err := oa.OAuthExchange(ctx, oauthCode(t, sim, simOA, "bob", wechat.ScopeBase, false))
	if err != nil || bt.UnionID != "" {
		t.Fatalf("snsapi_base of a new user: %+v %v", bt, err)
	}
	if _, err := oa.OAuthUserInfo(ctx, bt.AccessToken, bt.OpenID); !wechat.IsScopeUnauthorized(err) {
		t.Fatalf("userinfo on snsapi_base: %v", err)
	}

	// Snapshot visitor.
	st, err := oa.OAuthExchange(ctx, oauthCode(t, sim, simOA, "carol", wechat.ScopeUserInfo, true))
	if err != nil || !st.SnapshotUser || st.OpenID == wechatsim.OpenID(simOA, "carol") || st.UnionID != "" {
		t.Fatalf("snapshot: %+v %v", st, err)
	}

	// Expiry and refresh.
	sim.Advance(7201 * time.Second)
	err = oa.OAuthCheck(ctx, tok.AccessToken, tok.OpenID)
	if !wechat.IsOAuthTokenInvalid(err) || wechat.IsTokenInvalid(err) {
		t.Fatalf("expired user token: %v (IsOAuthTokenInvalid %v, IsTokenInvalid %v)", err, wechat.IsOAuthTokenInvalid(err), wechat.IsTokenInvalid(err))
	}
	if _, err := oa.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID); !wechat.IsOAuthTokenInvalid(err) {
		t.Fatalf("userinfo with an expired token: %v", err)
	}
	rt, err := oa.OAuthRefresh(ctx, tok.RefreshToken)
	if err != nil || rt.AccessToken == tok.AccessToken || rt.OpenID != tok.OpenID || rt.RefreshToken != tok.RefreshToken {
		t.Fatalf("OAuthRefresh: %+v %v", rt, err)
	}
	if err := oa.OAuthCheck(ctx, rt.AccessToken, rt.OpenID); err != nil {
		t.Fatalf("OAuthCheck(refreshed): %v", err)
	}
	if _, err := web.OAuthRefresh(ctx, tok.RefreshToken); !wechat.IsRefreshTokenInvalid(err) {
		t.Fatalf("refresh token of another app: %v", err)
	}
	sim.Advance(31 * 24 * time.Hour)
	if _, err := oa.OAuthRefresh(ctx, tok.RefreshToken); !wechat.IsRefreshTokenInvalid(err) {
		t.Fatalf("expired refresh token: %v", err)
	}

	noSecrets(t, "logs", logs.String(), "oasecret", "websecret", "mobsecret", code, tok.AccessToken.Reveal(), tok.RefreshToken.Reveal(), rt.AccessToken.Reveal())
}

func TestOAuthNeverRetried(t *testing.T) {
	ctx := context.Background()
	sim, client, _ := newEdgeSim(t)
	oa := client(simOA)
	code := oauthCode(t, sim, simOA, "dora", wechat.ScopeBase, false)
	tok, err := oa.OAuthExchange(ctx, oauthCode(t, sim, simOA, "dora", wechat.ScopeUserInfo, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		call func() error
	}{
		{wechatsim.PathOAuthAccessToken, func() error { _, err := oa.OAuthExchange(ctx, code); return err }},
		{wechatsim.PathOAuthRefreshToken, func() error { _, err := oa.OAuthRefresh(ctx, tok.RefreshToken); return err }},
		{wechatsim.PathOAuthUserInfo, func() error { _, err := oa.OAuthUserInfo(ctx, tok.AccessToken, tok.OpenID); return err }},
		{wechatsim.PathOAuthAuth, func() error { return oa.OAuthCheck(ctx, tok.AccessToken, tok.OpenID) }},
	} {
		if err := sim.SetFault(wechatsim.Fault{Path: tt.path, Errcode: -1, Count: ptr(1)}); err != nil {
			t.Fatal(err)
		}
		before := sim.Calls(tt.path)
		if err := tt.call(); !wechat.IsSystemBusy(err) {
			t.Errorf("%s: %v, want -1", tt.path, err)
		}
		if n := sim.Calls(tt.path) - before; n != 1 {
			t.Errorf("%s: %d calls, want 1 (never retried)", tt.path, n)
		}
		if err := tt.call(); err != nil {
			t.Errorf("%s after the fault: %v", tt.path, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestNewAPIsHaveBreakers(t *testing.T) {
	ctx := context.Background()
	sim, client, _ := newEdgeSim(t)
	c := client(simMP)
	if _, err := c.AccessToken(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		call func() error
	}{
		{wechatsim.PathOAuthAccessToken, func() error { _, err := c.OAuthExchange(ctx, "0code"); return err }},
		{wechatsim.PathWXACodeUnlimit, func() error { _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x"}); return err }},
		{wechatsim.PathUserRiskRank, func() error {
			_, err := c.GetUserRiskRank(ctx, wechat.RiskRankRequest{OpenID: "o", ClientIP: "1.2.3.4"})
			return err
		}},
		{wechatsim.PathCheckEncryptedMsg, func() error { _, _, err := c.CheckEncryptedData(ctx, "x"); return err }},
	} {
		if err := sim.SetFault(wechatsim.Fault{Path: tt.path, Errcode: -1}); err != nil {
			t.Fatal(err)
		}
		var err error
		for i := 0; i < 10 && !errors.Is(err, wechat.ErrCircuitOpen); i++ {
			err = tt.call()
		}
		before := sim.Calls(tt.path)
		if err = tt.call(); !errors.Is(err, wechat.ErrCircuitOpen) || sim.Calls(tt.path) != before {
			t.Errorf("%s: %v after repeated -1, want a fast ErrCircuitOpen", tt.path, err)
		}
		sim.ClearFaults()
	}
}

func TestWXACodeAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	sim, client, logs := newEdgeSim(t)
	c := client(simMP)
	img, ct, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "t=AbC123", Page: "pages/qr-login/index", Width: 280})
	if err != nil || ct != "image/png" || len(img) == 0 {
		t.Fatalf("GetWXACodeUnlimit: %q %v", ct, err)
	}
	res, err := sim.Scan(simMP, "erin", base64.StdEncoding.EncodeToString(img))
	if err != nil || res.Page != "pages/qr-login/index" || res.Scene != "t%3DAbC123" {
		t.Fatalf("scan: %+v %v", res, err)
	}
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: strings.Repeat("x", 33)}); !wechat.IsInvalidScene(err) {
		t.Fatalf("long scene: %v", err)
	}
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x", Page: "pages/nope/index"}); !wechat.IsInvalidPage(err) {
		t.Fatalf("unpublished page: %v", err)
	}
	no := false
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x", Page: "pages/nope/index", CheckPath: &no, EnvVersion: "develop"}); err != nil {
		t.Fatalf("check_path false: %v", err)
	}
	// A rejected token is replaced and the call sent once more.
	sim.SetFault(wechatsim.Fault{Path: wechatsim.PathWXACodeUnlimit, Errcode: 40001, Count: ptr(1)})
	before := sim.Calls(wechatsim.PathWXACodeUnlimit)
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x"}); err != nil {
		t.Fatalf("after 40001: %v", err)
	}
	if n := sim.Calls(wechatsim.PathWXACodeUnlimit) - before; n != 2 {
		t.Errorf("%d calls after a 40001, want 2", n)
	}
	// -1 is not retried.
	sim.SetFault(wechatsim.Fault{Path: wechatsim.PathWXACodeUnlimit, Errcode: -1, Count: ptr(1)})
	before = sim.Calls(wechatsim.PathWXACodeUnlimit)
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x"}); !wechat.IsSystemBusy(err) || sim.Calls(wechatsim.PathWXACodeUnlimit)-before != 1 {
		t.Fatalf("-1: %v", err)
	}
	tok, _ := c.AccessToken(ctx)
	noSecrets(t, "logs", logs.String(), tok.Reveal(), "mpsecret")
}

func TestRiskRankAndCheckEncryptedAgainstSimulator(t *testing.T) {
	ctx := context.Background()
	sim, client, _ := newEdgeSim(t)
	c := client(simMP)
	s, err := c.Code2Session(ctx, mustLogin(t, sim, simMP, "fred"))
	if err != nil {
		t.Fatal(err)
	}
	req := wechat.RiskRankRequest{OpenID: s.OpenID, Scene: wechat.RiskSceneRegister, ClientIP: "203.0.113.9", MobileNo: "13580006666"}
	if r, err := c.GetUserRiskRank(ctx, req); err != nil || r != 0 {
		t.Fatalf("default rank: %d %v", r, err)
	}
	if err := sim.SetRisk(simMP, "fred", 3); err != nil {
		t.Fatal(err)
	}
	if r, err := c.GetUserRiskRank(ctx, req); err != nil || r != 3 {
		t.Fatalf("rank: %d %v", r, err)
	}
	if _, err := c.GetUserRiskRank(ctx, wechat.RiskRankRequest{OpenID: "onope", ClientIP: "1.2.3.4"}); !wechat.IsInvalidOpenID(err) {
		t.Fatalf("unknown openid: %v", err)
	}
	// Read-only: one retry on -1.
	sim.SetFault(wechatsim.Fault{Path: wechatsim.PathUserRiskRank, Errcode: -1, Count: ptr(1)})
	before := sim.Calls(wechatsim.PathUserRiskRank)
	if r, err := c.GetUserRiskRank(ctx, req); err != nil || r != 3 || sim.Calls(wechatsim.PathUserRiskRank)-before != 2 {
		t.Fatalf("retry after -1: %d %v", r, err)
	}

	enc, err := sim.EncryptedPhone(simMP, "fred", "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := wechat.DecryptPhoneNumber(simMP, s.SessionKey, enc.EncryptedData, enc.IV); err != nil || p.PurePhoneNumber == "" {
		t.Fatalf("the legacy phone data does not decrypt: %v", err)
	}
	valid, at, err := c.CheckEncryptedData(ctx, enc.EncryptedData)
	if err != nil || !valid || !at.Equal(sim.Now().Truncate(time.Second)) {
		t.Fatalf("CheckEncryptedData: %v %v %v (now %v)", valid, at, err, sim.Now())
	}
	if valid, at, err := c.CheckEncryptedData(ctx, enc.EncryptedData+"x"); err != nil || valid || !at.IsZero() {
		t.Fatalf("CheckEncryptedData(other data): %v %v %v", valid, at, err)
	}
	sim.Advance(72 * time.Hour)
	if valid, _, err := c.CheckEncryptedData(ctx, enc.EncryptedData); err != nil || valid {
		t.Fatalf("CheckEncryptedData after 3 days: %v %v", valid, err)
	}
}

func mustLogin(t *testing.T, sim *wechatsim.Sim, appid, user string) string {
	t.Helper()
	code, err := sim.Login(appid, user)
	if err != nil {
		t.Fatal(err)
	}
	return code
}
