package wxlogin

import "testing"

func TestAppKindValid(t *testing.T) {
	for _, k := range []AppKind{KindMiniProgram, KindOfficialAccount, KindWebsite, KindMobileApp} {
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	for _, k := range []AppKind{"", "mini_program", "MiniProgram", "website "} {
		if k.Valid() {
			t.Errorf("%q.Valid() = true", k)
		}
	}
}
