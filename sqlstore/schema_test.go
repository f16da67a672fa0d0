package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/wxlogin/wxlogin/postgres"
	"github.com/wxlogin/wxlogin/sqlite"
)

// A catalogue is what a migrated schema is made of, as sorted lines: tables, columns (with their
// type class and nullability), unique keys (primary keys included), foreign keys and the other
// indexes. Type classes are those SQLite can tell apart: text, bytes, int; the SQLite dialect
// stores bools and times as INTEGER, so PostgreSQL's boolean and timestamptz compare as int.
type catalogue []string

// sqliteCatalogue migrates a new SQLite store and reads its catalogue. extra statements run after
// the migrations (to make it drift on purpose).
func sqliteCatalogue(t *testing.T, extra ...string) catalogue {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "schema.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range extra {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	var c catalogue
	tables := queryStrings(t, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	for _, table := range tables {
		c = append(c, "table "+table)
		var pk []string
		rows := query(t, db, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY pk, cid`, table)
		for _, r := range rows {
			class := map[string]string{"TEXT": "text", "BLOB": "bytes", "INTEGER": "int"}[r[1]]
			if class == "" {
				class = "unknown " + r[1]
			}
			null := map[bool]string{true: "not null", false: "null"}[r[2] == "1" || r[3] != "0"]
			c = append(c, fmt.Sprintf("column %s.%s %s %s", table, r[0], class, null))
			if r[3] != "0" {
				pk = append(pk, r[0])
			}
		}
		if len(pk) > 0 {
			c = append(c, fmt.Sprintf("unique %s(%s)", table, strings.Join(pk, ", ")))
		}
		for _, ix := range query(t, db, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, table) {
			if ix[2] == "pk" {
				continue // listed with the table's primary key
			}
			cols := strings.Join(queryStrings(t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix[0]), ", ")
			c = append(c, indexLine(table, ix[0], cols, ix[1] == "1", ix[3] == "1"))
		}
		fks := map[string][]string{} // id → from, parent, to, on delete
		for _, fk := range query(t, db, `SELECT id, "from", "table", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, table) {
			if f, ok := fks[fk[0]]; ok {
				f[0], f[2] = f[0]+", "+fk[1], f[2]+", "+fk[3]
			} else {
				fks[fk[0]] = fk[1:]
			}
		}
		for _, f := range fks {
			c = append(c, fmt.Sprintf("foreign key %s(%s) references %s(%s) on delete %s", table, f[0], f[1], f[2], strings.ToLower(f[3])))
		}
	}
	slices.Sort(c)
	return c
}

// indexLine describes an index: a unique one by its table and columns only (PostgreSQL and
// SQLite name the indexes of constraints differently), another one by its name too.
func indexLine(table, name, cols string, unique, partial bool) string {
	line := fmt.Sprintf("index %s on %s(%s)", name, table, cols)
	if unique {
		line = fmt.Sprintf("unique %s(%s)", table, cols)
	}
	if partial {
		line += " partial"
	}
	return line
}

// postgresCatalogue migrates a new PostgreSQL store in a schema of its own and reads its
// catalogue; it skips t without WXLOGIN_TEST_POSTGRES.
func postgresCatalogue(t *testing.T) catalogue {
	t.Helper()
	ctx := t.Context()
	dsn := os.Getenv("WXLOGIN_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("WXLOGIN_TEST_POSTGRES not set")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "wxl_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", dsn)
		if err == nil {
			_, err = db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			db.Close()
		}
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	var c catalogue
	for _, table := range queryStrings(t, db, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = $1 AND table_type = 'BASE TABLE'`, schema) {
		c = append(c, "table "+table)
	}
	classes := map[string]string{"text": "text", "bytea": "bytes", "bigint": "int", "integer": "int",
		"boolean": "int", "timestamp with time zone": "int"}
	for _, r := range query(t, db, `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_schema = $1`, schema) {
		class := classes[r[2]]
		if class == "" {
			class = "unknown " + r[2]
		}
		null := map[string]string{"NO": "not null", "YES": "null"}[r[3]]
		c = append(c, fmt.Sprintf("column %s.%s %s %s", r[0], r[1], class, null))
	}
	const cols = `(SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(%s) WITH ORDINALITY k(n, ord)
		JOIN pg_attribute a ON a.attrelid = %s AND a.attnum = k.n)`
	for _, r := range query(t, db, `SELECT t.relname, i.relname, `+fmt.Sprintf(cols, "ix.indkey::int2[]", "t.oid")+`,
		ix.indisunique, ix.indpred IS NOT NULL
		FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1`, schema) {
		c = append(c, indexLine(r[0], r[1], r[2], r[3] == "true", r[4] == "true"))
	}
	actions := map[string]string{"a": "no action", "r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}
	for _, r := range query(t, db, `SELECT t.relname, `+fmt.Sprintf(cols, "c.conkey", "c.conrelid")+`, p.relname,
		`+fmt.Sprintf(cols, "c.confkey", "c.confrelid")+`, c.confdeltype
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = $1`, schema) {
		c = append(c, fmt.Sprintf("foreign key %s(%s) references %s(%s) on delete %s", r[0], r[1], r[2], r[3], actions[r[4]]))
	}
	slices.Sort(c)
	return c
}

// query returns the rows of q as strings.
func query(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	var out []string
	for _, r := range query(t, db, q, args...) {
		out = append(out, r[0])
	}
	return out
}

// drift returns the lines only one of the catalogues has, each marked with the one that has it.
func drift(sqliteC, postgresC catalogue) []string {
	var out []string
	for _, l := range sqliteC {
		if !slices.Contains(postgresC, l) {
			out = append(out, "only in sqlite: "+l)
		}
	}
	for _, l := range postgresC {
		if !slices.Contains(sqliteC, l) {
			out = append(out, "only in postgres: "+l)
		}
	}
	return out
}

// TestSchemasAgree migrates both stores and compares their catalogues: the migrations of the two
// engines must describe the same tables, columns, keys and indexes.
func TestSchemasAgree(t *testing.T) {
	lite, pg := sqliteCatalogue(t), postgresCatalogue(t)
	if d := drift(lite, pg); len(d) > 0 {
		t.Errorf("the migrated schemas differ:\n%s", strings.Join(d, "\n"))
	}
	// The catalogues hold what they should (a reader that reads nothing would agree too).
	for _, want := range []string{
		"table users",
		"column users.disabled int not null",
		"column wechat_identities.session_key bytes null",
		"unique users(phone_country_code, phone) partial",
		"unique wechat_identities(appid, openid)",
		"foreign key refresh_tokens(session_id) references sessions(id) on delete cascade",
		"index sessions_revoked on sessions(revoked_at) partial",
	} {
		if !slices.Contains(lite, want) || !slices.Contains(pg, want) {
			t.Errorf("%q is missing from a catalogue:\nsqlite:\n%s\npostgres:\n%s", want, strings.Join(lite, "\n"), strings.Join(pg, "\n"))
		}
	}
}

// TestSchemaDriftIsReported makes the SQLite schema drift in each way the comparison covers and
// checks that the drift is reported.
func TestSchemaDriftIsReported(t *testing.T) {
	base := sqliteCatalogue(t)
	tests := []struct {
		name, stmt, want string
	}{
		{"extra index", `CREATE INDEX users_nickname ON users (nickname)`, "only in sqlite: index users_nickname on users(nickname)"},
		{"missing index", `DROP INDEX sessions_expires`, "only in postgres: index sessions_expires on sessions(expires_at)"},
		{"extra unique key", `CREATE UNIQUE INDEX signing_keys_algorithm ON signing_keys (algorithm)`, "only in sqlite: unique signing_keys(algorithm)"},
		{"extra column", `ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT ''`, "only in sqlite: column users.locale text not null"},
		{"extra table", `CREATE TABLE notes (id TEXT NOT NULL PRIMARY KEY, user_id TEXT REFERENCES users (id)) STRICT`,
			"only in sqlite: foreign key notes(user_id) references users(id) on delete no action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// base stands for the other engine's schema: before the change they are the same.
			d := drift(sqliteCatalogue(t, tc.stmt), base)
			if !slices.Contains(d, tc.want) {
				t.Errorf("drift %q, want it to hold %q", d, tc.want)
			}
		})
	}
	// A changed type class or nullability is a drift too.
	changed := slices.Clone(base)
	for i, l := range changed {
		if l == "column users.nickname text not null" {
			changed[i] = "column users.nickname int not null"
		}
	}
	if d := drift(base, changed); len(d) != 2 {
		t.Errorf("a changed column type: drift %q, want the column on both sides", d)
	}
}
