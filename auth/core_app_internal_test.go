package auth

import (
	"testing"

	"github.com/wxlogin/wxlogin"
)

// TestAppWithoutAppID: a request that leaves appid out gets the only app, else the only mini
// program (official accounts, websites and apps beside it do not make it ambiguous), else EINVALID.
func TestAppWithoutAppID(t *testing.T) {
	mp := wxlogin.App{ID: "wxmini"}
	mp2 := wxlogin.App{ID: "wxmini2", Kind: wxlogin.KindMiniProgram}
	oa := wxlogin.App{ID: "wxoa", Kind: wxlogin.KindOfficialAccount}
	web := wxlogin.App{ID: "wxweb", Kind: wxlogin.KindWebsite}
	for _, tc := range []struct {
		name string
		apps []wxlogin.App
		want string // "" : EINVALID
	}{
		{"one app", []wxlogin.App{oa}, "wxoa"},
		{"one mini program beside other kinds", []wxlogin.App{oa, mp, web}, "wxmini"},
		{"two mini programs", []wxlogin.App{mp, oa, mp2}, ""},
		{"no mini program, several apps", []wxlogin.App{oa, web}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &core{apps: map[string]AppClient{}}
			for _, a := range tc.apps {
				c.apps[a.ID] = AppClient{App: a}
				c.appOrder = append(c.appOrder, a.ID)
			}
			got, err := c.app("")
			if tc.want == "" {
				if wxlogin.ErrorCode(err) != wxlogin.EINVALID {
					t.Fatalf("got %q, %v; want EINVALID", got.App.ID, err)
				}
				return
			}
			if err != nil || got.App.ID != tc.want {
				t.Fatalf("got %q, %v; want %s", got.App.ID, err, tc.want)
			}
			if named, err := c.app(tc.apps[0].ID); err != nil || named.App.ID != tc.apps[0].ID {
				t.Fatalf("by name: %q, %v", named.App.ID, err)
			}
		})
	}
}
