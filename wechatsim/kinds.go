package wechatsim

import (
	"strings"

	"github.com/wxlogin/wxlogin"
)

// kind returns the app's kind, KindMiniProgram when unset.
func (a App) kind() wxlogin.AppKind {
	if a.Kind == "" {
		return wxlogin.KindMiniProgram
	}
	return a.Kind
}

// ParseAppKind parses "appid:secret" or "appid:secret:platform" (the --app, --official-account,
// --website and --mobile-app flags) as an app of the given kind. Errors: EINVALID, never quoting the
// secret.
func ParseAppKind(kind wxlogin.AppKind, s string) (App, error) {
	if !kind.Valid() {
		return App{}, wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: unknown app kind %q", kind)
	}
	a, err := ParseApp(s)
	if err != nil {
		return App{}, err
	}
	a.Kind = kind
	return a, nil
}

// ParseOfficialAccount parses an official account's "appid:secret[:platform]".
func ParseOfficialAccount(s string) (App, error) { return ParseAppKind(wxlogin.KindOfficialAccount, s) }

// ParseWebsite parses a website app's "appid:secret[:platform]".
func ParseWebsite(s string) (App, error) { return ParseAppKind(wxlogin.KindWebsite, s) }

// ParseMobileApp parses a mobile app's "appid:secret[:platform]".
func ParseMobileApp(s string) (App, error) { return ParseAppKind(wxlogin.KindMobileApp, s) }

// DefaultPages returns the published pages of a mini program whose App.Pages is nil:
// pages/index/index and pages/qr-login/index.
func DefaultPages() []string { return []string{"pages/index/index", "pages/qr-login/index"} }

// publishedPages returns the app's published pages.
func (a *appState) publishedPages() []string {
	if a.pages == nil {
		return DefaultPages()
	}
	return a.pages
}

// SetPages sets the published pages of mini program appid (nil: DefaultPages). Errors: ENOTFOUND
// (unknown app), EINVALID (not a mini program; a page with a leading "/", a query or spaces).
func (s *Sim) SetPages(appid string, pages []string) error {
	for _, p := range pages {
		if !validPagePath(p) {
			return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: page %q must be a path like pages/index/index (no leading /, no query)", p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appLocked(appid)
	if err != nil {
		return err
	}
	if a.kind() != wxlogin.KindMiniProgram {
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: app %q is a %s: only mini programs have pages", appid, a.kind())
	}
	a.pages = append([]string{}, pages...)
	if pages == nil {
		a.pages = nil
	}
	return nil
}

func validPagePath(p string) bool {
	if p == "" || len(p) > 128 || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
