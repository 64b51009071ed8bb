package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/belfry/belfry/internal/store"
)

// dataset is an embedded data directory with size memberships in one
// channel and size memberships of one user (the bearer), 2·size−1 in all,
// with size users and size channels.
type dataset struct {
	dir, channel, bearer string
}

// dataset returns the data set of that size, loading it unless --data
// already holds it. Loading goes straight into the SQLite file (the API
// would take hours for a million members, and AWS's per-channel quota
// of 10,000 would refuse them): the schema is the server's own (store.Open
// migrates it), the rows are what the service would have written.
func (b *bench) dataset(ctx context.Context, size int) (dataset, error) {
	account := "000000000000"
	if len(b.cfg.accessKey) == 12 {
		if _, err := strconv.ParseUint(b.cfg.accessKey, 10, 64); err == nil {
			account = b.cfg.accessKey
		}
	}
	region := b.cfg.region
	ai := fmt.Sprintf("arn:aws:chime:%s:%s:app-instance/bench-%d", region, account, size)
	user := func(i int) string { return fmt.Sprintf("%s/user/u%07d", ai, i) }
	channel := func(i int) string { return fmt.Sprintf("%s/channel/c%07d", ai, i) }
	base := b.cfg.data
	if base == "" {
		if b.tmpData == "" {
			d, err := b.tempDir("belfry-bench-data-")
			if err != nil {
				return dataset{}, err
			}
			b.tmpData = d
		}
		base = b.tmpData
	}
	ds := dataset{dir: filepath.Join(base, fmt.Sprintf("memberships-%d-%s", size, account)), channel: channel(0), bearer: user(0)}
	marker := filepath.Join(ds.dir, "bench-loaded")
	if _, err := os.Stat(marker); err == nil {
		return ds, nil
	}
	if err := os.RemoveAll(ds.dir); err != nil {
		return ds, err
	}
	t0 := time.Now()
	st, err := store.Open(ctx, ds.dir) // the schema, migrated as the server does
	if err != nil {
		return ds, err
	}
	if err := st.Close(); err != nil {
		return ds, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(ds.dir, "belfry.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return ds, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	now := time.Now().UnixMilli() - int64(2*size)
	// Rows go in in chunks, each one transaction with prepared statements.
	chunk := func(n int, q string, args func(i int) []any) error {
		for lo := 0; lo < n; lo += 100_000 {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			stmt, err := tx.PrepareContext(ctx, q)
			if err != nil {
				tx.Rollback()
				return err
			}
			for i := lo; i < min(n, lo+100_000); i++ {
				if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
					tx.Rollback()
					return err
				}
			}
			stmt.Close()
			if err := tx.Commit(); err != nil {
				return err
			}
		}
		return nil
	}
	steps := []func() error{
		func() error {
			// With the counts the service keeps on the row: size users, size channels.
			return chunk(1, `INSERT INTO app_instances (arn, owner, name, metadata, created_ms, updated_ms, channel_count, user_count)
			VALUES (?, ?, 'bench', '', ?, ?, ?, ?)`,
				func(int) []any { return []any{ai, region + ":" + account, now, now, size, size} })
		},
		func() error {
			return chunk(size, `INSERT INTO identities (arn, app_instance_arn, kind, name, metadata, created_ms, updated_ms) VALUES (?, ?, 'user', ?, '', ?, ?)`,
				func(i int) []any { return []any{user(i), ai, fmt.Sprintf("user %d", i), now, now} })
		},
		func() error {
			return chunk(size, `INSERT INTO channels (arn, app_instance_arn, name, mode, privacy, metadata, created_by, created_ms, updated_ms, member_count)
			VALUES (?, ?, 'bench', 'UNRESTRICTED', 'PRIVATE', '', ?, ?, ?, ?)`,
				func(i int) []any {
					return []any{channel(i), ai, user(0), now, now, map[bool]int{true: size, false: 1}[i == 0]}
				})
		},
		// The channel's members (u0 first), then u0's other channels.
		func() error {
			return chunk(2*size-1, `INSERT INTO memberships (channel_id, member_id, sub_channel_id, type, invited_by, created_ms, updated_ms)
			VALUES ((SELECT seq FROM channels WHERE arn = ?1), (SELECT seq FROM identities WHERE arn = ?2), '', 'DEFAULT', ?3, ?4, ?4)`,
				func(i int) []any {
					if i < size {
						return []any{channel(0), user(i), user(0), now + int64(i)}
					}
					j := i - size + 1
					return []any{channel(j), user(0), user(0), now + int64(i)}
				})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return ds, fmt.Errorf("load %d memberships: %w", size, err)
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return ds, err
	}
	if err := os.WriteFile(marker, []byte(strconv.Itoa(size)), 0o644); err != nil {
		return ds, err
	}
	fmt.Fprintf(b.out, "%-44s %s\n", fmt.Sprintf("setup: load data set (%d memberships each)", size), time.Since(t0).Round(time.Millisecond))
	return ds, nil
}
