// Package oidc makes wxlogin an OpenID Connect provider, so any website or gateway signs people in
// with WeChat (and business accounts) as the same user the mini program knows. It wraps the
// certified `op` package of github.com/zitadel/oidc/v3 and depends only on the root package and
// token/; what it needs from the rest of wxlogin it asks through small interfaces (interfaces.go,
// Clients in clients.go), which move to the root when wired.
//
// # Endpoints (issuer = wxlogin's public base URL, no path)
//
//	GET  /.well-known/openid-configuration  discovery (op), jwks_uri = /.well-known/jwks.json
//	GET  /oidc/authorize     response_type=code only; PKCE S256 required for public clients, allowed
//	                         for confidential ones (plain refused); state, nonce; redirect URIs matched
//	                         exactly (loopback on any port only for LoopbackAnyPort clients, RFC 8252 §7.3)
//	POST /oidc/token         authorization_code and refresh_token grants; client_secret_basic,
//	                         client_secret_post, or none (public clients)
//	GET  /oidc/userinfo      claims of the access token's session, as its grant's scopes allow
//	GET  /oidc/end_session   RP-initiated logout: the id_token_hint's sid session is revoked;
//	                         post_logout_redirect_uri must be registered
//	GET  /oidc/login         the hosted login page; POST: the password form (username, password)
//	POST /oidc/consent       the consent step (third-party clients only)
//	GET  /oidc/logged_out    where logout lands without a post_logout_redirect_uri
//
// /.well-known/jwks.json stays wxlogin's own route: ID tokens are signed by the key token.Issuer
// signs access tokens with, so that one JWKS verifies both.
//
// # Tokens
//
// Access tokens are wxlogin access tokens (typ at+jwt, iss = token.Issuer's, aud = the client id,
// sub, sid, jti), made by the sessions service; verify/ (with the client id among its Audiences)
// and introspection accept them, and the session shows the client (Session.AppID = client id).
// Refresh tokens are the session's refresh-token chain (rotation, reuse revokes). ID tokens carry
// iss (the issuer URL), sub (user id), aud and azp (client), exp, iat, auth_time, nonce, amr, sid,
// at_hash, c_hash and the claims: name and picture (scope profile), phone_number and
// phone_number_verified (scope phone), unionid (clients with UnionID set). Scopes: openid profile
// phone offline_access, each client limited to its configured ones.
//
// op validates requests, authenticates clients and writes protocol errors; the steps that touch
// wxlogin's state are this package's overrides of op's LegacyServer (server.go): Authorize stores
// the request, CodeExchange redeems the code and starts the session, RefreshToken goes through
// Sessions, UserInfo reads the grant. op's own opaque codes and tokens are never used.
//
// # Interfaces (what each is for)
//
//   - Clients: the configured relying parties (ParseClients validates a []ClientConfig from YAML or
//     env; StaticClients.List is for the admin API). Secrets are stored as "sha256:<hex>": client
//     secrets are generated (NewClientSecret, 256 bits), so a fast hash is as strong as a slow one
//     and keeps the token endpoint cheap. DevClient is `wxlogin dev`'s public client "dev-web".
//   - Store: auth requests (with their code, stored hashed, and the session its exchange started)
//     and grants (a session's client, scopes, amr, auth_time). MemoryStore is for tests and one
//     instance; the SQL stores and Redis implement it for several (see "Storage" below).
//   - Sessions: the auth sessions service — StartSession (a session for user U at client C with
//     method and amr, its access token and, with offline_access, refresh token), Refresh, RevokeSession
//     (logout, code reuse), Authenticate (userinfo).
//   - Users: the user the claims come from (wxlogin.Store satisfies it).
//   - PasswordLogin: checks a business account's password without starting a session.
//   - Door: the WeChat doors (official-account OAuth, website QR, mini-program QR) register a link
//     on the login page and call Provider.CompleteLogin when they have their user. Inside WeChat (by
//     user agent) the page goes straight to the official-account door.
//
// # Storage (several instances behave as one)
//
// Nothing a flow needs lives in an instance's memory: the auth request from /authorize to the
// token exchange, and the grant for refresh and userinfo, are in the Store; the login page binds
// its forms to the browser with a cookie (double-submitted CSRF token, whose hash the request keeps
// so only the browser that logged in may consent). The SQL stores need two tables:
//
//	oidc_auth_requests(id text primary key, client_id, redirect_uri, scopes text, state, nonce,
//	    response_mode, code_challenge, code_challenge_method, created_at, expires_at,
//	    user_id, amr text, auth_time, browser, ip, user_agent,
//	    code_hash text unique null, code_expires_at, code_used_at, code_reused bool, session_id)
//	oidc_grants(session_id text primary key, client_id, user_id, scopes text, amr text,
//	    auth_time, created_at, expires_at)
//
// RedeemCode is one UPDATE ... SET code_used_at = coalesce(code_used_at, $at), code_reused =
// (code_used_at IS NOT NULL) WHERE code_hash = $h RETURNING the old values (or SELECT ... FOR UPDATE
// then UPDATE in one transaction); AttachSession is UPDATE ... SET session_id RETURNING
// code_reused. In Redis, a hash per request with a code-hash index key, and a Lua script for each.
// Prune (Provider.Prune) deletes what expired.
//
// # Wiring
//
//	clients, err := oidc.ParseClients(cfg.OIDC.Clients) // plus oidc.DevClient() under `wxlogin dev`
//	p, err := oidc.New(oidc.Options{
//		Issuer: cfg.PublicURL, Clients: clients, Store: store /* SQL or Redis */,
//		Sessions: authSessions, Users: store, Passwords: authAccounts,
//		Tokens: issuer, Keys: store, Sealer: keyring, Now: now, Logger: log,
//	})
//	for _, path := range oidc.Routes { mux.Handle(path, p.Handler()) } // in http/routes.go
//
// op logs through slog.Default (route registration, protocol errors without secrets). A relying
// party uses the discovery URL, e.g. for oauth2-proxy:
//
//	--provider=oidc --oidc-issuer-url=https://login.example.com --client-id=web
//	--client-secret=... --code-challenge-method=S256 --scope="openid profile"
package oidc
