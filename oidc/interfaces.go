package oidc

import (
	"github.com/wxlogin/wxlogin"
)

// What the provider needs from the rest of wxlogin is declared at the root (wxlogin's oidc.go);
// these names are the provider's for them.

// AuthRequest is one authorization request, from /oidc/authorize to the code's exchange.
type AuthRequest = wxlogin.OIDCAuthRequest

// Grant is what a session started through OIDC was granted.
type Grant = wxlogin.OIDCGrant

// Store keeps the provider's state between requests: the SQL stores (sqlstore.OIDCStore) for
// several instances, MemoryStore for tests and one instance.
type Store = wxlogin.OIDCStore

// Login is who completed an authorization request, and how.
type Login = wxlogin.OIDCLogin

// NewSession asks the sessions service for a session started through OIDC.
type NewSession = wxlogin.OIDCNewSession

// SessionTokens are the tokens of a session.
type SessionTokens = wxlogin.OIDCSessionTokens

// Principal is who a valid access token speaks for.
type Principal = wxlogin.OIDCPrincipal

// Sessions is wxlogin's sessions service as the provider uses it (auth.SessionKeeper.OIDC).
type Sessions = wxlogin.OIDCSessions

// Users returns the user the claims are made of. wxlogin.Store satisfies it.
type Users = wxlogin.UserFinder

// PasswordLogin checks a business account's password without starting a session (auth.Accounts).
type PasswordLogin = wxlogin.PasswordChecker
