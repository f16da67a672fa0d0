package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wxlogin/wxlogin/postgres"
	"github.com/wxlogin/wxlogin/storetest"
)

func BenchmarkLoginTx(b *testing.B) { storetest.BenchmarkLoginTx(b, benchStore(b)) }

// BenchmarkRefreshTx is the refresh transaction (storetest.BenchmarkRefreshTx) on PostgreSQL.
func BenchmarkRefreshTx(b *testing.B) { storetest.BenchmarkRefreshTx(b, benchStore(b)) }

// benchStore returns a migrated store in a schema of its own, dropped at the end.
func benchStore(b *testing.B) *postgres.Store {
	dsn := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("WXLOGIN_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	buf := make([]byte, 8)
	rand.Read(buf)
	schema := "wxl_bench_" + hex.EncodeToString(buf)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE") })
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema), postgres.WithMaxConns(16))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}
