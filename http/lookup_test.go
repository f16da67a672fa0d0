package http_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

func withLookup(limit int) envOption {
	return func(_ *auth.Config, h *wxhttp.Config) {
		h.LookupClients = map[string]bool{clientID: true}
		h.LookupRate = wxhttp.RateLimit{Limit: limit, Window: 60e9}
	}
}

type lookupUser struct {
	ID      string            `json:"id"`
	UnionID string            `json:"unionid"`
	OpenIDs map[string]string `json:"openids"`
}

func (e *env) lookup(path, id, secret string) *response {
	req := e.request("GET", path, "", nil)
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return e.send(req)
}

func TestLookupUsers(t *testing.T) {
	e := newEnv(t, withLookup(100))
	amy := e.login(appA, "amy")
	e.login(appB, "amy") // the same person at another app of the platform
	r := e.lookup("/v1/users/"+amy.User.ID, clientID, clientSec)
	var u lookupUser
	if r.Status != 200 || json.Unmarshal(r.Body, &u) != nil || u.ID != amy.User.ID || len(u.OpenIDs) != 2 || u.OpenIDs[appA] == "" || u.UnionID == "" {
		t.Fatalf("by id: %d %s", r.Status, r.Body)
	}
	var list struct{ Users []lookupUser }
	r = e.lookup("/v1/users?appid="+appB+"&openid="+u.OpenIDs[appB], clientID, clientSec)
	if r.Status != 200 || json.Unmarshal(r.Body, &list) != nil || len(list.Users) != 1 || list.Users[0].ID != amy.User.ID {
		t.Fatalf("by openid: %d %s", r.Status, r.Body)
	}
	r = e.lookup("/v1/users?unionid="+u.UnionID, clientID, clientSec)
	if r.Status != 200 || json.Unmarshal(r.Body, &list) != nil || len(list.Users) != 1 {
		t.Fatalf("by unionid: %d %s", r.Status, r.Body)
	}
	r = e.lookup("/v1/users?unionid=nobody", clientID, clientSec)
	if r.Status != 200 || string(r.Body) != "{\"users\":[]}\n" {
		t.Fatalf("nobody: %d %s", r.Status, r.Body)
	}
	for _, c := range []struct {
		path, id, secret string
		want             int
	}{
		{"/v1/users/" + amy.User.ID, "", "", 401},
		{"/v1/users/" + amy.User.ID, clientID, "wrong", 401},
		{"/v1/users/usr_missing", clientID, clientSec, 404},
		{"/v1/users?appid=" + appA, clientID, clientSec, 400},
		{"/v1/users", clientID, clientSec, 400},
		{"/v1/users?unionid=x&appid=y&openid=z", clientID, clientSec, 400},
	} {
		if r := e.lookup(c.path, c.id, c.secret); r.Status != c.want {
			t.Errorf("GET %s as %q: %d %s, want %d", c.path, c.id, r.Status, r.Body, c.want)
		}
	}
	if len(e.events("lookup.users")) < 4 {
		t.Errorf("lookups not audited: %d events", len(e.events("lookup.users")))
	}
}

func TestLookupNeedsThePermissionAndIsRateLimited(t *testing.T) {
	e := newEnv(t)
	amy := e.login(appA, "amy")
	if r := e.lookup("/v1/users/"+amy.User.ID, clientID, clientSec); r.Status != http.StatusForbidden {
		t.Fatalf("a client without the permission: %d %s", r.Status, r.Body)
	}
	e = newEnv(t, withLookup(2))
	amy = e.login(appA, "amy")
	for i, want := range []int{200, 200, 429} {
		if r := e.lookup("/v1/users/"+amy.User.ID, clientID, clientSec); r.Status != want {
			t.Fatalf("lookup %d: %d, want %d", i, r.Status, want)
		}
	}
}
