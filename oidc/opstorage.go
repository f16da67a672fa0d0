package oidc

import (
	"context"
	"errors"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/wxlogin/wxlogin"
)

// opClient is a Client as op sees it.
type opClient struct{ c *Client }

func (o *opClient) GetID() string                    { return o.c.ID }
func (o *opClient) RedirectURIs() []string           { return o.c.RedirectURIs }
func (o *opClient) PostLogoutRedirectURIs() []string { return o.c.PostLogoutRedirectURIs }

// ApplicationType: op matches a loopback redirect URI on any port for native clients only, so
// LoopbackAnyPort clients are native; other public clients run in a browser; confidential
// clients are web servers.
func (o *opClient) ApplicationType() op.ApplicationType {
	switch {
	case o.c.LoopbackAnyPort:
		return op.ApplicationTypeNative
	case o.c.Public:
		return op.ApplicationTypeUserAgent
	}
	return op.ApplicationTypeWeb
}

func (o *opClient) AuthMethod() oidc.AuthMethod {
	if o.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic // op accepts client_secret_post as well (Config.AuthMethodPost)
}
func (o *opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (o *opClient) GrantTypes() []oidc.GrantType {
	if o.c.AllowsScope(ScopeOfflineAccess) {
		return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	}
	return []oidc.GrantType{oidc.GrantTypeCode}
}
func (o *opClient) LoginURL(id string) string            { return loginURL(id) }
func (o *opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (o *opClient) IDTokenLifetime() time.Duration       { return DefaultIDTokenTTL }
func (o *opClient) DevMode() bool                        { return true } // ParseClients allows http only on loopback
func (o *opClient) IsScopeAllowed(scope string) bool     { return o.c.AllowsScope(scope) }
func (o *opClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (o *opClient) ClockSkew() time.Duration             { return 0 }
func (o *opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (o *opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// opStorage is the op.Storage op's LegacyServer calls for what this provider leaves to it: client
// lookup and authentication, discovery's algorithms, the id_token_hint keys and logout. The
// flows it would run over op's own codes and tokens (auth requests, code and refresh exchange,
// token creation, introspection, revocation) are the server's overrides, so those methods fail.
type opStorage struct{ p *Provider }

var errNotUsed = errors.New("oidc: not used by this provider")

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.p.clients.Client(ctx, id)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return s.p.opClient(c), nil
}

func (s *opStorage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.p.clients.Client(ctx, id)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return errors.New("unknown client")
	} else if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if !c.CheckSecret(secret) {
		return errors.New("wrong client secret")
	}
	return nil
}

// TerminateSessionFromRequest ends the wxlogin session the id_token_hint names (its sid), when the
// hint's subject and client are the session's. Without a hint there is nothing to end: the
// provider keeps no browser session of its own.
func (s *opStorage) TerminateSessionFromRequest(ctx context.Context, r *op.EndSessionRequest) (string, error) {
	if r.IDTokenHintClaims != nil && r.IDTokenHintClaims.SessionID != "" {
		sid := r.IDTokenHintClaims.SessionID
		g, err := s.p.store.Grant(ctx, sid)
		switch {
		case wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND:
		case err != nil:
			return "", err
		case g.UserID == r.UserID && g.ClientID == r.ClientID:
			if err := s.p.sessions.RevokeSession(ctx, sid, "oidc.logout"); err != nil {
				return "", err
			}
		}
	}
	return r.RedirectURI, nil
}

// SigningKey is not used: op signs nothing itself (its token creation is replaced by server's
// CodeExchange and RefreshToken, which sign ID tokens with token.Issuer.SignClaims).
func (s *opStorage) SigningKey(context.Context) (op.SigningKey, error) { return nil, errNotUsed }

func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	set, err := s.p.keys.keySet()
	if err != nil {
		return nil, err
	}
	var algs []jose.SignatureAlgorithm
	for _, k := range set {
		if a := jose.SignatureAlgorithm(k.Algorithm); !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	return algs, nil
}

func (s *opStorage) KeySet(context.Context) ([]op.Key, error) { return s.p.keys.opKeys() }
func (s *opStorage) Health(context.Context) error             { return nil }

func (s *opStorage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errNotUsed
}
func (s *opStorage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotUsed
}
func (s *opStorage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errNotUsed
}
func (s *opStorage) SaveAuthCode(context.Context, string, string) error { return errNotUsed }
func (s *opStorage) DeleteAuthRequest(context.Context, string) error    { return errNotUsed }
func (s *opStorage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return "", time.Time{}, errNotUsed
}
func (s *opStorage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errNotUsed
}
func (s *opStorage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errNotUsed
}
func (s *opStorage) TerminateSession(context.Context, string, string) error { return errNotUsed }
func (s *opStorage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrUnsupportedGrantType()
}
func (s *opStorage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *opStorage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *opStorage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return errNotUsed
}
func (s *opStorage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errNotUsed
}
func (s *opStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}
func (s *opStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotUsed
}
func (s *opStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errNotUsed
}
