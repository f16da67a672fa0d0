package http

import (
	"context"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// User lookup for business services: GET /v1/users/{id}, GET /v1/users?appid=&openid=, GET
// /v1/users?unionid=. Callers are introspection clients (HTTP Basic) listed in
// Config.LookupClients; each client's lookups are rate-limited (Config.LookupRate) and audited.

// Lookups is the service's side of these routes; *auth.Service implements it.
type Lookups interface {
	LookupUsers(ctx context.Context, client string, q auth.LookupQuery, meta auth.Meta) ([]*auth.LookedUp, error)
}

type lookupIdentityJSON struct {
	AppID   string `json:"appid"`
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid"`
}

type lookupUserJSON struct {
	ID               string               `json:"id"`
	UnionID          string               `json:"unionid"`
	Phone            string               `json:"phone"`
	PhoneCountryCode string               `json:"phone_country_code"`
	Nickname         string               `json:"nickname"`
	Disabled         bool                 `json:"disabled"`
	CreatedAt        time.Time            `json:"created_at"`
	OpenIDs          map[string]string    `json:"openids"`
	Identities       []lookupIdentityJSON `json:"identities"`
}

type lookupResponse struct {
	Users []lookupUserJSON `json:"users"`
}

func newLookupUserJSON(l *auth.LookedUp) lookupUserJSON {
	u := l.User
	out := lookupUserJSON{ID: u.ID, UnionID: u.UnionID, Phone: u.Phone, PhoneCountryCode: u.PhoneCountryCode, Nickname: u.Nickname,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), OpenIDs: map[string]string{}, Identities: []lookupIdentityJSON{}}
	for _, i := range l.Identities {
		out.OpenIDs[i.AppID] = i.OpenID
		out.Identities = append(out.Identities, lookupIdentityJSON{AppID: i.AppID, OpenID: i.OpenID, UnionID: i.UnionID})
	}
	return out
}

// lookupClient authenticates a lookup's service client and counts it against its rate limit.
func (s *server) lookupClient(next func(w http.ResponseWriter, r *http.Request, client string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		id, secret, ok := r.BasicAuth()
		if !ok || !s.checkClient(id, secret) || len(r.Header.Values("Authorization")) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="wxlogin lookup"`)
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EUNAUTHORIZED, "user lookup needs a service's client credentials (HTTP Basic)"))
			return
		}
		if !s.cfg.LookupClients[id] {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.EFORBIDDEN, "this client may not look users up"))
			return
		}
		if err := s.limits.check(r.Context(), "lookup_client", s.cfg.LookupRate, hashKey("lookup", id), "too many user lookups by this client"); err != nil {
			s.writeError(w, r, err)
			return
		}
		next(w, r, id)
	})
}

// handleLookupUser: GET /v1/users/{id}
func (s *server) handleLookupUser() http.Handler {
	return s.lookupClient(func(w http.ResponseWriter, r *http.Request, client string) {
		found, err := s.svc.LookupUsers(r.Context(), client, auth.LookupQuery{ID: r.PathValue("id")}, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(found) == 0 {
			s.writeError(w, r, wxlogin.Errorf(wxlogin.ENOTFOUND, "user not found"))
			return
		}
		encode(w, http.StatusOK, newLookupUserJSON(found[0]))
	})
}

// handleLookupUsers: GET /v1/users?appid=&openid= or ?unionid=
func (s *server) handleLookupUsers() http.Handler {
	return s.lookupClient(func(w http.ResponseWriter, r *http.Request, client string) {
		q, err := queryParams(r, "appid", "openid", "unionid")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		found, err := s.svc.LookupUsers(r.Context(), client, auth.LookupQuery{AppID: q["appid"], OpenID: q["openid"], UnionID: q["unionid"]}, s.meta(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := lookupResponse{Users: make([]lookupUserJSON, 0, len(found))}
		for _, l := range found {
			out.Users = append(out.Users, newLookupUserJSON(l))
		}
		encode(w, http.StatusOK, out)
	})
}
