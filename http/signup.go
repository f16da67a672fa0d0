package http

import (
	"context"
	"errors"
	"net/http"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// Signups are the service's side of who may sign up (issue 19): linking a refused WeChat login to
// an existing account, the phone door with sign-up and binding, operators creating users, and
// avatars.
type Signups interface {
	LinkPassword(ctx context.Context, appid, username, password, linkToken string, meta auth.Meta) (*auth.Login, error)
	LoginPhoneWith(ctx context.Context, in auth.PhoneLogin, meta auth.Meta) (*auth.Login, error)
	CreateUser(ctx context.Context, a auth.Admin, in auth.NewUser) (*auth.UserSummary, error)
}

// addLinkToken adds the link token of a no_account answer to its error body (it is a token: the
// answer is not stored by caches).
func (s *server) addLinkToken(w http.ResponseWriter, err error, d *errorDetail) {
	var na *auth.NoAccountError
	if !errors.As(err, &na) {
		return
	}
	noStore(w)
	d.LinkToken = na.LinkToken.Reveal()
	if d.LinkExpiresIn = int64(na.ExpiresAt.Sub(s.cfg.Now()).Seconds()); d.LinkExpiresIn < 1 {
		d.LinkExpiresIn = 1
	}
}

type adminCreateUserRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	CountryCode string `json:"country_code"`
	Phone       string `json:"phone"`
	Nickname    string `json:"nickname"`
}

func (r *adminCreateUserRequest) Valid() error {
	if r.Username == "" && r.Phone == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "username (with password), phone, or both are required")
	}
	if (r.Username == "") != (r.Password == "") {
		return wxlogin.Errorf(wxlogin.EINVALID, "username and password go together")
	}
	return nil
}

// handleAdminCreateUser: POST /admin/v1/users {username?, password?, country_code?, phone?, nickname?}
func (s *server) handleAdminCreateUser() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[adminCreateUserRequest](w, r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		u, err := s.svc.CreateUser(r.Context(), adminFrom(r), auth.NewUser{Username: req.Username, Password: req.Password,
			CountryCode: req.CountryCode, Phone: req.Phone, Nickname: req.Nickname})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, newAdminUserJSON(u.User, u.Username))
	})
}
