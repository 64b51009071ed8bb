package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store/storetest"
)

// TestConnectionLostMidIterationIs503: when PostgreSQL ends Belfry's
// connection while a query's rows are still being read (a failover, an
// administrator's pg_terminate_backend), the error met by Next and reported
// by Err is a lost store, 503 ServiceUnavailable, as it is when the query
// itself fails: not an internal error, which the service answers 500.
func TestConnectionLostMidIterationIs503(t *testing.T) {
	dsn := storetest.Schema(t)
	ctx := context.Background()
	st, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	read := 0
	err = st.Read(ctx, func(tx *Tx) error {
		var pid int
		if err := tx.queryRow(`SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		// More rows than the driver's buffers hold, so that most are still
		// on the server when the connection goes.
		rows, err := tx.query(`SELECT g FROM generate_series(1, 5000000) g`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g int
			if err := rows.Scan(&g); err != nil {
				return err
			}
			if read++; read == 1 {
				if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
					t.Fatalf("pg_terminate_backend: %v", err)
				}
			}
		}
		return rows.Err()
	})
	if read >= 5000000 {
		t.Fatalf("every row was read: the connection was not ended mid-iteration")
	}
	var ce *chime.Error
	if !errors.As(err, &ce) || ce.Kind != chime.KindServiceUnavailable {
		t.Fatalf("after %d rows: got %v (%T), want a ServiceUnavailable chime.Error", read, err, err)
	}
}
