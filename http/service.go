package http

import (
	"context"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// Service is what the API uses of the login service; *auth.Service implements it. It is the sum of
// the service's concerns, so that a handler test can fake only the part it exercises (embed a nil
// Service in the fake and override what the handler calls).
type Service interface {
	Logins
	WebLogins
	Sessions
	Profiles
	Administration
	Signups
	QRLogins
	Webhooks
	Deletions
	Lookups
	// Ready returns nil when the service can answer (its store is reachable and migrated).
	Ready(ctx context.Context) error
}

// Logins are the doors that open a session: WeChat codes, passwords, phone codes, Cloud Run, and
// sign-up.
type Logins interface {
	LoginWeChat(ctx context.Context, in auth.WeChatLogin, meta auth.Meta) (*auth.Login, error)
	LoginPassword(ctx context.Context, appid, username, password string, meta auth.Meta) (*auth.Login, error)
	LoginPhone(ctx context.Context, appid, code string, meta auth.Meta) (*auth.Login, error)
	LoginCloud(ctx context.Context, appid, openid, unionid string, meta auth.Meta) (*auth.Login, error)
	SignUp(ctx context.Context, username, password string, meta auth.Meta) (*wxlogin.User, error)
}

// Sessions authenticate access tokens and keep sessions: refresh, logout, revocation,
// introspection and the public keys.
type Sessions interface {
	Authenticate(ctx context.Context, accessToken string) (*auth.Principal, error)
	Refresh(ctx context.Context, refreshToken string, meta auth.Meta) (*auth.Login, error)
	Logout(ctx context.Context, p *auth.Principal, meta auth.Meta) error
	LogoutAll(ctx context.Context, p *auth.Principal, meta auth.Meta) error
	Sessions(ctx context.Context, p *auth.Principal) ([]*wxlogin.Session, error)
	RevokeSession(ctx context.Context, p *auth.Principal, sessionID string, meta auth.Meta) error
	Introspect(ctx context.Context, accessToken string) (*auth.Introspection, error)
	// JWKS returns the JSON Web Key Set that verifies access tokens.
	JWKS() []byte
}

// Profiles are what a logged-in user reads and changes of themselves: profile, phone, WeChat
// identities.
type Profiles interface {
	Me(ctx context.Context, p *auth.Principal) (*auth.Profile, error)
	UpdateProfile(ctx context.Context, p *auth.Principal, up auth.ProfileUpdate, meta auth.Meta) (*auth.Profile, error)
	UpdateProfileFromWeChat(ctx context.Context, p *auth.Principal, d auth.EncryptedData, meta auth.Meta) (*auth.Profile, error)
	SetPhone(ctx context.Context, p *auth.Principal, in auth.PhoneInput, meta auth.Meta) (*auth.Profile, error)
	BindWeChat(ctx context.Context, p *auth.Principal, appid, code string, meta auth.Meta) (*auth.Profile, error)
	UnbindWeChat(ctx context.Context, p *auth.Principal, appid string, meta auth.Meta) error
	LinkPaidUnionID(ctx context.Context, p *auth.Principal, appid, transactionID string, meta auth.Meta) (*auth.Profile, error)
}

// Administration is the admin API's side of the service.
type Administration interface {
	FindUsers(ctx context.Context, a auth.Admin, f wxlogin.UserFilter) (*auth.UserPage, error)
	AdminUser(ctx context.Context, a auth.Admin, id string) (*auth.UserDetail, error)
	SetUserDisabled(ctx context.Context, a auth.Admin, id string, disabled bool) (*auth.UserSummary, error)
	RevokeUserSessions(ctx context.Context, a auth.Admin, id string) (int, error)
	RevokeAnySession(ctx context.Context, a auth.Admin, id string) error
	AuditTrail(ctx context.Context, a auth.Admin, f wxlogin.AuditFilter) (*auth.AuditPage, error)
	// Apps returns the configured apps, in configuration order (secrets are the caller's to hide).
	Apps() []wxlogin.App
	LoginStats(ctx context.Context, a auth.Admin) (*auth.LoginStats, error)
}

var _ Service = (*auth.Service)(nil)
