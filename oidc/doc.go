// Package oidc makes wxlogin an OpenID Connect provider, so any website or gateway signs people in
// with WeChat (and business accounts) as the same user the mini program knows. It wraps the
// certified `op` package of github.com/zitadel/oidc/v3 and depends only on the root package and
// token/; what it needs from the rest of wxlogin is declared at the root (wxlogin's oidc.go:
// OIDCStore, OIDCSessions, UserFinder, PasswordChecker; interfaces.go gives them this package's
// names). app.New wires it (app/oidc.go); http/routes.go lists its routes.
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
//	GET, POST /oidc/door/{name}/{step}  the WeChat doors served by the provider (Door.Serve)
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
//     and grants (a session's client, scopes, amr, auth_time). NewStore makes its atomic steps of
//     wxlogin.Store's Tx methods (SQLite or PostgreSQL: several instances); MemoryStore is for tests.
//   - Sessions: auth.SessionKeeper.OIDC() — StartSession (a session for user U at client C with
//     method and amr, its access token and, with offline_access, refresh token), Refresh (only the
//     client's own sessions), RevokeSession (logout, code reuse), Authenticate (userinfo).
//   - Users: the user the claims come from (wxlogin.Store satisfies it).
//   - PasswordLogin: auth.Accounts.CheckPassword, without starting a session.
//   - Door: the WeChat doors (official-account OAuth, website QR, mini-program QR). A door either
//     has routes of its own (URL) and calls Provider.CompleteLogin, or — a few lines in
//     app.OIDCConfig.Doors — is served by the provider under /oidc/door/{name}/{step} (Serve) and
//     calls the DoneFunc it is given. Inside WeChat (by user agent) the page goes straight to the
//     official-account door. For the official account and website doors, Serve's "start" step calls
//     auth.Doors.StartWeb (redirect URI = issuer + /oidc/door/{name}/back, state = the auth request
//     id, its browser cookie set) and the "back" step FinishWeb, then done(w, r, state, userID,
//     []string{"wechat"}); the mini-program QR door's steps show the code and poll its request.
//
// # Storage (several instances behave as one)
//
// Nothing a flow needs lives in an instance's memory: the auth request from /authorize to the
// token exchange, and the grant for refresh and userinfo, are in the Store; the login page binds
// its forms to the browser with a cookie (double-submitted CSRF token, whose hash the request keeps
// so only the browser that logged in may consent). The SQL stores have two tables (migration 0050):
//
//	oidc_auth_requests(id text primary key, client_id, redirect_uri, scopes text, state, nonce,
//	    response_mode, code_challenge, code_challenge_method, created_at, expires_at,
//	    user_id, amr text, auth_time, browser, ip, user_agent,
//	    code_hash text unique null, code_expires_at, code_used_at, code_reused bool, session_id)
//	oidc_grants(session_id text primary key, client_id, user_id, scopes text, amr text,
//	    auth_time, created_at, expires_at)
//
// Each step of NewStore (RedeemCode, AttachSession, IssueCode, CompleteAuthRequest) is a read and a
// write in one transaction of the store (SQLite's single writer; PostgreSQL's SERIALIZABLE with
// retries), so of two concurrent exchanges of one code exactly one wins, on any instance. A grant
// is deleted with its session. Prune (Provider.Prune, hourly under serve and dev) deletes what
// expired.
//
// # Wiring
//
// app/oidc.go, from app.Config.OIDC (settings oidc_issuer and oidc_clients; `wxlogin dev` adds
// DevClient):
//
//	clients, err := oidc.ParseClients(cfg.OIDC.Clients)
//	p, err := oidc.New(oidc.Options{
//		Issuer: cfg.OIDC.Issuer, Clients: clients, Store: oidc.NewStore(store),
//		Sessions: svc.OIDC(), Users: store, Passwords: svc.Accounts, Doors: cfg.OIDC.Doors,
//		Tokens: issuer, Keys: store, Sealer: keyring, Now: now, Logger: log,
//	})
//
// and the HTTP API serves p.Handler() on the routes http/routes.go lists (http.Config.OIDC).
//
// op logs through slog.Default (route registration, protocol errors without secrets). A relying
// party uses the discovery URL, e.g. for oauth2-proxy:
//
//	--provider=oidc --oidc-issuer-url=https://login.example.com --client-id=web
//	--client-secret=... --code-challenge-method=S256 --scope="openid profile"
package oidc
