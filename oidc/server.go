package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/wxlogin/wxlogin"
)

// server is op's LegacyServer with the steps that touch wxlogin's state taken over: op parses and
// validates every request (client authentication, redirect URIs, PKCE parameters, scopes, the
// id_token_hint of logout) and answers errors in the protocol's form; these overrides store auth
// requests and codes in the Store, start sessions through Sessions (whose access tokens are
// wxlogin's), and sign ID tokens with wxlogin's key.
type server struct {
	*op.LegacyServer
	p *Provider
}

func (s *server) Discovery(ctx context.Context, r *op.Request[struct{}]) (*op.Response, error) {
	resp, err := s.LegacyServer.Discovery(ctx, r)
	if err != nil {
		return nil, err
	}
	cfg := resp.Data.(*oidc.DiscoveryConfiguration)
	cfg.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	cfg.ResponseModesSupported = []string{string(oidc.ResponseModeQuery), string(oidc.ResponseModeFormPost)}
	cfg.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	cfg.TokenEndpointAuthMethodsSupported = []oidc.AuthMethod{oidc.AuthMethodBasic, oidc.AuthMethodPost, oidc.AuthMethodNone}
	cfg.TokenEndpointAuthSigningAlgValuesSupported = nil
	cfg.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	cfg.RequestParameterSupported = false
	cfg.RequestObjectSigningAlgValuesSupported = nil
	return resp, nil
}

// Authorize stores the request, once op has checked the client, the exact redirect URI, the
// response type and the scopes, and sends the browser to the login page. Its errors reach the
// client's redirect URI with the state.
func (s *server) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	c := r.Client.(*opClient).c
	ar := r.Data
	if ar.RequestParam != "" {
		return nil, oidc.ErrRequestNotSupported()
	}
	if ar.ResponseType != oidc.ResponseTypeCode {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("response_type must be code")
	}
	switch {
	case ar.CodeChallenge != "" && ar.CodeChallengeMethod != oidc.CodeChallengeMethodS256:
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	case ar.CodeChallenge == "" && c.Public:
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	switch ar.ResponseMode {
	case "", oidc.ResponseModeQuery, oidc.ResponseModeFormPost:
	default:
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query or form_post")
	}
	var scopes []string
	for _, sc := range ar.Scopes {
		if c.AllowsScope(sc) && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if !slices.Contains(scopes, ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	// An id_token_hint must be one of ours (signed, by the published keys); it is not otherwise
	// used, since the provider keeps no browser session to match it against.
	if _, err := op.ValidateAuthReqIDTokenHint(ctx, ar.IDTokenHint, s.p.op.IDTokenHintVerifier(ctx)); err != nil {
		return nil, err
	}
	if slices.Contains(ar.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("the user must sign in")
	}
	if len(ar.State) > 1024 || len(ar.Nonce) > 512 {
		return nil, oidc.ErrInvalidRequest().WithDescription("state or nonce is too long")
	}
	now := s.p.now()
	req := &AuthRequest{
		ID: wxlogin.NewID("oar"), ClientID: c.ID, RedirectURI: ar.RedirectURI, Scopes: scopes,
		State: ar.State, Nonce: ar.Nonce, ResponseMode: string(ar.ResponseMode),
		CodeChallenge: ar.CodeChallenge, CodeChallengeMethod: string(ar.CodeChallengeMethod),
		CreatedAt: now, ExpiresAt: now.Add(s.p.requestTTL),
	}
	if err := s.p.store.CreateAuthRequest(ctx, req); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return op.NewRedirect(loginURL(req.ID)), nil
}

// hashCode returns the form a code is stored and found under.
func hashCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}

// newCode returns a random authorization code (256 bits, base64url).
func newCode() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("oidc: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func invalidGrant(why string) error { return oidc.ErrInvalidGrant().WithDescription("%s", why) }

// CodeExchange redeems a code: once, by the client it was issued to, with the redirect URI and
// PKCE verifier of its request, before it expires. A code presented again fails and revokes the
// session its first exchange started (RFC 6749 §4.1.2).
func (s *server) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	c := r.Client.(*opClient).c
	now := s.p.now()
	ar, err := s.p.store.RedeemCode(ctx, hashCode(r.Data.Code), now)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, invalidGrant("the code is invalid")
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if !ar.CodeUsedAt.IsZero() {
		if ar.SessionID != "" {
			if err := s.p.sessions.RevokeSession(ctx, ar.SessionID, "oidc.code_reuse"); err != nil {
				return nil, oidc.ErrServerError().WithParent(err)
			}
		}
		s.p.log.WarnContext(ctx, "oidc: authorization code presented again; its session is revoked",
			"client_id", ar.ClientID, "session_id", ar.SessionID)
		return nil, invalidGrant("the code was already used")
	}
	switch {
	case ar.ClientID != c.ID:
		return nil, invalidGrant("the code was issued to another client")
	case now.After(ar.CodeExpiresAt):
		return nil, invalidGrant("the code has expired")
	case r.Data.RedirectURI != ar.RedirectURI:
		return nil, invalidGrant("redirect_uri is not the authorization request's")
	case ar.UserID == "":
		return nil, invalidGrant("the code is invalid")
	}
	var challenge *oidc.CodeChallenge
	if ar.CodeChallenge != "" {
		challenge = &oidc.CodeChallenge{Challenge: ar.CodeChallenge, Method: oidc.CodeChallengeMethod(ar.CodeChallengeMethod)}
	}
	if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, challenge); err != nil {
		return nil, err
	}

	offline := slices.Contains(ar.Scopes, ScopeOfflineAccess)
	toks, err := s.p.sessions.StartSession(ctx, NewSession{
		UserID: ar.UserID, ClientID: c.ID, Method: methodOf(ar.AMR), AMR: ar.AMR, RefreshToken: offline,
		IP: ar.IP, UserAgent: ar.UserAgent, // the user's browser at login, not the client's server
	})
	switch wxlogin.ErrorCode(err) {
	case "":
	case wxlogin.ENOTFOUND, wxlogin.EFORBIDDEN:
		return nil, invalidGrant("the user cannot sign in")
	default:
		return nil, oidc.ErrServerError().WithParent(err)
	}
	after, err := s.p.store.AttachSession(ctx, ar.ID, toks.SessionID)
	if err == nil && after.CodeReused {
		err = invalidGrant("the code was already used")
	}
	if err == nil {
		err = s.p.store.CreateGrant(ctx, &Grant{SessionID: toks.SessionID, ClientID: c.ID, UserID: ar.UserID,
			Scopes: ar.Scopes, AMR: ar.AMR, AuthTime: ar.AuthTime, CreatedAt: now, ExpiresAt: now.Add(s.p.grantTTL)})
	}
	if err != nil {
		if rerr := s.p.sessions.RevokeSession(ctx, toks.SessionID, "oidc.code_reuse"); rerr != nil {
			s.p.log.ErrorContext(ctx, "oidc: revoking a session after a failed exchange", "session_id", toks.SessionID, "err", rerr)
		}
		return nil, oidc.DefaultToServerError(err, "")
	}
	return s.tokenResponse(ctx, c, toks, ar.Scopes, ar.AMR, ar.AuthTime, ar.Nonce, r.Data.Code)
}

// RefreshToken exchanges a refresh token through Sessions (rotation and reuse detection are the
// sessions service's) and returns a new ID token with the grant's claims.
func (s *server) RefreshToken(ctx context.Context, r *op.ClientRequest[oidc.RefreshTokenRequest]) (*op.Response, error) {
	c := r.Client.(*opClient).c
	toks, err := s.p.sessions.Refresh(ctx, c.ID, wxlogin.Secret(r.Data.RefreshToken), "", "")
	switch wxlogin.ErrorCode(err) {
	case "":
	case wxlogin.EUNAUTHORIZED, wxlogin.ENOTFOUND, wxlogin.EFORBIDDEN, wxlogin.ECREDENTIALS:
		return nil, invalidGrant("the refresh token is invalid, expired or revoked")
	default:
		return nil, oidc.ErrServerError().WithParent(err)
	}
	g, err := s.p.store.Grant(ctx, toks.SessionID)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND || (err == nil && g.ClientID != c.ID) {
		return nil, invalidGrant("the refresh token was not issued through OpenID Connect to this client")
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	scopes := g.Scopes
	if len(r.Data.Scopes) > 0 {
		// A narrower scope may be asked for (RFC 6749 §6); a broader one is refused. The refresh
		// token has rotated by then, so a client asking for what it was never granted must sign
		// in again.
		for _, sc := range r.Data.Scopes {
			if !slices.Contains(g.Scopes, sc) {
				return nil, oidc.ErrInvalidScope().WithDescription("scope %q was not granted", sc)
			}
		}
		scopes = r.Data.Scopes
	}
	return s.tokenResponse(ctx, c, toks, scopes, g.AMR, g.AuthTime, "", "")
}

// tokenResponse returns the token endpoint's answer: the session's wxlogin tokens and a new ID
// token.
func (s *server) tokenResponse(ctx context.Context, c *Client, toks *SessionTokens, scopes, amr []string, authTime time.Time, nonce, code string) (*op.Response, error) {
	idToken, err := s.p.idToken(ctx, c, toks, scopes, amr, authTime, nonce, code)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	expiresIn := max(toks.ExpiresAt.Sub(s.p.now()), 0)
	resp := op.NewResponse(&oidc.AccessTokenResponse{
		AccessToken:  toks.AccessToken.Reveal(),
		TokenType:    oidc.BearerToken,
		RefreshToken: toks.RefreshToken.Reveal(),
		ExpiresIn:    uint64(expiresIn / time.Second),
		IDToken:      idToken,
		Scope:        scopes,
	})
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("Pragma", "no-cache")
	return resp, nil
}

// idToken returns a signed ID token for the session: sub (user id), aud and azp (the client),
// nonce, auth_time, amr, sid, at_hash, c_hash, and the user's claims the scopes allow.
func (p *Provider) idToken(ctx context.Context, c *Client, toks *SessionTokens, scopes, amr []string, authTime time.Time, nonce, code string) (string, error) {
	now := p.now()
	claims := oidc.NewIDTokenClaims(p.issuer, toks.UserID, []string{c.ID}, now.Add(p.idTokenTTL), authTime, nonce, "", amr, c.ID, 0)
	claims.ClientID = ""
	claims.IssuedAt = oidc.FromTime(now)
	claims.SessionID = toks.SessionID
	info, err := p.userInfo(ctx, toks.UserID, scopes, c)
	if err != nil {
		return "", err
	}
	claims.SetUserInfo(info)
	return p.keys.issuer.SignClaims(func(alg string) (any, error) {
		var err error
		if claims.AccessTokenHash, err = oidc.ClaimHash(toks.AccessToken.Reveal(), jose.SignatureAlgorithm(alg)); err != nil {
			return nil, err
		}
		if code != "" {
			if claims.CodeHash, err = oidc.ClaimHash(code, jose.SignatureAlgorithm(alg)); err != nil {
				return nil, err
			}
		}
		return claims, nil
	})
}

// userInfo returns the user's claims the scopes and the client allow: name and picture (profile),
// phone_number and phone_number_verified (phone), unionid (clients allowed to see it).
func (p *Provider) userInfo(ctx context.Context, userID string, scopes []string, c *Client) (*oidc.UserInfo, error) {
	u, err := p.users.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	info := &oidc.UserInfo{Subject: u.ID}
	if slices.Contains(scopes, ScopeProfile) {
		info.Name = u.Nickname
		info.Picture = u.AvatarURL
	}
	if slices.Contains(scopes, ScopePhone) && u.Phone != "" {
		info.PhoneNumber = "+" + u.PhoneCountryCode + u.Phone
		info.PhoneNumberVerified = oidc.Bool(!u.PhoneVerifiedAt.IsZero())
	}
	if c.UnionID && u.UnionID != "" {
		info.AppendClaims("unionid", u.UnionID)
	}
	return info, nil
}

// UserInfo answers with the claims of the access token's user, as its session's grant allows.
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	invalid := op.NewStatusError(oidc.ErrAccessDenied().WithDescription("the access token is invalid, expired or revoked"), http.StatusUnauthorized)
	pr, err := s.p.sessions.Authenticate(ctx, r.Data.AccessToken)
	if wxlogin.ErrorCode(err) == wxlogin.EUNAUTHORIZED {
		return nil, invalid
	} else if err != nil {
		return nil, op.NewStatusError(oidc.ErrServerError().WithParent(err), http.StatusInternalServerError)
	}
	g, err := s.p.store.Grant(ctx, pr.SessionID)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND || (err == nil && (g.UserID != pr.UserID || g.ClientID != pr.ClientID)) {
		return nil, invalid // not a session started through OpenID Connect
	} else if err != nil {
		return nil, op.NewStatusError(oidc.ErrServerError().WithParent(err), http.StatusInternalServerError)
	}
	c, err := s.p.clients.Client(ctx, g.ClientID)
	if err != nil {
		return nil, invalid
	}
	info, err := s.p.userInfo(ctx, pr.UserID, g.Scopes, c)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, op.NewStatusError(oidc.ErrServerError().WithParent(err), http.StatusInternalServerError)
	}
	resp := op.NewResponse(info)
	resp.Header.Set("Cache-Control", "no-store")
	return resp, nil
}

// methodOf returns wxlogin's session method for RFC 8176 amr values.
func methodOf(amr []string) string {
	if len(amr) == 0 {
		return "oidc"
	}
	if amr[0] == "pwd" {
		return "password"
	}
	return amr[0]
}
