package http

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// QRLogins is the website's login by a scanned mini-program code (see auth.QRDoor): the website
// starts a request and polls it; the mini program scans, confirms or denies it.
type QRLogins interface {
	StartQRLogin(ctx context.Context, appid string, meta auth.Meta) (*auth.QRStart, error)
	PollQRLogin(ctx context.Context, id, pollToken, since string, meta auth.Meta) (*auth.QRPoll, error)
	ScanQRLogin(ctx context.Context, p *auth.Principal, scene string, meta auth.Meta) (*auth.QRRequester, error)
	ConfirmQRLogin(ctx context.Context, p *auth.Principal, scene string, meta auth.Meta) error
	DenyQRLogin(ctx context.Context, p *auth.Principal, scene string, meta auth.Meta) error
}

// limitQR counts a QR login create or poll against the per-address QR limit.
func (s *server) limitQR(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.limits.check(r.Context(), "qr_ip", s.limits.limits.QRLoginIP, limitKeyIP(s.clientIP(r)), "too many QR login requests from this address"); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type qrStartRequest struct {
	AppID string `json:"appid"`
}

type qrStartResponse struct {
	ID        string `json:"id"`
	Image     string `json:"image"` // a data: URL
	ExpiresIn int64  `json:"expires_in"`
	PollToken string `json:"poll_token"`
}

func (s *server) handleQRStart() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[qrStartRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.svc.StartQRLogin(r.Context(), req.AppID, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		noStore(w)
		encode(w, http.StatusCreated, qrStartResponse{ID: st.ID, ExpiresIn: int64(st.ExpiresIn / time.Second), PollToken: st.PollToken.Reveal(),
			Image: "data:" + st.ContentType + ";base64," + base64.StdEncoding.EncodeToString(st.Image)})
	})
}

type qrPollRequest struct {
	PollToken string `json:"poll_token"`
	// Since is the status the page last saw: the poll waits while the status is still this one
	// (default pending).
	Since string `json:"since"`
}

func (r *qrPollRequest) Valid() error {
	if r.PollToken == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "poll_token is required")
	}
	switch r.Since {
	case "", wxlogin.QRPending, wxlogin.QRScanned:
		return nil
	}
	return wxlogin.Errorf(wxlogin.EINVALID, "since must be pending or scanned")
}

type qrPollResponse struct {
	Status string         `json:"status"`
	Login  *tokenResponse `json:"login,omitempty"`
}

func (s *server) handleQRPoll() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := pathParam(r, "id")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		req, err := decode[qrPollRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		res, err := s.svc.PollQRLogin(r.Context(), id, req.PollToken, req.Since, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		noStore(w)
		out := qrPollResponse{Status: res.Status}
		if res.Login != nil {
			t := s.tokenResponse(res.Login)
			out.Login = &t
		}
		encode(w, http.StatusOK, out)
	})
}

// tokenResponse returns the login state of l; tokens are revealed here and in writeLogin only.
func (s *server) tokenResponse(l *auth.Login) tokenResponse {
	expiresIn := int64(l.ExpiresAt.Sub(s.cfg.Now()).Seconds())
	if expiresIn < 0 {
		expiresIn = 0
	}
	user := newUserJSON(l.User)
	user.Username = l.Username
	return tokenResponse{AccessToken: l.AccessToken.Reveal(), TokenType: "Bearer", ExpiresIn: expiresIn,
		RefreshToken: l.RefreshToken.Reveal(), SessionID: l.Session.ID, User: user, NewUser: l.NewUser}
}

type qrSceneRequest struct {
	Scene string `json:"scene"`
}

func (r *qrSceneRequest) Valid() error {
	if r.Scene == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "scene is required: decodeURIComponent(options.scene) of the page the code opened")
	}
	return nil
}

type qrRequesterJSON struct {
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
}

type qrScanResponse struct {
	Status    string          `json:"status"`
	Requester qrRequesterJSON `json:"requester"`
}

func (s *server) handleQRScan() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[qrSceneRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		who, err := s.svc.ScanQRLogin(r.Context(), principal(r), req.Scene, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, qrScanResponse{Status: wxlogin.QRScanned,
			Requester: qrRequesterJSON{IP: who.IP, UserAgent: who.UserAgent, CreatedAt: who.CreatedAt.UTC()}})
	})
}

// handleQRDecide answers 204 once decide (ConfirmQRLogin or DenyQRLogin) succeeded.
func (s *server) handleQRDecide(decide func(ctx context.Context, p *auth.Principal, scene string, meta auth.Meta) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[qrSceneRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := decide(r.Context(), principal(r), req.Scene, s.meta(r)); err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *server) handleQRConfirm() http.Handler { return s.handleQRDecide(s.svc.ConfirmQRLogin) }
func (s *server) handleQRDeny() http.Handler    { return s.handleQRDecide(s.svc.DenyQRLogin) }
