// Package storetest has what tests need to run against every store.
package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver
)

// PostgresEnv names the variable that points the tests at a PostgreSQL
// server (a postgres:// URL); .ci/run sets it.
const PostgresEnv = "BELFRY_TEST_POSTGRES"

// Schema returns the URL of a fresh schema on the server PostgresEnv names
// (see FreshSchema), or skips the test when it names none.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("set %s to run the PostgreSQL store tests", PostgresEnv)
	}
	return FreshSchema(t, dsn)
}

// FreshSchema creates an empty schema on the server dsn names, drops it when
// the test ends, and returns a URL whose connections use it.
func FreshSchema(t testing.TB, dsn string) string {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", dsn); err == nil {
			db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			db.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
