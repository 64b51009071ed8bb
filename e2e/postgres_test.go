package e2e

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/belfry/belfry/internal/store/storetest"
)

// The e2e suite runs on SQLite by default. With BELFRY_TEST_POSTGRES set to a
// PostgreSQL URL, TestSuiteOnPostgres runs the whole suite again, in a child
// test process, with every test on its own PostgreSQL schema: one test body,
// both databases.
const (
	postgresEnv   = "BELFRY_TEST_POSTGRES" // a postgres:// URL; .ci/run sets it
	onPostgresEnv = "BELFRY_E2E_ON_POSTGRES"
)

// storeTarget returns where a test's store lives: a temporary directory, or
// (in the PostgreSQL run) a fresh schema, dropped when the test ends.
func storeTarget(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(onPostgresEnv)
	if dsn == "" {
		return t.TempDir()
	}
	return storetest.FreshSchema(t, dsn)
}

// TestSuiteOnPostgres runs every other e2e test against PostgreSQL (issue 5:
// every operation behaves exactly as on SQLite).
func TestSuiteOnPostgres(t *testing.T) {
	if os.Getenv(onPostgresEnv) != "" {
		t.Skip("this is the PostgreSQL run itself")
	}
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s must be set in CI", postgresEnv)
		}
		t.Skipf("set %s to a postgres:// URL to run the e2e suite on PostgreSQL too", postgresEnv)
	}
	db, err := sql.Open("pgx", dsn)
	if err == nil {
		err = db.PingContext(context.Background())
		db.Close()
	}
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", postgresEnv, err)
	}
	// Tests that run the built binary on its own data directory are storage-independent.
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.skip", "TestSuiteOnPostgres|TestBoto3Session|TestKill9Durability|TestGracefulShutdown|TestJS|TestBoto3SignedCalls|TestSigV4Binary|TestServerLimits|TestKill9Repeated|TestDiskFull|TestReadOnlyDisk|TestOverload")
	cmd.Env = append(os.Environ(), onPostgresEnv+"="+dsn)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e suite on PostgreSQL failed: %v\n%s", err, out)
	}
	t.Logf("e2e suite on PostgreSQL: %s", lastLine(out))
}

func lastLine(b []byte) string {
	s := string(b)
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
