package oidc

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/wxlogin/wxlogin"
)

// MemoryStore is a Store in this process's memory: for tests and one instance only (several
// instances need the SQL store or Redis, where a request started on one is finished on another).
type MemoryStore struct {
	mu       sync.Mutex
	requests map[string]*AuthRequest
	byCode   map[string]string // code hash -> request id
	grants   map[string]*Grant
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{requests: map[string]*AuthRequest{}, byCode: map[string]string{}, grants: map[string]*Grant{}}
}

func copyRequest(r *AuthRequest) *AuthRequest {
	c := *r
	c.Scopes = slices.Clone(r.Scopes)
	c.AMR = slices.Clone(r.AMR)
	return &c
}

func notFound(what string) error { return wxlogin.Errorf(wxlogin.ENOTFOUND, "no such %s", what) }

// CreateAuthRequest implements Store.
func (m *MemoryStore) CreateAuthRequest(_ context.Context, r *AuthRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.requests[r.ID]; ok {
		return wxlogin.Errorf(wxlogin.ECONFLICT, "auth request exists")
	}
	m.requests[r.ID] = copyRequest(r)
	if r.CodeHash != "" {
		m.byCode[r.CodeHash] = r.ID
	}
	return nil
}

// AuthRequest implements Store.
func (m *MemoryStore) AuthRequest(_ context.Context, id string) (*AuthRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return nil, notFound("auth request")
	}
	return copyRequest(r), nil
}

// CompleteAuthRequest implements Store.
func (m *MemoryStore) CompleteAuthRequest(_ context.Context, id string, l Login) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return notFound("auth request")
	}
	if r.CodeHash != "" {
		return wxlogin.Errorf(wxlogin.ECONFLICT, "the auth request already has a code")
	}
	r.UserID, r.AMR, r.AuthTime, r.Browser, r.IP, r.UserAgent = l.UserID, slices.Clone(l.AMR), l.AuthTime, l.Browser, l.IP, l.UserAgent
	return nil
}

// IssueCode implements Store.
func (m *MemoryStore) IssueCode(_ context.Context, id, codeHash string, expiresAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return notFound("auth request")
	}
	if r.CodeHash != "" {
		return wxlogin.Errorf(wxlogin.ECONFLICT, "the auth request already has a code")
	}
	if _, taken := m.byCode[codeHash]; taken {
		return wxlogin.Errorf(wxlogin.ECONFLICT, "code exists")
	}
	r.CodeHash, r.CodeExpiresAt = codeHash, expiresAt
	m.byCode[codeHash] = id
	return nil
}

// RedeemCode implements Store.
func (m *MemoryStore) RedeemCode(_ context.Context, codeHash string, at time.Time) (*AuthRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byCode[codeHash]
	if !ok {
		return nil, notFound("code")
	}
	r := m.requests[id]
	before := copyRequest(r)
	if r.CodeUsedAt.IsZero() {
		r.CodeUsedAt = at
	} else {
		r.CodeReused = true
	}
	return before, nil
}

// AttachSession implements Store.
func (m *MemoryStore) AttachSession(_ context.Context, id, sessionID string) (*AuthRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.requests[id]
	if !ok {
		return nil, notFound("auth request")
	}
	r.SessionID = sessionID
	return copyRequest(r), nil
}

// DeleteAuthRequestsBefore implements Store.
func (m *MemoryStore) DeleteAuthRequestsBefore(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, r := range m.requests {
		if r.ExpiresAt.Before(before) && (r.CodeExpiresAt.IsZero() || r.CodeExpiresAt.Before(before)) {
			delete(m.requests, id)
			if r.CodeHash != "" {
				delete(m.byCode, r.CodeHash)
			}
			n++
		}
	}
	return n, nil
}

// CreateGrant implements Store.
func (m *MemoryStore) CreateGrant(_ context.Context, g *Grant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.grants[g.SessionID]; ok {
		return wxlogin.Errorf(wxlogin.ECONFLICT, "grant exists")
	}
	c := *g
	c.Scopes, c.AMR = slices.Clone(g.Scopes), slices.Clone(g.AMR)
	m.grants[g.SessionID] = &c
	return nil
}

// Grant implements Store.
func (m *MemoryStore) Grant(_ context.Context, sessionID string) (*Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.grants[sessionID]
	if !ok {
		return nil, notFound("grant")
	}
	c := *g
	c.Scopes, c.AMR = slices.Clone(g.Scopes), slices.Clone(g.AMR)
	return &c, nil
}

// DeleteGrantsBefore implements Store.
func (m *MemoryStore) DeleteGrantsBefore(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, g := range m.grants {
		if g.ExpiresAt.Before(before) {
			delete(m.grants, id)
			n++
		}
	}
	return n, nil
}
