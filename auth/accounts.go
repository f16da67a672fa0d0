package auth

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
)

// Username and password rules (stated in the README and the OpenAPI document):
//   - a username is 3 to 32 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit;
//     it is case-insensitive (stored lowercase);
//   - a password is 8 to 128 characters (valid UTF-8, no NUL) and differs from the username.
const (
	minUsername = 3
	maxUsername = 32
	minPassword = 8
	maxPassword = 128
)

// UsernameKey returns what identifies the account of username whatever its case: the key of the
// limits that count per account.
func UsernameKey(username string) string { return strings.ToLower(username) }

// normalizeUsername returns the lowercase username, or EINVALID when it breaks the rules.
func normalizeUsername(u string) (string, error) {
	if !wxlogin.ValidUsername(u) { // before case mapping: "\u212aevin" must not become "kevin"
		return "", wxlogin.Errorf(wxlogin.EINVALID, "username may hold only a-z, 0-9, '_', '.', '-', and must start with a letter or digit")
	}
	u = UsernameKey(u)
	if len(u) < minUsername || len(u) > maxUsername {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "username must be %d to %d characters", minUsername, maxUsername)
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '.' || c == '-'))
		if !ok {
			return "", wxlogin.Errorf(wxlogin.EINVALID, "username may hold only a-z, 0-9, '_', '.', '-', and must start with a letter or digit")
		}
	}
	return u, nil
}

// validatePassword returns EINVALID when password breaks the rules.
func validatePassword(username, password string) error {
	n := utf8.RuneCountInString(password)
	if !utf8.ValidString(password) || strings.ContainsRune(password, 0) || n < minPassword || n > maxPassword {
		return wxlogin.Errorf(wxlogin.EINVALID, "password must be %d to %d characters of valid UTF-8", minPassword, maxPassword)
	}
	if strings.EqualFold(password, username) {
		return wxlogin.Errorf(wxlogin.EINVALID, "password must differ from the username")
	}
	return nil
}

// LockoutPolicy limits password guessing. After MaxFailures consecutive failures an account is
// locked for LockFor; while locked, every attempt (even with the right password) answers
// invalid_credentials, exactly as a wrong password does. An IP with more than IPMaxFailures
// failures within IPWindow gets rate_limited until the window passes.
type LockoutPolicy struct {
	MaxFailures   int
	LockFor       time.Duration
	IPMaxFailures int
	IPWindow      time.Duration
}

// DefaultLockout: 5 failures lock an account for 15 minutes; 30 failures in 15 minutes block an IP.
var DefaultLockout = LockoutPolicy{MaxFailures: 5, LockFor: 15 * time.Minute, IPMaxFailures: 30, IPWindow: 15 * time.Minute}

// ipFailures counts failed password attempts per IP in fixed windows (in memory, per instance).
type ipFailures struct {
	mu      sync.Mutex
	windows map[string]*ipWindow
}

type ipWindow struct {
	start time.Time
	n     int
}

// reserve counts an attempt from ip as a failure before its password is checked (so a burst of
// concurrent guesses cannot all get through) and returns how long to wait when ip is over its limit.
// A successful attempt calls release to take its count back.
func (f *ipFailures) reserve(ip string, now time.Time, p LockoutPolicy) (release func(), wait time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.windows == nil {
		f.windows = map[string]*ipWindow{}
	}
	if len(f.windows) > 100_000 { // bound memory under a spray from many addresses
		for k, w := range f.windows {
			if now.Sub(w.start) >= p.IPWindow {
				delete(f.windows, k)
			}
		}
	}
	w := f.windows[ip]
	if w == nil || now.Sub(w.start) >= p.IPWindow {
		w = &ipWindow{start: now}
		f.windows[ip] = w
	}
	if w.n >= p.IPMaxFailures {
		return nil, w.start.Add(p.IPWindow).Sub(now)
	}
	w.n++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if w.n > 0 {
			w.n--
		}
	}, 0
}

var errCredentials = wxlogin.Errorf(wxlogin.ECREDENTIALS, "wrong username or password")

// checkPassword returns the account of username when password is right and the account is not
// locked. Each attempt is counted against the IP and the account before the hash is checked, so
// concurrent guesses cannot outrun the limits; a success takes the counts back.
// Errors: ECREDENTIALS (unknown user, wrong password, locked: all alike), ERATELIMITED (this IP
// failed too often).
func (ac *Accounts) checkPassword(ctx context.Context, username, password string, meta Meta) (*wxlogin.Account, error) {
	now := ac.now()
	releaseIP, wait := ac.ipFails.reserve(meta.IP, now, ac.lockout)
	if wait > 0 {
		return nil, &wxlogin.Error{Code: wxlogin.ERATELIMITED, Message: "too many failed sign-ins from this address", RetryAfter: wait}
	}
	fail := func(userID, reason string) (*wxlogin.Account, error) {
		ac.audit(ctx, &wxlogin.AuditEvent{Type: "login.failure", UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", "password", "reason", reason)})
		return nil, errCredentials
	}
	name, err := normalizeUsername(username)
	if err != nil || len(password) > 4*maxPassword {
		return fail("", "malformed")
	}
	var (
		acct       *wxlogin.Account
		locked     bool
		lockedByMe bool
	)
	err = ac.store.Update(ctx, func(tx wxlogin.Tx) error {
		acct, locked, lockedByMe = nil, false, false
		a, err := tx.Account(ctx, name)
		if err != nil {
			return err
		}
		acct = a
		if locked = now.Before(a.LockedUntil); locked {
			return nil
		}
		a.FailedAttempts++
		if a.FailedAttempts >= ac.lockout.MaxFailures {
			a.FailedAttempts, a.LockedUntil, lockedByMe = 0, now.Add(ac.lockout.LockFor), true
		}
		a.UpdatedAt = now
		return tx.UpdateAccount(ctx, a)
	})
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		ac.hashLimit <- struct{}{}
		checkPasswordHash(password, ac.dummyHash)
		<-ac.hashLimit
		return fail("", "unknown_user")
	} else if err != nil {
		return nil, err
	}
	if locked {
		ac.hashLimit <- struct{}{}
		checkPasswordHash(password, ac.dummyHash) // a locked account takes as long as any other
		<-ac.hashLimit
		return fail(acct.UserID, "locked")
	}
	ac.hashLimit <- struct{}{}
	ok := checkPasswordHash(password, acct.PasswordHash)
	<-ac.hashLimit
	if !ok {
		reason := "wrong_password"
		if lockedByMe {
			reason = "locked_now"
		}
		return fail(acct.UserID, reason)
	}
	releaseIP()
	err = ac.store.Update(ctx, func(tx wxlogin.Tx) error {
		a, err := tx.Account(ctx, name)
		if err != nil {
			return err
		}
		a.FailedAttempts, a.UpdatedAt = 0, ac.now()
		if lockedByMe {
			a.LockedUntil = time.Time{}
		}
		return tx.UpdateAccount(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	return acct, nil
}

// SignUp creates a user with a business account. Errors: EFORBIDDEN (sign-up is off), EINVALID
// (rules), ECONFLICT (username taken).
func (ac *Accounts) SignUp(ctx context.Context, username, password string, meta Meta) (*wxlogin.User, error) {
	if !ac.signup {
		return nil, wxlogin.Errorf(wxlogin.EFORBIDDEN, "sign-up is disabled on this server")
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return nil, err
	}
	if err := validatePassword(name, password); err != nil {
		return nil, err
	}
	ac.hashLimit <- struct{}{}
	hash := hashPassword(password, ac.argon)
	<-ac.hashLimit
	now := ac.now()
	user := &wxlogin.User{ID: wxlogin.NewID("usr"), CreatedAt: now, UpdatedAt: now}
	err = ac.store.Update(ctx, func(tx wxlogin.Tx) error {
		if _, err := tx.Account(ctx, name); err == nil {
			return conflictf("username %q is taken", name)
		} else if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			return err
		}
		if err := tx.CreateUser(ctx, user); err != nil {
			return err
		}
		if err := tx.CreateAccount(ctx, &wxlogin.Account{UserID: user.ID, Username: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "account.create", ActorID: user.ID, UserID: user.ID,
			IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("username", name)})
	})
	if err != nil {
		return nil, err
	}
	return user, nil
}

// LoginPassword logs a business account in. Errors: ECREDENTIALS, ERATELIMITED, EFORBIDDEN
// (disabled user), EINVALID (unknown appid).
func (ac *Accounts) LoginPassword(ctx context.Context, appid, username, password string, meta Meta) (*Login, error) {
	return ac.loginPassword(ctx, appid, username, password, "", meta)
}

// loginPassword logs a business account in and, with linkToken, binds the WeChat identity of that
// link token to it (LinkPassword).
func (ac *Accounts) loginPassword(ctx context.Context, appid, username, password, linkToken string, meta Meta) (*Login, error) {
	if linkToken != "" {
		lt, err := ac.peekLink(ctx, linkToken, appid)
		if err != nil {
			return nil, err
		}
		appid = lt.AppID // the session is the mini program's
	}
	if appid != "" {
		if _, err := ac.app(appid); err != nil {
			return nil, err
		}
	}
	acct, err := ac.checkPassword(ctx, username, password, meta)
	if err != nil {
		return nil, err
	}
	var login *Login
	o := loginOrigin(appid, meta)
	err = ac.update(ctx, func(tx wxlogin.Tx) error {
		user, err := tx.User(ctx, acct.UserID)
		if err != nil {
			return err
		}
		if user.Disabled {
			return disabledLogin(user, "password", o)
		}
		if linkToken != "" {
			lt, err := ac.takeLink(ctx, tx, linkToken, appid)
			if err != nil {
				return err
			}
			o.door = "password"
			if err := ac.bindLinked(ctx, tx, lt, user.ID, o); err != nil {
				return err
			}
		}
		if login, err = ac.startSession(ctx, tx, user, "password", o); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: ac.now(), Type: "login.success", ActorID: user.ID, UserID: user.ID,
			AppID: appid, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("method", "password")})
	})
	if err != nil {
		return nil, err
	}
	return ac.signAccess(login)
}

// SignupEnabled reports whether POST /v1/accounts is on.
func (ac *Accounts) SignupEnabled() bool { return ac.signup }
