package wechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wxlogin/wxlogin/wechat"
)

// edgeFake answers the stable token and, on every other path, the next canned answer.
type edgeFake struct {
	mu      sync.Mutex
	answers []canned
	bodies  []map[string]any
	paths   []string
}

type canned struct {
	ctype string
	body  string
}

func (s *edgeFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/cgi-bin/stable_token" {
		io.WriteString(w, `{"access_token":"faketoken0001","expires_in":7200}`)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	s.mu.Lock()
	s.bodies = append(s.bodies, m)
	s.paths = append(s.paths, r.URL.Path)
	a := s.answers[0]
	s.answers = s.answers[1:]
	s.mu.Unlock()
	w.Header().Set("Content-Type", a.ctype)
	io.WriteString(w, a.body)
}

func newEdgeFake(t *testing.T, answers ...canned) (*edgeFake, *wechat.Client) {
	s := &edgeFake{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, wechat.NewClient(wechat.Config{BaseURL: srv.URL, AppID: "wxfake", Secret: "fakesecret"})
}

func TestWXACodeContentType(t *testing.T) {
	ctx := context.Background()
	jpeg := "\xff\xd8\xff\xe0fake-jpeg"
	s, c := newEdgeFake(t,
		canned{"image/jpeg", jpeg},
		canned{"application/json; encoding=utf-8", `{"errcode":41030,"errmsg":"invalid page rid: 1"}`},
		canned{"text/plain", `{"errcode":40169,"errmsg":"invalid length for scene"}`},
		canned{"image/png", ""},
		canned{"application/json", `{"errcode":0,"errmsg":"ok"}`},
		canned{"text/html", `<html>502</html>`},
	)
	yes := true
	img, ct, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "a=1", Page: "pages/a/b", CheckPath: &yes, EnvVersion: "trial", Width: 300})
	if err != nil || ct != "image/jpeg" || string(img) != jpeg {
		t.Fatalf("image: %q %q %v", img, ct, err)
	}
	if b := s.bodies[0]; b["scene"] != "a=1" || b["page"] != "pages/a/b" || b["check_path"] != true || b["env_version"] != "trial" || b["width"] != 300.0 {
		t.Fatalf("request body %v", b)
	}
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x"}); !wechat.IsInvalidPage(err) {
		t.Fatalf("JSON error: %v", err)
	}
	if b := s.bodies[1]; len(b) != 1 {
		t.Fatalf("optional fields sent: %v", b)
	}
	if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x"}); !wechat.IsInvalidScene(err) {
		t.Fatalf("JSON error as text/plain: %v", err)
	}
	var te *wechat.TransportError
	for i, what := range []string{"empty image", "errcode 0 without an image", "HTML"} {
		if _, _, err := c.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: "x"}); !errors.As(err, &te) {
			t.Fatalf("%d %s: %v, want a TransportError", i, what, err)
		}
	}
}

func TestRiskRankRequestShape(t *testing.T) {
	s, c := newEdgeFake(t,
		canned{"application/json", `{"errcode":0,"errmsg":"getuserriskrank succ","risk_rank":2,"unoin_id":123456}`},
		canned{"application/json", `{"errcode":0,"errmsg":"getuserriskrank succ","unoin_id":1}`},
	)
	r, err := c.GetUserRiskRank(context.Background(), wechat.RiskRankRequest{OpenID: "oX", Scene: wechat.RiskSceneMarketing, ClientIP: "1.2.3.4", EmailAddress: "a@b.c"})
	if err != nil || r != 2 {
		t.Fatalf("rank %d %v", r, err)
	}
	b := s.bodies[0]
	if b["appid"] != "wxfake" || b["openid"] != "oX" || b["scene"] != 1.0 || b["client_ip"] != "1.2.3.4" || b["email_address"] != "a@b.c" || b["mobile_no"] != nil {
		t.Fatalf("body %v", b)
	}
	var te *wechat.TransportError
	if _, err := c.GetUserRiskRank(context.Background(), wechat.RiskRankRequest{OpenID: "oX", ClientIP: "1.2.3.4"}); !errors.As(err, &te) {
		t.Fatalf("answer without risk_rank: %v", err)
	}
}

func TestOAuthAnswerShapes(t *testing.T) {
	_, c := newEdgeFake(t,
		canned{"text/plain", `{"access_token":"ACCESS","expires_in":7200,"refresh_token":"REFRESH","openid":"oSNAP","scope":"snsapi_userinfo","is_snapshotuser":1}`},
		canned{"text/plain", `{"expires_in":7200,"openid":"o"}`},
		canned{"application/json", `{"errcode":40163,"errmsg":"code been used, rid: 1-2-3"}`},
	)
	ctx := context.Background()
	tok, err := c.OAuthExchange(ctx, "CODE0001")
	if err != nil || !tok.SnapshotUser || tok.AccessToken != "ACCESS" || tok.RefreshToken != "REFRESH" || tok.UnionID != "" {
		t.Fatalf("snapshot answer: %+v %v", tok, err)
	}
	var te *wechat.TransportError
	if _, err := c.OAuthExchange(ctx, "CODE0002"); !errors.As(err, &te) {
		t.Fatalf("answer without access_token: %v", err)
	}
	if _, err := c.OAuthExchange(ctx, "CODE0003"); !wechat.IsCodeUsed(err) {
		t.Fatalf("40163: %v", err)
	}
	if b, err := json.Marshal(tok); err != nil || strings.Contains(string(b), "ACCESS") || strings.Contains(string(b), "REFRESH") {
		t.Fatalf("OAuthToken marshals its secrets: %s %v", b, err)
	}
	if s := fmt.Sprintf("%+v", tok); strings.Contains(s, "ACCESS") || strings.Contains(s, "REFRESH") {
		t.Fatalf("OAuthToken prints its secrets: %s", s)
	}
}
