package auth

import (
	"context"
	"strconv"

	"github.com/wxlogin/wxlogin"
)

// Lookup is what business services read of a user (GET /v1/users): the user, their openid per
// app (what WeChat Pay's payer.openid needs), the unionid and the verified phone. Every lookup is
// audited (lookup.users, actor "service:<client id>", with the names of the fields searched).
type Lookup struct{ *core }

// LookupQuery selects users: by ID, by (AppID, OpenID), or by UnionID — exactly one of them.
type LookupQuery struct {
	ID      string
	AppID   string
	OpenID  string
	UnionID string
}

// LookedUp is one user found, with their identities (session_keys left out).
type LookedUp struct {
	User       *wxlogin.User
	Identities []*wxlogin.Identity
}

// LookupUsers returns the users q selects (empty when none) for the service client. Errors:
// EINVALID (not exactly one of id, appid+openid, unionid).
func (l *Lookup) LookupUsers(ctx context.Context, client string, q LookupQuery, meta Meta) ([]*LookedUp, error) {
	n := 0
	for _, set := range []bool{q.ID != "", q.AppID != "" || q.OpenID != "", q.UnionID != ""} {
		if set {
			n++
		}
	}
	if n != 1 || (q.AppID == "") != (q.OpenID == "") {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "look up by id, by appid and openid, or by unionid")
	}
	users, err := l.store.Users(ctx, wxlogin.UserFilter{ID: q.ID, AppID: q.AppID, OpenID: q.OpenID, UnionID: q.UnionID, Limit: 10})
	if err != nil {
		return nil, err
	}
	out := make([]*LookedUp, 0, len(users))
	for _, u := range users {
		ids, err := l.store.IdentitiesByUser(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		for _, i := range ids {
			i.SessionKey = nil
		}
		out = append(out, &LookedUp{User: u, Identities: ids})
	}
	fields := filterFields(wxlogin.UserFilter{ID: q.ID, AppID: q.AppID, OpenID: q.OpenID, UnionID: q.UnionID})
	subject := ""
	if len(out) == 1 {
		subject = out[0].User.ID
	}
	l.audit(ctx, &wxlogin.AuditEvent{Time: l.now(), Type: "lookup.users", ActorID: "service:" + client, UserID: subject,
		IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("fields", fields, "results", strconv.Itoa(len(out)))})
	return out, nil
}
