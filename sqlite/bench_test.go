package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wxlogin/wxlogin/sqlite"
	"github.com/wxlogin/wxlogin/storetest"
)

func BenchmarkLoginTx(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkLoginTx(b, s)
}

func BenchmarkRefreshTx(b *testing.B) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	storetest.BenchmarkRefreshTx(b, s)
}
