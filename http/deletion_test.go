package http_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

func TestDeleteMe(t *testing.T) {
	e := newAdminEnv(t, withWebhooks)
	amy := e.remember(e.signUp("amy", "amy password"))
	for _, body := range []map[string]any{{}, {"code": "x", "password": "y"}, {"pin": "1"}} {
		if r := e.do("DELETE", "/v1/me", amy.AccessToken, body); r.Status != 400 {
			t.Errorf("DELETE /v1/me %v: %d %s, want 400", body, r.Status, r.Body)
		}
	}
	if r := e.do("DELETE", "/v1/me", amy.AccessToken, map[string]string{"password": "not amy's"}); r.Status != 401 {
		t.Fatalf("wrong password: %d %s", r.Status, r.Body)
	}
	if r := e.do("DELETE", "/v1/me", "", map[string]string{"password": "amy password"}); r.Status != 401 {
		t.Fatalf("no token: %d %s", r.Status, r.Body)
	}
	r := e.do("DELETE", "/v1/me", amy.AccessToken, map[string]string{"password": "amy password"})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"deleted":true`) {
		t.Fatalf("DELETE /v1/me: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/me", amy.AccessToken, nil); r.Status != 401 {
		t.Fatalf("the deleted user's token: %d", r.Status)
	}
	e.mustUserGone(amy.User.ID)
}

func TestDeleteMeWithAGracePeriodAndAWeChatCode(t *testing.T) {
	e := newAdminEnv(t, func(c *auth.Config, _ *wxhttp.Config) { c.DeletionGrace = 48 * time.Hour })
	bea := e.remember(e.login(appA, "bea"))
	if r := e.do("DELETE", "/v1/me", bea.AccessToken, map[string]string{"code": e.code(appA, "someone-else")}); r.Status != 401 {
		t.Fatalf("another WeChat user's code: %d %s", r.Status, r.Body)
	}
	r := e.do("DELETE", "/v1/me", bea.AccessToken, map[string]string{"code": e.code(appA, "bea")})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"deleted":false`) || !strings.Contains(string(r.Body), "2026-11-23T08:00:00Z") {
		t.Fatalf("DELETE /v1/me: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/v1/me", bea.AccessToken, nil); r.Status != 401 {
		t.Fatalf("sessions end at once: %d", r.Status)
	}
}

func TestAdminDeleteUser(t *testing.T) {
	a := newAdminEnv(t)
	cy := a.remember(a.login(appA, "cy"))
	a.adminJSON("DELETE", "/admin/v1/users/"+cy.User.ID, 204, nil)
	a.mustUserGone(cy.User.ID)
	a.adminJSON("DELETE", "/admin/v1/users/"+cy.User.ID, 404, nil)
	if ev := a.lastEvent("user.delete"); ev == nil || ev.ActorID != "admin:ops" || ev.UserID != cy.User.ID {
		t.Errorf("user.delete audit: %+v", ev)
	}
}
