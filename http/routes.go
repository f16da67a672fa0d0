package http

import "net/http"

// addRoutes registers every route of the API. openapi.yaml documents exactly these.
func addRoutes(mux *http.ServeMux, s *server) {
	// Mini program facing.
	mux.Handle("POST /v1/login/wechat", s.limitLogin(s.handleLoginWeChat()))
	mux.Handle("POST /v1/login/password", s.limitLogin(s.handleLoginPassword()))
	mux.Handle("POST /v1/login/phone", s.limitLogin(s.limitPhone(s.handleLoginPhone())))
	mux.Handle("POST /v1/login/cloud", s.limitLogin(s.handleLoginCloud()))
	mux.Handle("POST /v1/login/wechat/oauth", s.limitLogin(s.handleLoginOAuth()))
	mux.Handle("GET /v1/oauth/wechat/authorize", s.limitLogin(s.handleWebAuthorize()))
	mux.Handle("GET /v1/oauth/wechat/callback", s.limitLogin(s.handleWebCallback()))
	mux.Handle("POST /v1/login/exchange", s.limitLogin(s.handleLoginExchange()))
	mux.Handle("POST /v1/accounts", s.limitLogin(s.handleSignUp()))
	mux.Handle("POST /v1/token/refresh", s.limitRefresh(s.handleRefresh()))
	mux.Handle("POST /v1/logout", s.authenticated(s.handleLogout()))
	mux.Handle("POST /v1/logout/all", s.authenticated(s.handleLogoutAll()))
	mux.Handle("GET /v1/me", s.authenticated(s.handleMe()))
	mux.Handle("PATCH /v1/me", s.authenticated(s.handlePatchMe()))
	mux.Handle("POST /v1/me", s.authenticated(s.handlePatchMe())) // wx.request cannot send PATCH
	mux.Handle("POST /v1/me/wechat", s.authenticated(s.handleBindWeChat()))
	mux.Handle("DELETE /v1/me/wechat/{appid}", s.authenticated(s.handleUnbindWeChat()))
	mux.Handle("POST /v1/me/wechat/profile", s.authenticated(s.handleWeChatProfile()))
	mux.Handle("POST /v1/me/wechat/unionid", s.authenticated(s.handlePaidUnionID()))
	mux.Handle("POST /v1/me/phone", s.authenticated(s.limitPhone(s.handleSetPhone())))
	mux.Handle("GET /v1/me/sessions", s.authenticated(s.handleSessions()))
	mux.Handle("DELETE /v1/me/sessions/{id}", s.authenticated(s.handleRevokeSession()))
	mux.Handle("POST /v1/me/avatar", s.authenticated(s.handleSetAvatar()))
	mux.Handle("GET /v1/avatars/{id}", s.handleAvatar())
	mux.Handle("POST /v1/qr-login/scan", s.authenticated(s.handleQRScan()))
	mux.Handle("POST /v1/qr-login/confirm", s.authenticated(s.handleQRConfirm()))
	mux.Handle("POST /v1/qr-login/deny", s.authenticated(s.handleQRDeny()))

	// Website facing: log in by scanning a mini-program code (qrlogin.go).
	mux.Handle("POST /v1/qr-login", s.limitQR(s.handleQRStart()))
	mux.Handle("POST /v1/qr-login/{id}/poll", s.limitQR(s.handleQRPoll()))
	mux.Handle("DELETE /v1/me", s.authenticated(s.handleDeleteMe()))

	// Business-service facing.
	mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	mux.Handle("POST /v1/introspect", s.handleIntrospect())
	mux.Handle("GET /v1/users/{id}", s.handleLookupUser())
	mux.Handle("GET /v1/users", s.handleLookupUsers())

	// Operator facing.
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /openapi.yaml", handleOpenAPI())
	mux.Handle("GET /metrics", s.handleMetrics())

	// Admin API (admin tokens; see admin.go).
	mux.Handle("GET /admin/v1/users", s.adminOnly(s.handleAdminUsers()))
	mux.Handle("POST /admin/v1/users", s.adminOnly(s.handleAdminCreateUser()))
	mux.Handle("GET /admin/v1/users/{id}", s.adminOnly(s.handleAdminUser()))
	mux.Handle("POST /admin/v1/users/{id}/disable", s.adminOnly(s.handleAdminSetDisabled(true)))
	mux.Handle("POST /admin/v1/users/{id}/enable", s.adminOnly(s.handleAdminSetDisabled(false)))
	mux.Handle("DELETE /admin/v1/users/{id}/sessions", s.adminOnly(s.handleAdminRevokeUserSessions()))
	mux.Handle("DELETE /admin/v1/sessions/{id}", s.adminOnly(s.handleAdminRevokeSession()))
	mux.Handle("GET /admin/v1/audit", s.adminOnly(s.handleAdminAudit()))
	mux.Handle("GET /admin/v1/stats", s.adminOnly(s.handleAdminStats()))
	mux.Handle("GET /admin/v1/apps", s.adminOnly(s.handleAdminApps()))
	mux.Handle("GET /admin/v1/clients", s.adminOnly(s.handleAdminClients()))
	mux.Handle("GET /admin/v1/webhooks/deliveries", s.adminOnly(s.handleAdminDeliveries()))
	mux.Handle("GET /admin/v1/webhooks/deliveries/{id}", s.adminOnly(s.handleAdminDelivery()))
	mux.Handle("POST /admin/v1/webhooks/deliveries/{id}/redeliver", s.adminOnly(s.handleAdminRedeliver()))
	mux.Handle("POST /admin/v1/webhooks/replay", s.adminOnly(s.handleAdminReplay()))
	mux.Handle("DELETE /admin/v1/users/{id}", s.adminOnly(s.handleAdminDeleteUser()))

	// OpenID Connect provider (oidc.go; package oidc answers, in the protocol's forms).
	mux.Handle("GET /.well-known/openid-configuration", s.handleOIDC())
	mux.Handle("GET /oidc/authorize", s.handleOIDC())
	mux.Handle("POST /oidc/authorize", s.handleOIDC())
	mux.Handle("POST /oidc/token", s.handleOIDC())
	mux.Handle("GET /oidc/userinfo", s.handleOIDC())
	mux.Handle("POST /oidc/userinfo", s.handleOIDC())
	mux.Handle("GET /oidc/end_session", s.handleOIDC())
	mux.Handle("POST /oidc/end_session", s.handleOIDC())
	mux.Handle("GET /oidc/login", s.handleOIDC())
	mux.Handle("POST /oidc/login", s.limitLogin(s.handleOIDC()))
	mux.Handle("POST /oidc/consent", s.handleOIDC())
	mux.Handle("GET /oidc/logged_out", s.handleOIDC())
	mux.Handle("GET /oidc/door/{door}/{step}", s.limitLogin(s.handleOIDC()))
	mux.Handle("POST /oidc/door/{door}/{step}", s.limitLogin(s.handleOIDC()))

	// Admin console (see admin_console.go and package console).
	mux.Handle("GET /admin/", s.handleConsole()) // the page; any other path under /admin/ is not_found
	mux.Handle("GET /admin/assets/{file}", s.handleConsole())
}
