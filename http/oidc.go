package http

import (
	"net/http"

	"github.com/wxlogin/wxlogin"
)

// OIDCClientInfo is what the admin API shows of an OpenID Connect client (never its secret hash).
type OIDCClientInfo struct {
	ID                     string   `json:"client_id"`
	Name                   string   `json:"name"`
	Public                 bool     `json:"public"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	LoopbackAnyPort        bool     `json:"loopback_any_port"`
	Scopes                 []string `json:"scopes"`
	Doors                  []string `json:"doors"`
	ThirdParty             bool     `json:"third_party"`
	UnionID                bool     `json:"unionid"`
}

// handleOIDC: the OpenID Connect provider's endpoints (discovery, authorize, token, userinfo,
// end_session, the hosted login page). The provider (package oidc, Config.OIDC) answers them in
// the protocol's own forms; without it they are not_found.
func (s *server) handleOIDC() http.Handler {
	if s.cfg.OIDC != nil {
		return s.cfg.OIDC
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wxlogin.Errorf(wxlogin.ENOTFOUND, "OpenID Connect is not enabled on this server"))
	})
}
