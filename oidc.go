package wxlogin

import (
	"context"
	"time"
)

// The types and interfaces below are what the OpenID Connect provider (package oidc) needs from
// the rest of wxlogin: its state between requests (OIDCStore, implemented over the SQL stores),
// the sessions service (OIDCSessions, implemented by auth), the users its claims are made of
// (UserFinder: Store satisfies it) and the password check of its login page (PasswordChecker,
// implemented by auth). See oidc/doc.go.

// OIDCAuthRequest is one authorization request, from /oidc/authorize to the code's exchange. It
// lives in the store, never in one instance's memory: the login page, the code and the token
// endpoint may be served by different instances.
type OIDCAuthRequest struct {
	ID                  string // "oar_..."
	ClientID            string
	RedirectURI         string   // exactly as registered
	Scopes              []string // granted: what the client asked for and may have
	State               string
	Nonce               string
	ResponseMode        string // "" (query) or "form_post"
	CodeChallenge       string // PKCE S256 challenge; "" when the (confidential) client sent none
	CodeChallengeMethod string // "S256" or ""
	CreatedAt           time.Time
	ExpiresAt           time.Time // the login must be done by then

	// Set by CompleteAuthRequest when the user has logged in.
	UserID    string
	AMR       []string  // RFC 8176 values: "pwd", "wechat", ...
	AuthTime  time.Time // when the user authenticated
	Browser   string    // hash of the browser's login-page cookie: only that browser may consent
	IP        string    // the browser's, for the session
	UserAgent string

	// Set by IssueCode, RedeemCode and AttachSession.
	CodeHash      string    // hex(sha256(code)); the code itself is never stored
	CodeExpiresAt time.Time //
	CodeUsedAt    time.Time // zero until the first exchange
	CodeReused    bool      // the code was presented again after its first exchange
	SessionID     string    // the session the code's exchange created
}

// OIDCGrant is what a session started through OpenID Connect was granted: the refresh-token grant
// and the userinfo endpoint read it. It lives as long as the session.
type OIDCGrant struct {
	SessionID string
	ClientID  string
	UserID    string
	Scopes    []string
	AMR       []string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time // when it may be pruned (the session's own expiry is the session's business)
}

// OIDCLogin is who completed an authorization request, and how.
type OIDCLogin struct {
	UserID    string
	AMR       []string
	AuthTime  time.Time
	Browser   string
	IP        string
	UserAgent string
}

// OIDCStore keeps the provider's state between requests. Every method is one atomic step. Missing
// rows are *Error with ENOTFOUND.
type OIDCStore interface {
	// CreateAuthRequest stores a new request. ECONFLICT when the id exists.
	CreateAuthRequest(ctx context.Context, r *OIDCAuthRequest) error
	// AuthRequest returns the request with id (expired ones too: the caller checks). ENOTFOUND.
	AuthRequest(ctx context.Context, id string) (*OIDCAuthRequest, error)
	// CompleteAuthRequest records who logged in (UserID, AMR, AuthTime, Browser of l). ENOTFOUND;
	// ECONFLICT when a code was already issued for the request.
	CompleteAuthRequest(ctx context.Context, id string, l OIDCLogin) error
	// IssueCode attaches the hash of the request's code. ENOTFOUND; ECONFLICT when the request
	// already has a code (a request yields one code, ever).
	IssueCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error
	// RedeemCode finds the request whose code hashes to codeHash and, in the same atomic step, sets
	// CodeUsedAt to at when it is zero, or CodeReused to true when it is not. It returns the
	// request as it was before the step: a non-zero CodeUsedAt means the code was used before.
	// ENOTFOUND.
	RedeemCode(ctx context.Context, codeHash string, at time.Time) (*OIDCAuthRequest, error)
	// AttachSession records the session the code's first exchange created and returns the request
	// after the step; CodeReused true means the code was presented again meanwhile, and the
	// caller revokes the session. ENOTFOUND.
	AttachSession(ctx context.Context, id, sessionID string) (*OIDCAuthRequest, error)
	// DeleteAuthRequestsBefore deletes the requests that expired before before (and whose codes
	// did) and returns how many.
	DeleteAuthRequestsBefore(ctx context.Context, before time.Time) (int64, error)

	// CreateGrant stores g. ECONFLICT when its session has one.
	CreateGrant(ctx context.Context, g *OIDCGrant) error
	// Grant returns the grant of a session. ENOTFOUND.
	Grant(ctx context.Context, sessionID string) (*OIDCGrant, error)
	// DeleteGrantsBefore deletes the grants that expired before before and returns how many.
	DeleteGrantsBefore(ctx context.Context, before time.Time) (int64, error)
}

// OIDCNewSession asks the sessions service for a session started through OpenID Connect.
type OIDCNewSession struct {
	UserID       string
	ClientID     string   // the session's app: sessions show the client; access tokens get aud=ClientID
	Method       string   // wxlogin's login method: "password", "wechat", ...
	AMR          []string // as in the ID token
	RefreshToken bool     // issue a refresh token (offline_access was granted)
	IP           string
	UserAgent    string
}

// OIDCSessionTokens are the tokens of a session: AccessToken is a wxlogin access token (aud = the
// client id), which verify/ and introspection accept.
type OIDCSessionTokens struct {
	SessionID    string
	UserID       string
	AccessToken  Secret
	ExpiresAt    time.Time
	RefreshToken Secret // "" when none was asked for
}

// OIDCPrincipal is who a valid access token speaks for.
type OIDCPrincipal struct {
	UserID    string
	SessionID string
	ClientID  string // the token's aud
}

// OIDCSessions is wxlogin's sessions service as the provider uses it; auth.SessionKeeper's
// OIDC method returns one.
type OIDCSessions interface {
	// StartSession creates a session for s.UserID at s.ClientID and issues its tokens. Errors:
	// ENOTFOUND (no such user), EFORBIDDEN (user disabled).
	StartSession(ctx context.Context, s OIDCNewSession) (*OIDCSessionTokens, error)
	// Refresh spends a refresh token of a session of clientID and returns the session's next
	// tokens (a new refresh token: rotation; a spent one presented again revokes the session).
	// Errors: EUNAUTHORIZED (unknown, spent, expired, revoked, or another client's). ip and
	// userAgent are the caller's ("" when unknown).
	Refresh(ctx context.Context, clientID string, refreshToken Secret, ip, userAgent string) (*OIDCSessionTokens, error)
	// RevokeSession ends the session (logout, code reuse); revoking a revoked or missing session
	// is not an error.
	RevokeSession(ctx context.Context, sessionID, reason string) error
	// Authenticate returns the principal of a valid access token whose session is active.
	// Errors: EUNAUTHORIZED.
	Authenticate(ctx context.Context, accessToken string) (*OIDCPrincipal, error)
}

// UserFinder returns a user by id. Store satisfies it. Errors: ENOTFOUND.
type UserFinder interface {
	User(ctx context.Context, id string) (*User, error)
}

// PasswordChecker checks a business account's password without starting a session (the OIDC
// code's exchange starts it); auth.Accounts implements it.
type PasswordChecker interface {
	// CheckPassword returns the user id of the account. Errors: ECREDENTIALS, ERATELIMITED,
	// EFORBIDDEN (user disabled).
	CheckPassword(ctx context.Context, username, password, ip, userAgent string) (userID string, err error)
}
