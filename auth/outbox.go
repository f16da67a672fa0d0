package auth

import (
	"context"
	"encoding/json"

	"github.com/wxlogin/wxlogin"
)

// The outbox: every audited change that business systems care about is also an event
// (wxlogin.Event), written by the one place audit events are written in a transaction — the
// outboxTx below wraps every transaction's AddAuditEvent — so that an event exists exactly when
// its change committed. Webhook endpoints (package webhook) receive them.
//
// Audit type → event types:
//
//	account.create                        user.created
//	login.success (new_user=true)         user.created, login.succeeded
//	login.success                         login.succeeded (opt-in per endpoint)
//	user.merge                            user.merged
//	profile.wechat, unionid.paid,
//	profile.revoke, user.info_modified    user.updated
//	user.disable / user.enable            user.disabled / user.enabled
//	user.delete                           user.deleted
//	identity.bind / identity.unbind       identity.bound / identity.unbound
//	phone.verify                          phone.verified
//	logout, logout.all, session.revoke,
//	session.revoke_all, refresh.reuse     session.revoked
var auditEvents = map[string][]string{
	"account.create":     {"user.created"},
	"user.merge":         {"user.merged"},
	"profile.wechat":     {"user.updated"},
	"unionid.paid":       {"user.updated"},
	"profile.revoke":     {"user.updated"},
	"user.info_modified": {"user.updated"},
	"user.disable":       {"user.disabled"},
	"user.enable":        {"user.enabled"},
	"user.delete":        {"user.deleted"},
	"identity.bind":      {"identity.bound"},
	"identity.unbind":    {"identity.unbound"},
	"phone.verify":       {"phone.verified"},
	"logout":             {"session.revoked"},
	"logout.all":         {"session.revoked"},
	"session.revoke":     {"session.revoked"},
	"session.revoke_all": {"session.revoked"},
	"refresh.reuse":      {"session.revoked"},
}

// EventTypes lists every event type, for the settings' validation and the docs.
var EventTypes = []string{"user.created", "user.merged", "user.updated", "user.disabled", "user.enabled",
	"user.deleted", "identity.bound", "identity.unbound", "phone.verified", "session.revoked", "login.succeeded"}

// WebhookRoute says which event types go to the webhook endpoint named Endpoint: Wants(type).
type WebhookRoute struct {
	Endpoint string
	Wants    func(eventType string) bool
}

// eventsOf returns the event types of audit event a.
func eventsOf(a *wxlogin.AuditEvent) []string {
	if a.Type == "login.success" {
		var d struct {
			NewUser string `json:"new_user"`
		}
		_ = json.Unmarshal([]byte(a.Detail), &d)
		if d.NewUser == "true" {
			return []string{"user.created", "login.succeeded"}
		}
		return []string{"login.succeeded"}
	}
	return auditEvents[a.Type]
}

// eventData returns the data of a's event: the audit detail's facts with the app and the actor.
func eventData(a *wxlogin.AuditEvent) string {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(a.Detail), &m)
	if m == nil {
		m = map[string]any{}
	}
	if a.AppID != "" {
		m["app_id"] = a.AppID
	}
	if a.ActorID != "" {
		m["actor"] = a.ActorID
	}
	if a.SessionID != "" && a.Type != "login.success" {
		m["session_id"] = a.SessionID
	}
	m["audit_type"] = a.Type
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// outboxStore writes the events of the audit events its transactions store (no-op without routes).
type outboxStore struct {
	wxlogin.Store
	routes []WebhookRoute
}

// withOutbox returns store writing events for routes (store itself when there are none).
func withOutbox(store wxlogin.Store, routes []WebhookRoute) wxlogin.Store {
	if len(routes) == 0 {
		return store
	}
	return &outboxStore{Store: store, routes: routes}
}

// Update runs fn with a transaction whose audit events also write their events.
func (s *outboxStore) Update(ctx context.Context, fn func(tx wxlogin.Tx) error) error {
	return s.Store.Update(ctx, func(tx wxlogin.Tx) error { return fn(&outboxTx{Tx: tx, routes: s.routes}) })
}

// AddAuditEvent stores e, outside any other transaction, with its events.
func (s *outboxStore) AddAuditEvent(ctx context.Context, e *wxlogin.AuditEvent) error {
	if len(eventsOf(e)) == 0 {
		return s.Store.AddAuditEvent(ctx, e)
	}
	return s.Update(ctx, func(tx wxlogin.Tx) error { return tx.AddAuditEvent(ctx, e) })
}

type outboxTx struct {
	wxlogin.Tx
	routes []WebhookRoute
}

// AddAuditEvent stores e and, in the same transaction, its events for the endpoints that want them.
func (t *outboxTx) AddAuditEvent(ctx context.Context, e *wxlogin.AuditEvent) error {
	if err := t.Tx.AddAuditEvent(ctx, e); err != nil {
		return err
	}
	types := eventsOf(e)
	if len(types) == 0 {
		return nil
	}
	data := eventData(e)
	for _, typ := range types {
		var to []string
		for _, r := range t.routes {
			if r.Wants(typ) {
				to = append(to, r.Endpoint)
			}
		}
		if len(to) == 0 {
			continue
		}
		ev := &wxlogin.Event{ID: wxlogin.NewID("evt"), Type: typ, UserID: e.UserID, Time: e.Time, Data: data}
		if err := t.Tx.AddEvent(ctx, ev, to); err != nil {
			return err
		}
	}
	return nil
}
