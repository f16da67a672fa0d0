package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// fakeSessions is a small fake of the service for handler tests where the full stack is not the
// point: it knows one access token and its user's sessions. Calling any other method panics (the
// embedded nil Service), which the server answers 500.
type fakeSessions struct {
	wxhttp.Service
	sessions []*wxlogin.Session
	gotLogin auth.WeChatLogin
	gotMeta  auth.Meta
}

func (f *fakeSessions) Authenticate(_ context.Context, tok string) (*auth.Principal, error) {
	if tok != "good-token" {
		return nil, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "no")
	}
	return &auth.Principal{UserID: "usr_1", SessionID: "ses_2"}, nil
}

func (f *fakeSessions) Sessions(_ context.Context, p *auth.Principal) ([]*wxlogin.Session, error) {
	return f.sessions, nil
}

func (f *fakeSessions) LoginWeChat(_ context.Context, in auth.WeChatLogin, meta auth.Meta) (*auth.Login, error) {
	f.gotLogin, f.gotMeta = in, meta
	if in.Code == "used" {
		return nil, wxlogin.Errorf(wxlogin.EINVALIDCODE, "used")
	}
	return &auth.Login{AccessToken: "at", RefreshToken: "rt", ExpiresAt: time.Now().Add(time.Hour),
		Session: &wxlogin.Session{ID: "ses_9"}, User: &wxlogin.User{ID: "usr_9"}, Username: "olga", NewUser: true}, nil
}

// The sessions handler lists what the service returns and marks the caller's own session; the
// code login handler passes the decoded request and the client to the service and answers its
// login state or its error.
func TestHandlersWithFakeService(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	fake := &fakeSessions{sessions: []*wxlogin.Session{
		{ID: "ses_2", AppID: "wxa", Method: "wechat", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)},
		{ID: "ses_1", Method: "password", UserAgent: "ua", IP: "10.0.0.1", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)},
	}}
	srv := httptest.NewServer(wxhttp.NewServer(nil, wxhttp.Config{}, fake))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/v1/me/sessions", nil)
	req.Header.Set("Authorization", "Bearer good-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Sessions []struct {
			ID      string `json:"id"`
			AppID   string `json:"appid"`
			Method  string `json:"method"`
			IP      string `json:"ip"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(list.Sessions) != 2 || !list.Sessions[0].Current || list.Sessions[1].Current ||
		list.Sessions[0].AppID != "wxa" || list.Sessions[1].IP != "10.0.0.1" || list.Sessions[1].Method != "password" {
		t.Fatalf("sessions: %d %+v", resp.StatusCode, list)
	}
	req.Header.Set("Authorization", "Bearer bad-token")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Fatalf("bad token: %d", resp.StatusCode)
	}

	post := func(body string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/login/wechat", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "fake-mp")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	resp, m := post(`{"appid":"wxa","code":"c1","username":"Olga","password":"pw-123456"}`)
	if resp.StatusCode != 200 || m["access_token"] != "at" || m["refresh_token"] != "rt" || m["new_user"] != true ||
		m["user"].(map[string]any)["username"] != "olga" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("login: %d %v", resp.StatusCode, m)
	}
	if fake.gotLogin != (auth.WeChatLogin{AppID: "wxa", Code: "c1", Username: "Olga", Password: "pw-123456"}) || fake.gotMeta.UserAgent != "fake-mp" || fake.gotMeta.IP == "" {
		t.Fatalf("the service got %+v from %+v", fake.gotLogin, fake.gotMeta)
	}
	resp, m = post(`{"code":"used"}`)
	if resp.StatusCode != 401 || m["error"].(map[string]any)["code"] != wxlogin.EINVALIDCODE {
		t.Fatalf("used code: %d %v", resp.StatusCode, m)
	}
}
