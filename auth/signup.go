package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechat"
)

// Who may sign up. Every door that may create a user ends in the core's find-or-create step
// (upsertIdentity, or createUser for a phone-first sign-up with no WeChat identity); that step
// asks the sign-up policy of its app and door before it creates anyone:
//   - open (the default): an unknown person gets a new user, as always;
//   - existing_only: nobody is created. An unknown WeChat user's login answers ENOACCOUNT with a
//     link token (single use, LinkTokenTTL) that POST /v1/login/password or POST /v1/login/phone
//     consume to bind that WeChat identity to an existing user; operators create the users
//     (Administration.CreateUser).
//
// With a risk limit (Config.SignupRiskMax), a door asks WeChat's getuserriskrank before it lets
// an unknown WeChat user be created (admit, before the transaction: no WeChat call runs inside
// one) and refuses ranks above the limit. Refusals are audited as signup.refused.

// SignupPolicy says whether a door may create a user for a person it does not know.
type SignupPolicy string

// The sign-up policies.
const (
	SignupOpen         SignupPolicy = "open"
	SignupExistingOnly SignupPolicy = "existing_only"
)

// The doors the sign-up rules name.
const (
	DoorWeChat   = "wechat"   // a wx.login code (POST /v1/login/wechat)
	DoorCloudRun = "cloudrun" // WeChat Cloud Run's headers
	DoorPhone    = "phone"    // a getPhoneNumber code (POST /v1/login/phone)
)

// LinkTokenTTL is how long a link token of a refused sign-up may be used.
const LinkTokenTTL = 10 * time.Minute

// SignupRules are the sign-up policies: Default, unless an override names the app and door
// ("appid/door"), the app ("appid") or the door at every app ("*/door"), in that order.
type SignupRules struct {
	Default   SignupPolicy // "" means open
	Overrides map[string]SignupPolicy
}

// For returns the policy of door at appid (door "" for a door the rules do not name: the app's
// policy, else the default).
func (r SignupRules) For(appid, door string) SignupPolicy {
	keys := []string{appid}
	if door != "" {
		keys = []string{appid + "/" + door, appid, "*/" + door}
	}
	for _, k := range keys {
		if p, ok := r.Overrides[k]; ok {
			return p
		}
	}
	if r.Default == "" {
		return SignupOpen
	}
	return r.Default
}

// validPolicy reports whether p is a policy this package knows.
func validPolicy(p SignupPolicy) bool { return p == SignupOpen || p == SignupExistingOnly }

// check returns an error naming the first policy or override key that cannot work.
func (r SignupRules) check() error {
	if r.Default != "" && !validPolicy(r.Default) {
		return fmt.Errorf("auth: sign-up policy %q: want open or existing_only", r.Default)
	}
	for k, p := range r.Overrides {
		if !validPolicy(p) {
			return fmt.Errorf("auth: sign-up policy %q of %q: want open or existing_only", p, k)
		}
		app, door, hasDoor := strings.Cut(k, "/")
		if app == "" || (hasDoor && door != DoorWeChat && door != DoorCloudRun && door != DoorPhone) || (!hasDoor && app == "*") {
			return fmt.Errorf("auth: sign-up override %q: want appid, appid/door or */door (doors: wechat, cloudrun, phone)", k)
		}
	}
	return nil
}

// ParseSignupRules parses a default policy and overrides "key=policy,…" (keys as in SignupRules).
// Errors name the entry at fault.
func ParseSignupRules(def, overrides string) (SignupRules, error) {
	r := SignupRules{Default: SignupPolicy(strings.TrimSpace(def)), Overrides: map[string]SignupPolicy{}}
	for _, item := range strings.Split(overrides, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, p, ok := strings.Cut(item, "=")
		if !ok {
			return SignupRules{}, fmt.Errorf("sign-up override %q: want key=open or key=existing_only", item)
		}
		r.Overrides[strings.TrimSpace(k)] = SignupPolicy(strings.TrimSpace(p))
	}
	if err := r.check(); err != nil {
		return SignupRules{}, errors.New(strings.TrimPrefix(err.Error(), "auth: "))
	}
	return r, nil
}

// RiskRanker is the WeChat call of the sign-up risk check; *wechat.Client implements it. An app's
// WeChat client must implement it when Config.SignupRiskMax is set.
type RiskRanker interface {
	GetUserRiskRank(ctx context.Context, req wechat.RiskRankRequest) (int, error)
}

// signupRules are the core's sign-up settings.
type signupRules struct {
	rules       SignupRules
	phoneSignup bool
	riskMax     int // < 0: no risk check
}

// newSignupRules returns the sign-up settings of cfg; errors name what cannot work.
func newSignupRules(cfg Config) (signupRules, error) {
	s := signupRules{rules: cfg.SignupPolicy, phoneSignup: cfg.PhoneSignup, riskMax: -1}
	if err := s.rules.check(); err != nil {
		return s, err
	}
	if cfg.SignupRiskMax != nil {
		if *cfg.SignupRiskMax < 0 || *cfg.SignupRiskMax > 4 {
			return s, errors.New("auth: SignupRiskMax must be between 0 and 4")
		}
		s.riskMax = *cfg.SignupRiskMax
		for _, a := range cfg.Apps {
			if _, ok := a.WeChat.(RiskRanker); !ok {
				return s, errors.New("auth: app " + a.App.ID + "'s WeChat client cannot check risk ranks (SignupRiskMax)")
			}
		}
	}
	return s, nil
}

// admission is what a login may do when it finds nobody: create a user or not, and why not.
// A zero admission is the open policy without a risk check.
type admission struct {
	refuse     string // "" (may create), "existing_only", "risk", "no_openid", "phone_signup_off"
	rank       int    // the risk rank WeChat gave, when checked
	riskUnseen bool   // a risk check was due but skipped (the person was known): creating must wait
}

// admit returns the admission of an unknown person at app's door, asked before the transaction:
// the policy, then (with a risk limit) WeChat's risk rank of openid, unless the identity or the
// unionid is already known (no user would be created). Errors: those of the risk call
// (wechatError).
//
// known says the caller already knows the person exists (a phone number's holder): no risk call.
func (c *core) admit(ctx context.Context, app AppClient, door, openid, unionid string, known bool, meta Meta) (admission, error) {
	if c.signup.rules.For(app.App.ID, door) == SignupExistingOnly {
		return admission{refuse: string(SignupExistingOnly)}, nil
	}
	if door == DoorPhone && !c.signup.phoneSignup {
		return admission{refuse: "phone_signup_off"}, nil
	}
	if c.signup.riskMax < 0 {
		return admission{}, nil
	}
	if known {
		return admission{riskUnseen: true}, nil
	}
	if openid == "" {
		return admission{refuse: "no_openid"}, nil
	}
	if known, err := c.knownPerson(ctx, app.App.ID, openid, unionid); err != nil {
		return admission{}, err
	} else if known {
		return admission{riskUnseen: true}, nil
	}
	rank, err := app.WeChat.(RiskRanker).GetUserRiskRank(ctx, wechat.RiskRankRequest{OpenID: openid, Scene: wechat.RiskSceneRegister, ClientIP: meta.IP})
	if err != nil {
		return admission{}, wechatError(callRiskRank, err)
	}
	if rank > c.signup.riskMax {
		return admission{refuse: "risk", rank: rank}, nil
	}
	return admission{rank: rank}, nil
}

// knownPerson reports whether the identity (appid, openid) or a user of unionid exists.
func (c *core) knownPerson(ctx context.Context, appid, openid, unionid string) (bool, error) {
	_, err := c.store.Identity(ctx, appid, openid)
	if err == nil {
		return true, nil
	} else if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		return false, err
	}
	if unionid == "" {
		return false, nil
	}
	_, err = c.store.UserByUnionID(ctx, unionid)
	if err == nil {
		return true, nil
	} else if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		return false, err
	}
	return false, nil
}

// linkMaterial is the WeChat identity a refused sign-up leaves in its link token.
type linkMaterial struct {
	appID, openID, unionID string
	sessionKey             []byte // sealed; nil when the door gave none
}

// createUser creates u in tx when o's admission allows it, the one place where a login creates a
// user. A refusal is final: existing_only answers ENOACCOUNT, with a link token for link when
// there is an identity to link (stored once the transaction has rolled back, see update); a risk
// rank over the limit answers EFORBIDDEN; every refusal is audited as signup.refused.
// Errors: those, ECONFLICT (a due risk check was skipped: try again), the store's.
func (c *core) createUser(ctx context.Context, tx wxlogin.Tx, u *wxlogin.User, link *linkMaterial, o origin) error {
	adm := o.admission
	if adm.riskUnseen && adm.refuse == "" {
		return conflictf("the person changed while signing up: try again")
	}
	switch adm.refuse {
	case "":
		return tx.CreateUser(ctx, u)
	case string(SignupExistingOnly):
		ev := o.finalEvent("signup.refused", "", detail("reason", adm.refuse, "door", o.door))
		if link == nil || link.openID == "" { // a phone login of an unknown number: as before
			return &final{err: wxlogin.Errorf(wxlogin.ECREDENTIALS, "no user has verified this phone number"),
				event: o.finalEvent("login.failure", "", detail("method", "phone", "reason", "unknown_phone"))}
		}
		raw, hash := token.NewRefreshToken()
		now := c.now()
		lt := &wxlogin.LinkToken{Hash: hash, AppID: link.appID, OpenID: link.openID, UnionID: link.unionID,
			SessionKey: link.sessionKey, CreatedAt: now, ExpiresAt: now.Add(LinkTokenTTL)}
		return &final{err: wxlogin.Errorf(wxlogin.ENOACCOUNT, "%s", msgNoAccount), event: ev, link: lt,
			noAccount: &NoAccountError{LinkToken: raw, ExpiresAt: lt.ExpiresAt}}
	case "risk":
		return &final{err: wxlogin.Errorf(wxlogin.EFORBIDDEN, "sign-up refused: WeChat rates this user as too risky"),
			event: o.finalEvent("signup.refused", "", detail("reason", "risk", "door", o.door, "rank", strconv.Itoa(adm.rank)))}
	case "no_openid":
		return &final{err: wxlogin.Errorf(wxlogin.EINVALID, "signing up here needs the WeChat identity: send wx_code (a wx.login code) too"),
			event: o.finalEvent("signup.refused", "", detail("reason", adm.refuse, "door", o.door))}
	default: // phone_signup_off: the phone login of an unknown number, as before
		return &final{err: wxlogin.Errorf(wxlogin.ECREDENTIALS, "no user has verified this phone number"),
			event: o.finalEvent("login.failure", "", detail("method", "phone", "reason", "unknown_phone"))}
	}
}

const msgNoAccount = "this WeChat user has no account here: link it with link_token to an existing account (password or phone)"

// NoAccountError is the ENOACCOUNT answer of a login refused by the existing_only policy: it
// carries the link token that binds the WeChat identity to an existing account (single use, until
// ExpiresAt). Its Error never shows the token; only the HTTP answer does.
type NoAccountError struct {
	LinkToken wxlogin.Secret
	ExpiresAt time.Time
}

func (e *NoAccountError) Error() string {
	return "wxlogin: " + wxlogin.ENOACCOUNT + ": " + msgNoAccount
}

// Unwrap returns the *wxlogin.Error of the answer.
func (e *NoAccountError) Unwrap() error {
	return wxlogin.Errorf(wxlogin.ENOACCOUNT, "%s", msgNoAccount)
}

// storeLink stores f's link token after its transaction rolled back and returns the error to
// answer: the NoAccountError carrying the token, or the store's error.
func (c *core) storeLink(ctx context.Context, f *final) error {
	err := c.store.Update(ctx, func(tx wxlogin.Tx) error { return tx.CreateLinkToken(ctx, f.link) })
	if err != nil {
		return err
	}
	return f.noAccount
}

var errLinkToken = wxlogin.Errorf(wxlogin.EINVALID, "link_token is invalid, expired or already used: log in with WeChat again")

// takeLink consumes the link token raw in tx and returns it. appid, when not "", must be the
// token's app. Errors: EINVALID (unknown, expired, used, or of another app).
func (c *core) takeLink(ctx context.Context, tx wxlogin.Tx, raw, appid string) (*wxlogin.LinkToken, error) {
	if raw == "" || len(raw) > 128 {
		return nil, errLinkToken
	}
	hash := token.HashRefreshToken(raw)
	lt, err := tx.LinkToken(ctx, hash)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errLinkToken
	} else if err != nil {
		return nil, err
	}
	if !c.now().Before(lt.ExpiresAt) || (appid != "" && appid != lt.AppID) {
		return nil, errLinkToken
	}
	if err := tx.DeleteLinkToken(ctx, hash); err != nil {
		return nil, err
	}
	return lt, nil
}

// bindLinked binds the WeChat identity of lt to userID in tx (merging a bare holder, as a bind
// with credentials does) and audits identity.link. Errors: ECONFLICT (final), the store's.
func (c *core) bindLinked(ctx context.Context, tx wxlogin.Tx, lt *wxlogin.LinkToken, userID string, o origin) error {
	app, err := c.app(lt.AppID)
	if err != nil {
		return err
	}
	res, err := c.upsertIdentity(ctx, tx, app.App, lt.OpenID, lt.UnionID, lt.SessionKey, &wxlogin.Account{UserID: userID}, o.at(lt.AppID))
	if err != nil {
		return err
	}
	if res.user.ID != userID {
		return conflictf("this WeChat identity belongs to another user (by unionid)")
	}
	e := o.event("identity.link", userID, detail("openid", lt.OpenID, "door", o.door))
	e.AppID, e.ActorID, e.Time = lt.AppID, userID, c.now()
	return tx.AddAuditEvent(ctx, e)
}

// LinkPassword logs a business account in (as LoginPassword) and binds to it the WeChat identity
// of linkToken, the link token of a login the existing_only policy refused; the token is spent.
// The session is at the token's app. Errors: those of LoginPassword, EINVALID (bad link token),
// ECONFLICT (the identity is another user's, who is not bare).
func (ac *Accounts) LinkPassword(ctx context.Context, appid, username, password, linkToken string, meta Meta) (*Login, error) {
	if linkToken == "" {
		return nil, errLinkToken
	}
	return ac.loginPassword(ctx, appid, username, password, linkToken, meta)
}
