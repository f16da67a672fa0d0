package http

import "net/http"

// addRoutes registers every route of the API. openapi.yaml documents exactly these.
func addRoutes(mux *http.ServeMux, s *server) {
	// Mini program facing.
	mux.Handle("POST /v1/login/wechat", s.handleLoginWeChat())
	mux.Handle("POST /v1/login/password", s.handleLoginPassword())
	mux.Handle("POST /v1/accounts", s.handleSignUp())
	mux.Handle("POST /v1/token/refresh", s.handleRefresh())
	mux.Handle("POST /v1/logout", s.authenticated(s.handleLogout()))
	mux.Handle("POST /v1/logout/all", s.authenticated(s.handleLogoutAll()))
	mux.Handle("GET /v1/me", s.authenticated(s.handleMe()))
	mux.Handle("GET /v1/me/sessions", s.authenticated(s.handleSessions()))
	mux.Handle("DELETE /v1/me/sessions/{id}", s.authenticated(s.handleRevokeSession()))

	// Business-service facing.
	mux.Handle("GET /.well-known/jwks.json", s.handleJWKS())
	mux.Handle("POST /v1/introspect", s.handleIntrospect())

	// Operator facing.
	mux.Handle("GET /healthz", s.handleHealthz())
	mux.Handle("GET /readyz", s.handleReadyz())
	mux.Handle("GET /openapi.yaml", handleOpenAPI())
}
