package auth

import (
	"github.com/wxlogin/wxlogin"
)

// The audit trail. Every event records its type, time, actor (a user id, "admin:<name>", or ""
// for an anonymous caller), subject (UserID), app, IP, user agent and session where there is one;
// Detail is a JSON object of non-secret facts (reason codes, counts, other user ids, openids).
// Event types:
//
//	login.success, login.failure      every login method; failures carry method and a reason code
//	                                  (disabled, unknown_user, wrong_password, locked, locked_now,
//	                                  malformed, unknown_phone, or a WeChat error code)
//	refresh.reuse                     a spent refresh token came back; its session is revoked
//	logout, logout.all, session.revoke
//	account.create, identity.bind, identity.unbind, profile.wechat, unionid.paid
//	phone.verify, phone.conflict
//	user.merge, merge.conflict, merge.refused, unionid.mismatch
//	user.disable, user.enable, session.revoke_all    (an admin's actions carry actor admin:<name>)
//	admin.users.search, admin.user.read, admin.audit.read    an admin's reads

// msgDisabled is what a disabled user's login attempts answer (EFORBIDDEN).
const msgDisabled = "this user is disabled and cannot log in; contact the app's support"

// origin is where a change comes from, for its audit events: the actor ("" while a login has not
// found its user yet), app, IP and user agent, and session. A login's session does not exist until
// the login commits: its id is chosen in advance (newSession) and written on the events stored in
// the same transaction, but left off the events audited after a rollback (final errors).
type origin struct {
	actor      string
	appID      string
	sessionID  string
	newSession bool
	meta       Meta
	door       string    // the login door, for the sign-up rules ("" : none named)
	admission  admission // what the door may create (signup.go); zero: open, no risk check
}

// loginOrigin returns the origin of a login at appid ("" for none), with its session id chosen.
func loginOrigin(appid string, meta Meta) origin {
	return origin{appID: appid, sessionID: wxlogin.NewID("ses"), newSession: true, meta: meta}
}

// principalOrigin returns the origin of a request made with p's access token.
func principalOrigin(p *Principal, meta Meta) origin {
	return origin{actor: p.UserID, appID: p.AppID, sessionID: p.SessionID, meta: meta}
}

// event returns an audit event of type typ about userID, to be stored in the transaction that
// makes the change (its Time is set by the caller).
func (o origin) event(typ, userID, detail string) *wxlogin.AuditEvent {
	return &wxlogin.AuditEvent{Type: typ, ActorID: o.actor, UserID: userID, AppID: o.appID, SessionID: o.sessionID,
		IP: o.meta.IP, UserAgent: o.meta.UserAgent, Detail: detail}
}

// finalEvent returns the audit event of a final error, stored after its transaction rolled back:
// a login's session, rolled back too, is left off.
func (o origin) finalEvent(typ, userID, detail string) *wxlogin.AuditEvent {
	e := o.event(typ, userID, detail)
	if o.newSession {
		e.SessionID = ""
	}
	return e
}

// disabledLogin returns the final EFORBIDDEN of a login by a disabled user, audited as
// login.failure with reason "disabled".
func disabledLogin(user *wxlogin.User, method string, o origin) error {
	return &final{err: wxlogin.Errorf(wxlogin.EFORBIDDEN, "%s", msgDisabled),
		event: o.finalEvent("login.failure", user.ID, detail("method", method, "reason", "disabled"))}
}

// at returns o at appid: the app a request acts on, which may differ from its session's app.
func (o origin) at(appid string) origin {
	o.appID = appid
	return o
}
