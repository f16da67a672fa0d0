package auth

import (
	"context"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// A code sent again within the code window repeats the first exchange's outcome for the same
// request from the same client, and nothing else: it never binds, merges or changes an account
// (issue 14 #2: a replay with another account's credentials moved the identity into that account).
func TestCodeReplayRepeatsOnlyTheSameRequest(t *testing.T) {
	const pw = "correct horse battery"
	type request struct {
		ip, ua, username string
	}
	tests := []struct {
		name          string
		first, replay request
		wantCode      string // "" : the replay logs the same user in again
	}{
		{"double tap", request{ip: "10.0.0.1", ua: "mp"}, request{ip: "10.0.0.1", ua: "mp"}, ""},
		{"double tap with the same credentials", request{ip: "10.0.0.1", ua: "mp", username: "alice"}, request{ip: "10.0.0.1", ua: "mp", username: "ALICE"}, ""},
		{"another address", request{ip: "10.0.0.1", ua: "mp"}, request{ip: "10.0.0.2", ua: "mp"}, wxlogin.EINVALIDCODE},
		{"another client at the same address", request{ip: "10.0.0.1", ua: "mp"}, request{ip: "10.0.0.1", ua: "curl"}, wxlogin.EINVALIDCODE},
		{"credentials added by the replay", request{ip: "10.0.0.1", ua: "mp"}, request{ip: "10.0.0.1", ua: "mp", username: "mallory"}, wxlogin.EINVALIDCODE},
		{"other credentials in the replay", request{ip: "10.0.0.1", ua: "mp", username: "alice"}, request{ip: "10.0.0.1", ua: "mp", username: "mallory"}, wxlogin.EINVALIDCODE},
		{"credentials dropped by the replay", request{ip: "10.0.0.1", ua: "mp", username: "alice"}, request{ip: "10.0.0.1", ua: "mp"}, wxlogin.EINVALIDCODE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			wx := newFakeWeChat("wxa", true)
			e := newRuleEnv(t, wx)
			e.signUp(t, "alice")
			mallory := e.signUp(t, "mallory")
			login := func(r request, code string) (*Login, error) {
				in := WeChatLogin{AppID: "wxa", Code: code}
				if r.username != "" {
					in.Username, in.Password = r.username, pw
				}
				return e.svc.LoginWeChat(ctx, in, Meta{IP: r.ip, UserAgent: r.ua})
			}
			code := wx.login("victim")
			first, err := login(tc.first, code)
			if err != nil {
				t.Fatal(err)
			}
			again, err := login(tc.replay, code)
			if got := wxlogin.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("replay: error %q (%v), want %q", got, err, tc.wantCode)
			}
			if tc.wantCode == "" && (again.User.ID != first.User.ID || again.Session.ID == first.Session.ID) {
				t.Fatalf("replay logged in user %s (session %s), want user %s in a new session", again.User.ID, again.Session.ID, first.User.ID)
			}
			if wx.calls != 1 {
				t.Errorf("WeChat asked %d times, want once", wx.calls)
			}
			// The identity still belongs to the first exchange's user, whose session still works;
			// mallory's user gained nothing.
			id, err := e.store.Identity(ctx, "wxa", wx.openid("victim"))
			if err != nil {
				t.Fatal(err)
			}
			if id.UserID != first.User.ID {
				t.Fatalf("the identity moved to user %s, want %s", id.UserID, first.User.ID)
			}
			if _, err := e.svc.Authenticate(ctx, first.AccessToken.Reveal()); err != nil {
				t.Fatalf("the first login's token no longer authenticates: %v", err)
			}
			if ids, _ := e.store.IdentitiesByUser(ctx, mallory.ID); len(ids) != 0 && first.User.ID != mallory.ID {
				t.Fatalf("mallory's user gained %d identities", len(ids))
			}
		})
	}
}
