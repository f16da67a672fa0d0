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
	Kind     AppKind // "" is a mini program (KindMiniProgram)
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
	Kind                AppKind // its app's kind when it was created ("": a mini program)
	SessionKey          []byte  // sealed
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

// LinkToken is the single-use token of a login refused by the existing_only sign-up policy: it
// holds the WeChat identity that logged in, to be bound to an existing account by a later password
// or phone login. Stored only by the hash of the token; SessionKey is sealed like an Identity's.
type LinkToken struct {
	Hash       string
	AppID      string
	OpenID     string
	UnionID    string
	SessionKey []byte // sealed; nil when the door gave none
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Avatar is a user's picture as wxlogin serves it: cleaned and re-encoded (auth), named by the hex
// SHA-256 of Data with its extension (".png" or ".jpg"), so one ID always means the same bytes.
type Avatar struct {
	ID          string
	ContentType string // image/png or image/jpeg
	Data        []byte
	CreatedAt   time.Time
}

// AvatarStore keeps avatars: every Store is one (its PutAvatar/Avatar), and so is a directory
// (package avatardir).
type AvatarStore interface {
	// PutAvatar stores a; storing an ID again is not an error (the bytes are the same).
	PutAvatar(ctx context.Context, a *Avatar) error
	// Avatar returns the avatar id, or ENOTFOUND.
	Avatar(ctx context.Context, id string) (*Avatar, error)
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
	// CreateLinkToken stores t (ECONFLICT when its hash exists) and deletes the link tokens that
	// expired before t.CreatedAt.
	CreateLinkToken(ctx context.Context, t *LinkToken) error
	// LinkToken returns the link token with hash, expired or not, or ENOTFOUND.
	LinkToken(ctx context.Context, hash string) (*LinkToken, error)
	// DeleteLinkToken deletes the link token with hash, or returns ENOTFOUND.
	DeleteLinkToken(ctx context.Context, hash string) error
	// PutAvatar stores a; an ID already stored is left as is (the same bytes), not an error.
	PutAvatar(ctx context.Context, a *Avatar) error
	// Avatar returns the avatar id, or ENOTFOUND.
	Avatar(ctx context.Context, id string) (*Avatar, error)
	// PruneSessions deletes the dead sessions — revoked before before, or expired before before —
	// with their refresh tokens, and returns how many sessions. With before not after now, no active
	// session is touched.
	PruneSessions(ctx context.Context, before time.Time) (int64, error)

	// The OpenID Connect provider's rows (oidc.go; oidc.NewStore makes its atomic steps of them).
	// CreateOIDCAuthRequest stores r: ECONFLICT when its id or code hash is taken.
	CreateOIDCAuthRequest(ctx context.Context, r *OIDCAuthRequest) error
	// OIDCAuthRequest returns the request with id; OIDCAuthRequestByCode the one whose code hash
	// is codeHash (never for ""). ENOTFOUND.
	OIDCAuthRequest(ctx context.Context, id string) (*OIDCAuthRequest, error)
	OIDCAuthRequestByCode(ctx context.Context, codeHash string) (*OIDCAuthRequest, error)
	// UpdateOIDCAuthRequest overwrites the request r.ID: ENOTFOUND, ECONFLICT (code hash taken).
	UpdateOIDCAuthRequest(ctx context.Context, r *OIDCAuthRequest) error
	// DeleteOIDCAuthRequestsBefore deletes the requests that expired before before and whose
	// codes (if any) did too, and returns how many.
	DeleteOIDCAuthRequestsBefore(ctx context.Context, before time.Time) (int64, error)
	// CreateOIDCGrant stores g: ENOTFOUND without its session, ECONFLICT when the session has one.
	// A grant is deleted with its session.
	CreateOIDCGrant(ctx context.Context, g *OIDCGrant) error
	// OIDCGrant returns the grant of a session. ENOTFOUND.
	OIDCGrant(ctx context.Context, sessionID string) (*OIDCGrant, error)
	// DeleteOIDCGrantsBefore deletes the grants that expired before before and returns how many.
	DeleteOIDCGrantsBefore(ctx context.Context, before time.Time) (int64, error)
	// LoginCounts returns the logins (audit events login.success) at or after since (zero: all)
	// counted by (bucket, method, app), ordered by Start, Method, AppID. Buckets are bucket long
	// and aligned on the Unix epoch, so a day is a UTC day. Audit events, not sessions, because
	// they outlive the users deleted or merged away and the sessions pruned. EINVALID unless
	// bucket is a positive whole number of seconds.
	LoginCounts(ctx context.Context, since time.Time, bucket time.Duration) ([]LoginCount, error)
	// NewUserCounts returns the users created at or after since (zero: all), by CreatedAt, counted
	// by bucket as LoginCounts buckets them; only buckets holding a user come back, oldest first.
	// Users deleted or merged away are not counted. EINVALID as LoginCounts.
	NewUserCounts(ctx context.Context, since time.Time, bucket time.Duration) ([]TimeCount, error)
	// ActiveSessionCount returns how many sessions are active at now: not revoked, expiring after now.
	ActiveSessionCount(ctx context.Context, now time.Time) (int64, error)
	// CreateWebTicket stores t (webticket.go); ECONFLICT when its hash is taken, EINVALID without
	// a hash or purpose.
	CreateWebTicket(ctx context.Context, t *WebTicket) error
	// TakeWebTicket deletes and returns the ticket of (purpose, hash) unless it expired at now:
	// each ticket is taken once. ENOTFOUND when none, or when it expired (and is then deleted too).
	TakeWebTicket(ctx context.Context, purpose, hash string, now time.Time) (*WebTicket, error)
	// PruneWebTickets deletes the tickets that expired before before and returns how many.
	PruneWebTickets(ctx context.Context, before time.Time) (int64, error)
	QRLogins // a website's QR login requests (qrlogin.go)
	// The webhook outbox (events.go).
	// AddEvent stores e (setting e.Seq) with a pending delivery, due at e.Time, to each of
	// endpoints. ECONFLICT when e.ID is taken, EINVALID without an id or type.
	AddEvent(ctx context.Context, e *Event, endpoints []string) error
	// Event returns the event with id, or ENOTFOUND.
	Event(ctx context.Context, id string) (*Event, error)
	// LeaseDeliveries leases to owner until until at most limit pending deliveries, due at now and
	// not leased by another owner, each the first pending one of its (endpoint, user) in event
	// order, and returns them in event order (empty, not an error, when none).
	LeaseDeliveries(ctx context.Context, owner string, now, until time.Time, limit int) ([]*Delivery, error)
	// FinishDelivery records attempt a of d, which owner leases: it stores d's Status, Attempts,
	// NextAt, LastStatus, LastError and DeliveredAt, frees the lease and logs a (setting a.ID).
	// ENOTFOUND when owner no longer holds the lease.
	FinishDelivery(ctx context.Context, owner string, d *Delivery, a *DeliveryAttempt) error
	// Deliveries returns the deliveries f selects, newest event first (empty, not an error, when none).
	Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error)
	// DeliveryAttempts returns the logged attempts of a delivery, oldest first.
	DeliveryAttempts(ctx context.Context, deliveryID string) ([]*DeliveryAttempt, error)
	// Redeliver makes the deliveries r selects pending again, due at now with no attempt counted,
	// and returns how many; ENOTFOUND when r names one delivery that does not exist.
	Redeliver(ctx context.Context, r Redelivery, now time.Time) (int64, error)
	// DeliveryBacklog returns the number of pending deliveries and the oldest one's event time.
	DeliveryBacklog(ctx context.Context) (DeliveryBacklog, error)

	// Account deletion (issue 18).
	// ScheduleDeletion schedules the user's deletion at due (replacing an earlier schedule):
	// ENOTFOUND without the user.
	ScheduleDeletion(ctx context.Context, userID string, due time.Time) error
	// DueDeletions returns at most limit ids of users whose deletion is due at now, soonest first.
	DueDeletions(ctx context.Context, now time.Time, limit int) ([]string, error)
	// ForgetUser deletes the user with everything that is theirs (as DeleteUser, and its scheduled
	// deletion), replaces its id by pseudonym in the audit trail (subject and actor) and clears those
	// events' session, IP, user agent and detail, and clears the data of its outbox events. ENOTFOUND
	// without the user.
	ForgetUser(ctx context.Context, userID, pseudonym string) error
}
