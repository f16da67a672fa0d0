package http

import (
	"context"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// Account deletion: DELETE /v1/me (the user, with a fresh wx.login code or the password) and
// DELETE /admin/v1/users/{id} (an operator, at once). See auth/deletion.go.

// Deletions is the service's side of these routes; *auth.Service implements it.
type Deletions interface {
	DeleteMe(ctx context.Context, p *auth.Principal, proof auth.DeletionProof, meta auth.Meta) (*auth.Deletion, error)
	DeleteUser(ctx context.Context, a auth.Admin, id string) error
}

type deleteMeRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

// Valid checks that exactly one proof is given.
func (q deleteMeRequest) Valid() error {
	if (q.Code == "") == (q.Password == "") {
		return wxlogin.Errorf(wxlogin.EINVALID, "give either code (a fresh wx.login code) or password")
	}
	if len(q.Code) > 128 || len(q.Password) > 1024 {
		return wxlogin.Errorf(wxlogin.EINVALID, "code or password too long")
	}
	return nil
}

type deleteMeResponse struct {
	Deleted  bool      `json:"deleted"`
	DeleteAt time.Time `json:"delete_at"`
}

// handleDeleteMe: DELETE /v1/me {code} or {password}
func (s *server) handleDeleteMe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[deleteMeRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		d, err := s.svc.DeleteMe(r.Context(), principal(r), auth.DeletionProof{Code: in.Code, Password: in.Password}, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, deleteMeResponse{Deleted: d.Deleted, DeleteAt: d.DeleteAt.UTC()})
	})
}

// handleAdminDeleteUser: DELETE /admin/v1/users/{id}
func (s *server) handleAdminDeleteUser() http.Handler {
	return noContentHandler(s, func(r *http.Request) error {
		return s.svc.DeleteUser(r.Context(), adminFrom(r), r.PathValue("id"))
	})
}
