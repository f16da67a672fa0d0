package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

// BenchmarkLoginTx runs on s, from many goroutines, the transaction of a returning user's login:
// read the identity and its user, update the identity, create a session and its refresh token, add
// an audit event. s must be migrated and empty. It compares a store's write path across changes.
func BenchmarkLoginTx(b *testing.B, s wxlogin.Store) {
	ctx := context.Background()
	const users = 1000
	now := time.Now()
	for i := range users {
		id := fmt.Sprintf("usr_%d", i)
		if err := s.CreateUser(ctx, &wxlogin.User{ID: id, CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateIdentity(ctx, &wxlogin.Identity{AppID: "wx_a", OpenID: fmt.Sprint("o", i), UserID: id, CreatedAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			i := k % users
			err := s.Update(ctx, func(tx wxlogin.Tx) error {
				id, err := tx.Identity(ctx, "wx_a", fmt.Sprint("o", i))
				if err != nil {
					return err
				}
				if _, err := tx.User(ctx, id.UserID); err != nil {
					return err
				}
				id.SessionKey, id.UpdatedAt = []byte("sealed"), time.Now()
				if err := tx.UpdateIdentity(ctx, id); err != nil {
					return err
				}
				sid := fmt.Sprintf("ses_%d_%d", k, time.Now().UnixNano())
				if err := tx.CreateSession(ctx, &wxlogin.Session{ID: sid, UserID: id.UserID, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
					return err
				}
				if err := tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: "h" + sid, SessionID: sid, CreatedAt: time.Now()}); err != nil {
					return err
				}
				return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: time.Now(), Type: "login.success", UserID: id.UserID})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRefreshTx runs on s, from many goroutines each following its own chain, the
// transaction of a refresh: spend the token if unused (one conditional UPDATE … RETURNING),
// extend its session if active, store the successor. s must be migrated and empty.
func BenchmarkRefreshTx(b *testing.B, s wxlogin.Store) {
	ctx := context.Background()
	const chains = 64
	now := time.Now()
	if err := s.CreateUser(ctx, &wxlogin.User{ID: "usr_r", CreatedAt: now}); err != nil {
		b.Fatal(err)
	}
	heads := make(chan string, chains)
	for i := range chains {
		sid := fmt.Sprintf("ses_r%d", i)
		if err := s.CreateSession(ctx, &wxlogin.Session{ID: sid, UserID: "usr_r", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		h := fmt.Sprintf("h_%d_0", i)
		if err := s.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: h, SessionID: sid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		heads <- h
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		hash := <-heads
		update := s.Update
		if ru, ok := s.(wxlogin.RowUpdater); ok {
			update = ru.UpdateRows // as the refresh flow does
		}
		for pb.Next() {
			next := fmt.Sprintf("%s_%d", hash[:4], n.Add(1))
			err := update(ctx, func(tx wxlogin.Tx) error {
				at := time.Now()
				rt, spent, err := tx.SpendRefreshToken(ctx, hash, at)
				if err != nil {
					return err
				}
				if !spent {
					return fmt.Errorf("refresh token %s already spent", hash)
				}
				sess, err := tx.TouchSession(ctx, rt.SessionID, at, at.Add(time.Hour), "192.0.2.1")
				if err != nil {
					return err
				}
				return tx.CreateRefreshToken(ctx, &wxlogin.RefreshToken{Hash: next, SessionID: sess.ID, CreatedAt: at, ExpiresAt: sess.ExpiresAt})
			})
			if err != nil {
				b.Error(err)
				return
			}
			hash = next
		}
	})
}
