package http

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

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
	avatarService
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

// avatarService is the avatar side of Signups.
type avatarService interface {
	SetAvatar(ctx context.Context, p *auth.Principal, data []byte, baseURL string, meta auth.Meta) (*auth.Profile, error)
	Avatar(ctx context.Context, id string) (*wxlogin.Avatar, error)
	AvatarMaxBytes() int64
}

// avatarBase returns the base URL of avatar links: the configured one, else this request's
// scheme and host.
func (s *server) avatarBase(r *http.Request) string {
	if s.cfg.AvatarBaseURL != "" {
		return s.cfg.AvatarBaseURL
	}
	scheme := "https"
	if r.TLS == nil && !(s.cfg.TrustProxyHeaders && r.Header.Get("X-Forwarded-Proto") == "https") {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// handleSetAvatar: POST /v1/me/avatar, multipart/form-data with the image in the field "file"
// (wx.uploadFile's name), at most the configured size.
func (s *server) handleSetAvatar() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		max := s.svc.AvatarMaxBytes()
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "Content-Type must be multipart/form-data (wx.uploadFile) with the image in the field \"file\""))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max+avatarFraming)
		mr, err := r.MultipartReader()
		if err != nil {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "the multipart body is malformed"))
			return
		}
		var data []byte
		for parts := 0; data == nil; parts++ {
			part, err := mr.NextPart()
			if err == io.EOF || parts >= 8 {
				s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "the image is missing: send it in the field \"file\""))
				return
			} else if err != nil {
				s.writeError(w, r, avatarReadError(err, max))
				return
			}
			if part.FormName() != "file" {
				continue
			}
			if data, err = io.ReadAll(io.LimitReader(part, max+1)); err != nil {
				s.writeError(w, r, avatarReadError(err, max))
				return
			}
			if int64(len(data)) > max {
				s.writeError(w, r, wxlogin.Errorf(wxlogin.ETOOLARGE, "the avatar is larger than %d bytes", max))
				return
			}
		}
		p, err := s.svc.SetAvatar(r.Context(), principal(r), data, s.avatarBase(r), s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, newProfileJSON(p))
	})
}

// avatarReadError returns the error of a failed multipart read: ETOOLARGE past the limit, else
// EINVALID.
func avatarReadError(err error, max int64) error {
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return wxlogin.Errorf(wxlogin.ETOOLARGE, "the avatar is larger than %d bytes", max)
	}
	return wxlogin.Errorf(wxlogin.EINVALID, "the multipart body is malformed")
}

// handleAvatar: GET /v1/avatars/{id}, public. An id names fixed bytes, so the answer may be cached
// for ever; nosniff and a sandboxing CSP keep a browser from taking it for anything but an image.
func (s *server) handleAvatar() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.svc.Avatar(r.Context(), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		etag := `"` + strings.TrimSuffix(strings.TrimSuffix(a.ID, ".png"), ".jpg") + `"`
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", etag)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", a.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(a.Data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(a.Data)
	})
}
