package oidc

import (
	"context"
	"slices"
	"time"

	"github.com/wxlogin/wxlogin"
)

// NewStore returns the provider's Store over wxlogin's store (SQLite or PostgreSQL): every step is
// one transaction of st, so the instances sharing st behave as one (a request started on one is
// finished on another, and a code is redeemed once across them).
func NewStore(st wxlogin.Store) Store { return &sqlStore{st: st} }

type sqlStore struct{ st wxlogin.Store }

func (s *sqlStore) CreateAuthRequest(ctx context.Context, r *AuthRequest) error {
	return s.st.CreateOIDCAuthRequest(ctx, r)
}

func (s *sqlStore) AuthRequest(ctx context.Context, id string) (*AuthRequest, error) {
	return s.st.OIDCAuthRequest(ctx, id)
}

// CompleteAuthRequest implements Store: ECONFLICT once the request has a code.
func (s *sqlStore) CompleteAuthRequest(ctx context.Context, id string, l Login) error {
	return s.st.Update(ctx, func(tx wxlogin.Tx) error {
		r, err := tx.OIDCAuthRequest(ctx, id)
		if err != nil {
			return err
		}
		if r.CodeHash != "" {
			return wxlogin.Errorf(wxlogin.ECONFLICT, "the auth request already has a code")
		}
		r.UserID, r.AMR, r.AuthTime, r.Browser, r.IP, r.UserAgent = l.UserID, slices.Clone(l.AMR), l.AuthTime, l.Browser, l.IP, l.UserAgent
		return tx.UpdateOIDCAuthRequest(ctx, r)
	})
}

// IssueCode implements Store: a request yields one code, ever.
func (s *sqlStore) IssueCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error {
	return s.st.Update(ctx, func(tx wxlogin.Tx) error {
		r, err := tx.OIDCAuthRequest(ctx, id)
		if err != nil {
			return err
		}
		if r.CodeHash != "" {
			return wxlogin.Errorf(wxlogin.ECONFLICT, "the auth request already has a code")
		}
		r.CodeHash, r.CodeExpiresAt = codeHash, expiresAt
		return tx.UpdateOIDCAuthRequest(ctx, r)
	})
}

// RedeemCode implements Store: the read and the mark are one transaction, so of two concurrent
// exchanges of one code (on any instances) exactly one sees it unused.
func (s *sqlStore) RedeemCode(ctx context.Context, codeHash string, at time.Time) (*AuthRequest, error) {
	var before *AuthRequest
	err := s.st.Update(ctx, func(tx wxlogin.Tx) error {
		r, err := tx.OIDCAuthRequestByCode(ctx, codeHash)
		if err != nil {
			return err
		}
		b := *r
		before = &b
		if r.CodeUsedAt.IsZero() {
			r.CodeUsedAt = at
		} else {
			r.CodeReused = true
		}
		return tx.UpdateOIDCAuthRequest(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return before, nil
}

// AttachSession implements Store.
func (s *sqlStore) AttachSession(ctx context.Context, id, sessionID string) (*AuthRequest, error) {
	var after *AuthRequest
	err := s.st.Update(ctx, func(tx wxlogin.Tx) error {
		r, err := tx.OIDCAuthRequest(ctx, id)
		if err != nil {
			return err
		}
		r.SessionID = sessionID
		after = r
		return tx.UpdateOIDCAuthRequest(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

func (s *sqlStore) DeleteAuthRequestsBefore(ctx context.Context, before time.Time) (int64, error) {
	return s.st.DeleteOIDCAuthRequestsBefore(ctx, before)
}

func (s *sqlStore) CreateGrant(ctx context.Context, g *Grant) error {
	return s.st.CreateOIDCGrant(ctx, g)
}

func (s *sqlStore) Grant(ctx context.Context, sessionID string) (*Grant, error) {
	return s.st.OIDCGrant(ctx, sessionID)
}

func (s *sqlStore) DeleteGrantsBefore(ctx context.Context, before time.Time) (int64, error) {
	return s.st.DeleteOIDCGrantsBefore(ctx, before)
}
