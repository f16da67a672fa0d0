package wxlogin

import (
	"context"
	"time"
)

// App is a mini program wxlogin serves. Platform names the WeChat Open Platform account it is bound
// to ("" when unbound); only bound apps receive a unionid from code2Session.
type App struct {
	ID       string
	Secret   Secret
	Platform string
}

// User is a person. A user may have WeChat identities (one per app), a business account
// (username/password), a verified phone number and a unionid; none of them is required.
type User struct {
	ID               string
	Nickname         string
	AvatarURL        string
	UnionID          string // "" when unknown; no unionid belongs to two users
	Phone            string // purePhoneNumber, "" when none is verified; unique with PhoneCountryCode
	PhoneCountryCode string
	PhoneVerifiedAt  time.Time
	Disabled         bool // change it only through auth.Service.SetDisabled, which also revokes sessions
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Account is a business account: a username and an argon2id password hash, owned by one user.
type Account struct {
	UserID         string
	Username       string // unique, stored as given after validation (lowercase)
	PasswordHash   string // argon2id in PHC string format
	FailedAttempts int
	LockedUntil    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Identity is a WeChat user as one app sees them: (AppID, OpenID) is unique. SessionKey holds the
// current session_key sealed by a Sealer (never the plain value).
type Identity struct {
	AppID               string
	OpenID              string
	UnionID             string
	UserID              string
	SessionKey          []byte // sealed
	SessionKeyUpdatedAt time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// Session is one login of a user: the access tokens and the refresh token chain it issues all carry
// its ID. A revoked or expired session accepts nothing.
type Session struct {
	ID         string
	UserID     string
	AppID      string // "" for a password login with no app
	Method     string // "wechat", "password", ...
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  time.Time // zero while active
}

// Active reports whether the session is neither revoked nor expired at now.
func (s *Session) Active(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt)
}

// RefreshToken is one link of a session's refresh-token chain, stored only by the hash of the token.
// UsedAt is set when it was exchanged; presenting it again revokes the session.
type RefreshToken struct {
	Hash      string
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unspent
}

// SigningKey is a key that signs access tokens. Private is sealed; Public is the PKIX DER public
// key. The newest key not retired signs; every key not past RetiredAt+token lifetime verifies.
type SigningKey struct {
	ID        string
	Algorithm string // "ES256" or "EdDSA"
	Private   []byte // sealed PKCS#8 DER
	Public    []byte // PKIX DER
	CreatedAt time.Time
	RetiredAt time.Time // zero while it may sign
}

// AuditEvent records who did what to whom, when, from where.
type AuditEvent struct {
	ID        int64
	Time      time.Time
	Type      string // e.g. "login.success", "identity.bind", "user.merge"
	ActorID   string // user id, "admin:<name>", or "" for anonymous
	UserID    string // the subject
	AppID     string
	SessionID string
	IP        string
	UserAgent string
	Detail    string // JSON object, never a secret
}

// AuditFilter selects audit events; zero fields match everything. Events come newest first.
type AuditFilter struct {
	UserID string
	Type   string
	Since  time.Time
	Until  time.Time
	Before int64 // cursor: only events with ID < Before (0: no cursor)
	Limit  int   // 0 means 100
}

// UserFilter selects users (the admin API's search); every non-empty field must match, and users
// come ordered by ID. A zero filter matches every user.
type UserFilter struct {
	ID          string
	Username    string // the business account's username, exactly (usernames are stored lowercase)
	AppID       string // with OpenID: the identity (AppID, OpenID); alone: users with an identity at AppID
	OpenID      string // an identity's openid, at any app unless AppID is set
	UnionID     string // the user's unionid, or the unionid of one of its identities
	CountryCode string // the verified phone's country code
	Phone       string // the verified phone's pure number
	After       string // cursor: only users with ID > After ("" : from the start)
	Limit       int    // 0 means 100
}

// Store is wxlogin's storage. Its methods (those of Tx) each run in their own transaction; Update
// runs several in one. Methods return *Error with ENOTFOUND when a row is missing and ECONFLICT when
// a unique rule would break (username, (appid, openid), unionid, ids).
// RowUpdater is a Store that can also run a transaction whose rules all hold through row locks —
// every check is the WHERE of the write that depends on it, as in SpendRefreshToken and
// TouchSession — at a weaker isolation than Update's (PostgreSQL: READ COMMITTED instead of
// SERIALIZABLE), which conflicts far less. fn must read nothing it decides on but through such
// writes (or rows it then only revokes). Like Update it retries fn on deadlocks.
type RowUpdater interface {
	UpdateRows(ctx context.Context, fn func(tx Tx) error) error
}

type Store interface {
	Tx
	// Update runs fn in one read-write transaction and commits when fn returns nil. It retries fn
	// on serialization failures, so fn must not have effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ping returns nil when the store is reachable and migrated.
	Ping(ctx context.Context) error
	// Shared reports whether several instances may share this store (PostgreSQL: true; one
	// SQLite file: false).
	Shared() bool
	Close() error
}

// Tx is what one transaction can read and write.
type Tx interface {
	User(ctx context.Context, id string) (*User, error)
	UserByUnionID(ctx context.Context, unionid string) (*User, error)
	// UserByPhone returns the user whose verified phone is (countryCode, phone); no phone belongs
	// to two users.
	UserByPhone(ctx context.Context, countryCode, phone string) (*User, error)
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser deletes the user and, with it, its account, identities, sessions and refresh tokens.
	DeleteUser(ctx context.Context, id string) error

	Account(ctx context.Context, username string) (*Account, error)
	AccountByUser(ctx context.Context, userID string) (*Account, error)
	CreateAccount(ctx context.Context, a *Account) error
	UpdateAccount(ctx context.Context, a *Account) error

	Identity(ctx context.Context, appid, openid string) (*Identity, error)
	// IdentitiesByUser returns the user's identities ordered by CreatedAt (empty, not an error, when none).
	IdentitiesByUser(ctx context.Context, userID string) ([]*Identity, error)
	CreateIdentity(ctx context.Context, id *Identity) error
	UpdateIdentity(ctx context.Context, id *Identity) error
	DeleteIdentity(ctx context.Context, appid, openid string) error
	// IdentitiesAfter returns at most limit identities ordered by (AppID, OpenID), starting after
	// (appid, openid) ("", "" : from the first): a cursor to page through them all (empty, not an
	// error, at the end).
	IdentitiesAfter(ctx context.Context, appid, openid string, limit int) ([]*Identity, error)

	Session(ctx context.Context, id string) (*Session, error)
	// SessionsByUser returns the user's sessions, newest first, revoked and expired ones included.
	SessionsByUser(ctx context.Context, userID string) ([]*Session, error)
	CreateSession(ctx context.Context, s *Session) error
	UpdateSession(ctx context.Context, s *Session) error
	// TouchSession extends the session id if it is active at at, in one conditional write:
	// LastSeenAt=at, ExpiresAt=expires and, when ip is not "", IP=ip. It returns the session as
	// written; ENOTFOUND when there is no such session active at at.
	TouchSession(ctx context.Context, id string, at, expires time.Time, ip string) (*Session, error)
	// RevokeUserSessions sets RevokedAt=at on every active session of the user and returns their ids.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error)

	RefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	UpdateRefreshToken(ctx context.Context, t *RefreshToken) error
	// SpendRefreshToken sets UsedAt=at on the refresh token stored under hash if it is unused, in
	// one conditional write, and returns it with spent true; a token used before comes back as
	// stored, with spent false. Of concurrent spends of one token exactly one is spent. ENOTFOUND
	// when there is no such token; EINVALID for a zero at.
	SpendRefreshToken(ctx context.Context, hash string, at time.Time) (t *RefreshToken, spent bool, err error)

	// SigningKeys returns every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	UpdateSigningKey(ctx context.Context, k *SigningKey) error

	// AddAuditEvent stores e and sets e.ID.
	AddAuditEvent(ctx context.Context, e *AuditEvent) error
	AuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)

	// Users returns the users f selects, ordered by ID (empty, not an error, when none).
	Users(ctx context.Context, f UserFilter) ([]*User, error)
	// PruneAuditEvents deletes the audit events whose Time is before before and returns how many.
	PruneAuditEvents(ctx context.Context, before time.Time) (int64, error)
	// PruneSessions deletes the dead sessions — revoked before before, or expired before before —
	// with their refresh tokens, and returns how many sessions. With before not after now, no active
	// session is touched.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)
}
