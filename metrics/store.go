package metrics

import (
	"context"
	"errors"

	"github.com/wxlogin/wxlogin"
)

// InstrumentStore returns s counting its failures in wxlogin_store_errors_total{op}: Update, Ping
// and the read methods count every error that is not a *wxlogin.Error (not_found and conflict are
// answers, not failures, and so are the business errors an Update's fn returns) and not the
// caller's cancellation. It embeds s, so every other method — including methods added to
// wxlogin.Store later — passes through unchanged. Close closes s.
func InstrumentStore(s wxlogin.Store, m *Metrics) wxlogin.Store {
	return &store{Store: s, m: m}
}

type store struct {
	wxlogin.Store
	m *Metrics
}

// count records err against op when it is a store failure, and returns err.
func (s *store) count(op string, err error) error {
	if err != nil && wxlogin.ErrorCode(err) == wxlogin.EINTERNAL && !errors.Is(err, context.Canceled) {
		s.m.storeErrors.WithLabelValues(op).Inc()
	}
	return err
}

func (s *store) Update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	return s.count("update", s.Store.Update(ctx, fn))
}

func (s *store) Ping(ctx context.Context) error { return s.count("ping", s.Store.Ping(ctx)) }

func (s *store) User(ctx context.Context, id string) (*wxlogin.User, error) {
	u, err := s.Store.User(ctx, id)
	return u, s.count("user", err)
}

func (s *store) UserByUnionID(ctx context.Context, unionid string) (*wxlogin.User, error) {
	u, err := s.Store.UserByUnionID(ctx, unionid)
	return u, s.count("user_by_unionid", err)
}

func (s *store) UserByPhone(ctx context.Context, countryCode, phone string) (*wxlogin.User, error) {
	u, err := s.Store.UserByPhone(ctx, countryCode, phone)
	return u, s.count("user_by_phone", err)
}

func (s *store) Account(ctx context.Context, username string) (*wxlogin.Account, error) {
	a, err := s.Store.Account(ctx, username)
	return a, s.count("account", err)
}

func (s *store) AccountByUser(ctx context.Context, userID string) (*wxlogin.Account, error) {
	a, err := s.Store.AccountByUser(ctx, userID)
	return a, s.count("account_by_user", err)
}

func (s *store) Identity(ctx context.Context, appid, openid string) (*wxlogin.Identity, error) {
	id, err := s.Store.Identity(ctx, appid, openid)
	return id, s.count("identity", err)
}

func (s *store) IdentitiesByUser(ctx context.Context, userID string) ([]*wxlogin.Identity, error) {
	ids, err := s.Store.IdentitiesByUser(ctx, userID)
	return ids, s.count("identities_by_user", err)
}

func (s *store) Session(ctx context.Context, id string) (*wxlogin.Session, error) {
	ss, err := s.Store.Session(ctx, id)
	return ss, s.count("session", err)
}

func (s *store) SessionsByUser(ctx context.Context, userID string) ([]*wxlogin.Session, error) {
	ss, err := s.Store.SessionsByUser(ctx, userID)
	return ss, s.count("sessions_by_user", err)
}

func (s *store) RefreshToken(ctx context.Context, hash string) (*wxlogin.RefreshToken, error) {
	t, err := s.Store.RefreshToken(ctx, hash)
	return t, s.count("refresh_token", err)
}

func (s *store) SigningKeys(ctx context.Context) ([]*wxlogin.SigningKey, error) {
	ks, err := s.Store.SigningKeys(ctx)
	return ks, s.count("signing_keys", err)
}

func (s *store) AuditEvents(ctx context.Context, f wxlogin.AuditFilter) ([]*wxlogin.AuditEvent, error) {
	es, err := s.Store.AuditEvents(ctx, f)
	return es, s.count("audit_events", err)
}

// compile-time check that the decorator still is a Store.
var _ wxlogin.Store = (*store)(nil)
