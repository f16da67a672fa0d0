package http

import (
	"mime"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// loginHandler returns a handler that decodes a Req, calls login with it and answers the login
// state (or the error).
func loginHandler[Req any](s *server, login func(r *http.Request, req *Req) (*auth.Login, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[Req](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if lr, ok := any(&req).(limitedRequest); ok {
			if err := s.limitDecoded(r, lr.limitInput()); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		l, err := login(r, &req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeLogin(w, l, http.StatusOK)
	})
}

// profileHandler returns a handler that decodes a Req, calls change with it and answers the
// user's profile (or the error).
func profileHandler[Req any](s *server, change func(r *http.Request, req *Req) (*auth.Profile, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[Req](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		p, err := change(r, &req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, newProfileJSON(p))
	})
}

// noContentHandler returns a handler that answers 204 when act succeeds.
func noContentHandler(s *server, act func(r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := act(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// tokenResponse is the login state a mini program keeps.
type tokenResponse struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int64    `json:"expires_in"`
	RefreshToken string   `json:"refresh_token"`
	SessionID    string   `json:"session_id"`
	User         userJSON `json:"user"`
	NewUser      bool     `json:"new_user"`
}

type userJSON struct {
	ID               string         `json:"id"`
	Username         string         `json:"username,omitempty"`
	Nickname         string         `json:"nickname"`
	AvatarURL        string         `json:"avatar_url"`
	UnionID          string         `json:"unionid,omitempty"`
	Phone            string         `json:"phone,omitempty"`
	PhoneCountryCode string         `json:"phone_country_code,omitempty"`
	Identities       []identityJSON `json:"identities,omitempty"`
	CreatedAt        time.Time      `json:"created_at"`
}

type identityJSON struct {
	AppID     string    `json:"appid"`
	OpenID    string    `json:"openid"`
	UnionID   string    `json:"unionid,omitempty"`
	Kind      string    `json:"kind"` // its app's kind
	CreatedAt time.Time `json:"created_at"`
}

func newUserJSON(u *wxlogin.User) userJSON {
	return userJSON{ID: u.ID, Nickname: u.Nickname, AvatarURL: u.AvatarURL, UnionID: u.UnionID,
		Phone: u.Phone, PhoneCountryCode: u.PhoneCountryCode, CreatedAt: u.CreatedAt.UTC()}
}

func newProfileJSON(p *auth.Profile) userJSON {
	u := newUserJSON(p.User)
	u.Username = p.Username
	u.Identities = make([]identityJSON, 0, len(p.Identities))
	for _, id := range p.Identities {
		u.Identities = append(u.Identities, identityJSON{AppID: id.AppID, OpenID: id.OpenID, UnionID: id.UnionID, Kind: string(id.AppKind()), CreatedAt: id.CreatedAt.UTC()})
	}
	return u
}

// writeLogin writes a login result; tokens are revealed here and only here.
func (s *server) writeLogin(w http.ResponseWriter, l *auth.Login, status int) {
	noStore(w)
	expiresIn := int64(l.ExpiresAt.Sub(s.cfg.Now()).Seconds())
	if expiresIn < 0 {
		expiresIn = 0
	}
	user := newUserJSON(l.User)
	user.Username = l.Username
	encode(w, status, tokenResponse{
		AccessToken:  l.AccessToken.Reveal(),
		TokenType:    "Bearer",
		ExpiresIn:    expiresIn,
		RefreshToken: l.RefreshToken.Reveal(),
		SessionID:    l.Session.ID,
		User:         user,
		NewUser:      l.NewUser,
	})
}

type loginWeChatRequest struct {
	AppID    string `json:"appid"`
	Code     string `json:"code"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (r *loginWeChatRequest) Valid() error {
	if r.Code == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "code is required: the code from wx.login()")
	}
	return nil
}

func (s *server) handleLoginWeChat() http.Handler {
	return loginHandler(s, func(r *http.Request, req *loginWeChatRequest) (*auth.Login, error) {
		return s.svc.LoginWeChat(r.Context(), auth.WeChatLogin{AppID: req.AppID, Code: req.Code, Username: req.Username, Password: req.Password}, s.meta(r))
	})
}

type loginPasswordRequest struct {
	AppID     string `json:"appid"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	LinkToken string `json:"link_token"` // optional: the link token of a no_account answer
}

func (r *loginPasswordRequest) Valid() error {
	if r.Username == "" || r.Password == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "username and password are required")
	}
	return nil
}

func (s *server) handleLoginPassword() http.Handler {
	return loginHandler(s, func(r *http.Request, req *loginPasswordRequest) (*auth.Login, error) {
		if req.LinkToken != "" {
			return s.svc.LinkPassword(r.Context(), req.AppID, req.Username, req.Password, req.LinkToken, s.meta(r))
		}
		return s.svc.LoginPassword(r.Context(), req.AppID, req.Username, req.Password, s.meta(r))
	})
}

type signUpRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (r *signUpRequest) Valid() error {
	if r.Username == "" || r.Password == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "username and password are required")
	}
	return nil
}

func (s *server) handleSignUp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[signUpRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.limitDecoded(r, req.limitInput()); err != nil {
			s.writeError(w, r, err)
			return
		}
		u, err := s.svc.SignUp(r.Context(), req.Username, req.Password, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := newUserJSON(u)
		out.Username = req.Username
		if p, err := s.svc.Me(r.Context(), &auth.Principal{UserID: u.ID}); err == nil {
			out = newProfileJSON(p)
		}
		encode(w, http.StatusCreated, out)
	})
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (r *refreshRequest) Valid() error {
	if r.RefreshToken == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "refresh_token is required")
	}
	return nil
}

func (s *server) handleRefresh() http.Handler {
	return loginHandler(s, func(r *http.Request, req *refreshRequest) (*auth.Login, error) {
		return s.svc.Refresh(r.Context(), req.RefreshToken, s.meta(r))
	})
}

func (s *server) handleLogout() http.Handler {
	return noContentHandler(s, func(r *http.Request) error { return s.svc.Logout(r.Context(), principal(r), s.meta(r)) })
}

func (s *server) handleLogoutAll() http.Handler {
	return noContentHandler(s, func(r *http.Request) error { return s.svc.LogoutAll(r.Context(), principal(r), s.meta(r)) })
}

func (s *server) handleMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.svc.Me(r.Context(), principal(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, newProfileJSON(p))
	})
}

type sessionJSON struct {
	ID         string    `json:"id"`
	AppID      string    `json:"appid,omitempty"`
	Method     string    `json:"method"`
	UserAgent  string    `json:"user_agent,omitempty"`
	IP         string    `json:"ip,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

type sessionsResponse struct {
	Sessions []sessionJSON `json:"sessions"`
}

func (s *server) handleSessions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principal(r)
		list, err := s.svc.Sessions(r.Context(), p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := sessionsResponse{Sessions: make([]sessionJSON, 0, len(list))}
		for _, x := range list {
			out.Sessions = append(out.Sessions, sessionJSON{ID: x.ID, AppID: x.AppID, Method: x.Method, UserAgent: x.UserAgent, IP: x.IP,
				CreatedAt: x.CreatedAt.UTC(), LastSeenAt: x.LastSeenAt.UTC(), ExpiresAt: x.ExpiresAt.UTC(), Current: x.ID == p.SessionID})
		}
		encode(w, http.StatusOK, out)
	})
}

func (s *server) handleRevokeSession() http.Handler {
	return noContentHandler(s, func(r *http.Request) error {
		id, err := pathParam(r, "id")
		if err != nil {
			return err
		}
		return s.svc.RevokeSession(r.Context(), principal(r), id, s.meta(r))
	})
}

func (s *server) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.svc.JWKS())
	})
}

// introspectRequest is RFC 7662's form: token (and an ignored token_type_hint). JSON bodies are
// accepted too.
type introspectResponse struct {
	Active    bool   `json:"active"`
	Sub       string `json:"sub,omitempty"`
	Sid       string `json:"sid,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
}

func (s *server) handleIntrospect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || !s.checkClient(id, secret) || len(r.Header.Values("Authorization")) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="wxlogin introspection"`)
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "introspection needs a service's client credentials (HTTP Basic)"))
			return
		}
		tok, err := introspectToken(w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		res, err := s.svc.Introspect(r.Context(), tok)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		noStore(w)
		out := introspectResponse{Active: res.Active}
		if res.Active {
			out = introspectResponse{Active: true, Sub: res.UserID, Sid: res.SessionID, Aud: res.Audience, Iss: s.cfg.Issuer,
				Exp: res.ExpiresAt.Unix(), Iat: res.IssuedAt.Unix(), TokenType: "Bearer", ClientID: res.Audience}
		}
		encode(w, http.StatusOK, out)
	})
}

type introspectJSON struct {
	Token         string `json:"token"`
	TokenTypeHint string `json:"token_type_hint"`
}

// introspectToken reads the token of an introspection request: RFC 7662's form encoding, or JSON.
func introspectToken(w http.ResponseWriter, r *http.Request, max int64) (string, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, max)
		if err := r.ParseForm(); err != nil {
			return "", wxlogin.Errorf(wxlogin.EINVALID, "the form body could not be read")
		}
		tok := r.PostForm.Get("token")
		if tok == "" {
			return "", wxlogin.Errorf(wxlogin.EINVALID, "token is required")
		}
		return tok, nil
	}
	req, err := decode[introspectJSON](w, r, max)
	if err != nil {
		return "", err
	}
	if req.Token == "" {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "token is required")
	}
	return req.Token, nil
}

func (s *server) handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
