// Package store keeps Belfry's state in SQL. It only stores: business rules
// live in the service package. A unique violation becomes a Conflict, a
// missing row a NotFound.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the PostgreSQL driver
	"modernc.org/sqlite"               // the embedded SQL engine
)

//go:embed migrations
var migrations embed.FS

// Store is an open database: the embedded SQLite (one writer connection, a
// pool of readers) or PostgreSQL (one pool; write transactions at READ COMMITTED
// that lock the rows their checks read, see forUpdate).
// Queries are written once, with ? placeholders; the dialect seam rebinds them.
type Store struct {
	w  *sql.DB
	r  *sql.DB
	pg bool

	// explain, when set (by tests), receives the query plan of every list query.
	explain func(query string, plan []string)

	// SQLite: the group-commit queue of write transactions (see groupCommit),
	// the writer's own connection with its prepared statements, the readers'
	// prepared statements, and the member lists of channels (members.go).
	writes     chan *writeReq
	writerDone chan struct{}
	closeMu    sync.RWMutex
	closed     bool
	wconn      *sql.Conn
	wprep      *preparedConn // wconn's statements, used by the writer goroutine alone
	ck         *sql.DB       // the background checkpointer's connection
	ckStop     chan struct{}
	ckDone     chan struct{}
	readers    chan *preparedConn // the idle reader connections, nReaders in all (readSQLite)
	readersOff chan struct{}      // closed by Close
	members    *memberCache
	// The groups committed to the WAL and waiting for its fdatasync (syncer).
	synced   chan *committedGroup
	syncDone chan struct{}
	walPath  string
	// unsynced counts the groups handed to the syncer and not yet answered;
	// the syncer signals syncRound after each round of syncs (commitGroup
	// keeps its group open while one is under way).
	unsynced  atomic.Int64
	syncRound chan struct{}
	// syncFailed is the writer's epoch whose WAL sync failed (0: none). The
	// writer makes everything committed durable again (recoverSync) before
	// its next group, and moves to a new epoch.
	syncFailed atomic.Int64
	epoch      int64 // the writer's
	// rolledBack is set when a transaction of the writer's connection ends
	// in a rollback, asked for or not (an I/O error or a full disk may end
	// it in the middle of a group), and cleared at each BEGIN.
	rolledBack atomic.Bool

	stats storeStats
}

// storeStats are the store's running totals (Stats).
type storeStats struct {
	commits, writeTxs, failedTxs, reads atomic.Int64
	commitNanos                         atomic.Int64
	reruns                              atomic.Int64
}

// Stats are the store's running totals since it opened, for metrics.
type Stats struct {
	Commits      int64         // SQLite group commits (one fsync each); PostgreSQL write transactions
	WriteTxs     int64         // write transactions run (in groups that share a commit on SQLite)
	FailedTxs    int64         // write transactions that returned an error and were rolled back
	Reads        int64         // read transactions
	CommitTime   time.Duration // time spent committing groups (the fsync)
	CachedLists  int           // channels whose member list is held in memory
	CachedMember int           // member ARNs held in those lists
	Queued       int           // SQLite: write transactions waiting for the writer
	Reruns       int64         // SQLite: groups run again, with savepoints, after a failure past a write
}

// Stats returns the store's running totals.
func (s *Store) Stats() Stats {
	st := Stats{Commits: s.stats.commits.Load(), WriteTxs: s.stats.writeTxs.Load(), FailedTxs: s.stats.failedTxs.Load(),
		Reads: s.stats.reads.Load(), CommitTime: time.Duration(s.stats.commitNanos.Load()), Reruns: s.stats.reruns.Load()}
	if s.writes != nil {
		st.Queued = len(s.writes)
	}
	if s.members != nil {
		st.CachedLists, st.CachedMember = s.members.size()
	}
	return st
}

// writeReq is one write transaction waiting for the SQLite writer.
type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

// maxGroup bounds how many write transactions share one commit.
const maxGroup = 256

// limitParam ends a query with its row limit as a parameter. When the
// limit is a bare parameter, SQLite's planner reads its bound value, which
// marks the statement to be prepared again on its next run whenever that
// parameter is bound: every run (a sixth of a list page's CPU). "?+0" is an
// expression it does not read (TestNoBareLimitParameter).
const limitParam = ` LIMIT ?+0`

// ErrNotFound is returned by the Get methods when no row matches.
var ErrNotFound = errors.New("not found")

// IsPostgres tells whether target names a PostgreSQL database rather than a directory.
func IsPostgres(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Open opens the store named by target: a postgres:// URL, or a directory
// that holds (or will hold) the embedded SQLite store. It applies the
// migrations, safely even when several nodes start at once.
func Open(ctx context.Context, target string) (*Store, error) {
	var s *Store
	var err error
	if IsPostgres(target) {
		s, err = openPostgres(target)
	} else {
		s, err = openSQLite(target)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "belfry.db")
	// WAL with synchronous=FULL: a commit is on disk before the 2xx goes out.
	// The writer alone commits with synchronous=NORMAL and the syncer
	// fdatasyncs the WAL after each group instead, while the writer runs the
	// next group: no one is answered before that sync (groupCommit).
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(OFF)&_txlock=immediate"
	// The writer keeps up to 64 MiB of pages (SQLite's default is 2 MiB):
	// inserts into the membership indexes land on random pages, which were
	// read back from the file on almost every insert (BENCHMARKS.md).
	// The WAL is checkpointed in the background (checkpoints), not by the
	// commit that crosses the threshold; the writer's own checkpoint, at
	// 8,192 pages, only bounds the WAL and restarts it.
	// temp_store=MEMORY keeps the statement journals (of a statement, of a
	// savepoint: groupCommit) in memory: on a file, every page a write
	// touched was first copied there with a pwrite (BENCHMARKS.md).
	wdsn := strings.Replace(dsn, "synchronous(FULL)", "synchronous(NORMAL)", 1)
	w, err := sql.Open("sqlite", wdsn+"&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(8192)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	// The writer goroutine owns the one write connection for the store's
	// life, so that statements prepared on it are reused by every write
	// transaction (database/sql re-prepares a statement in each *sql.Tx).
	wconn, err := w.Conn(context.Background())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	r, err := sql.Open("sqlite", strings.Replace(dsn, "_txlock=immediate", "_txlock=deferred", 1)+"&_pragma=query_only(1)&_pragma=cache_size(-16384)")
	if err != nil {
		wconn.Close()
		w.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	r.SetMaxOpenConns(nReaders)
	r.SetMaxIdleConns(nReaders)
	readers := make(chan *preparedConn, nReaders)
	for range nReaders {
		c, err := r.Conn(context.Background())
		if err != nil {
			for range len(readers) {
				(<-readers).close()
			}
			r.Close()
			wconn.Close()
			w.Close()
			return nil, fmt.Errorf("open store: %w", err)
		}
		readers <- newPreparedConn(c)
	}
	ck, err := sql.Open("sqlite", dsn)
	if err != nil {
		wconn.Close()
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	ck.SetMaxOpenConns(1)
	s := &Store{w: w, r: r, ck: ck, wconn: wconn, wprep: newPreparedConn(wconn), members: newMemberCache(),
		readers: readers, readersOff: make(chan struct{}),
		writes: make(chan *writeReq, 1024), writerDone: make(chan struct{}), ckStop: make(chan struct{}), ckDone: make(chan struct{}),
		synced: make(chan *committedGroup, 4), syncDone: make(chan struct{}), syncRound: make(chan struct{}, 1), walPath: path + "-wal", epoch: 1}
	if err := wconn.Raw(func(c any) error {
		h, ok := c.(interface{ RegisterRollbackHook(sqlite.RollbackHookFn) })
		if !ok {
			return fmt.Errorf("the SQLite driver has no rollback hook (%T)", c)
		}
		h.RegisterRollbackHook(func() { s.rolledBack.Store(true) })
		return nil
	}); err != nil {
		wconn.Close()
		w.Close()
		r.Close()
		ck.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	go s.syncer()
	go s.groupCommit()
	go s.checkpoints()
	return s, nil
}

// nReaders is how many read transactions run at once on SQLite.
const nReaders = 4

// preparedConn is a SQLite connection held for the store's life with the
// statements prepared on it, each the first time it runs: the writer's, and
// each reader's, which a read transaction holds for its life (readSQLite).
// One goroutine at a time uses it.
type preparedConn struct {
	c     *sql.Conn
	stmts map[string]*sql.Stmt
}

func newPreparedConn(c *sql.Conn) *preparedConn {
	return &preparedConn{c: c, stmts: map[string]*sql.Stmt{}}
}

func (rc *preparedConn) stmt(q string) (*sql.Stmt, error) {
	if st, ok := rc.stmts[q]; ok {
		return st, nil
	}
	st, err := rc.c.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	rc.stmts[q] = st
	return st, nil
}

func (rc *preparedConn) exec(q string) error {
	st, err := rc.stmt(q)
	if err == nil {
		_, err = st.ExecContext(context.Background())
	}
	return err
}

func (rc *preparedConn) close() error {
	for _, st := range rc.stmts {
		st.Close()
	}
	return rc.c.Close()
}

func openPostgres(dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(time.Minute)
	return &Store{w: db, r: db, pg: true}, nil
}

// Close closes the store.
func (s *Store) Close() error {
	if s.writes != nil {
		s.closeMu.Lock()
		if !s.closed {
			s.closed = true
			close(s.writes)
		}
		s.closeMu.Unlock()
		<-s.writerDone
	}
	if s.ck != nil {
		close(s.ckStop)
		<-s.ckDone
		s.ck.Close()
	}
	if s.r == s.w {
		return s.w.Close()
	}
	var errs []error
	if s.readers != nil {
		close(s.readersOff)
		for range cap(s.readers) { // waits for the reads under way
			errs = append(errs, (<-s.readers).close())
		}
	}
	if s.wprep != nil {
		errs = append(errs, s.wprep.close())
	}
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// Ping checks that the database answers (on SQLite, through a reader:
// the writer's one connection is the writer goroutine's).
func (s *Store) Ping(ctx context.Context) error {
	if s.readers == nil {
		if err := s.r.PingContext(ctx); err != nil {
			return unavailable(err)
		}
		return nil
	}
	rc, err := s.reader()
	if err != nil {
		return err
	}
	defer func() { s.readers <- rc }()
	if err := rc.c.PingContext(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.pg {
		dir = "migrations/postgres"
	}
	names, err := migrations.ReadDir(dir)
	if err != nil {
		return err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	ctx = context.WithValue(ctx, migrationKey{}, true)
	// A database a newer build migrated has columns and meanings this one
	// does not know: serving it would answer wrongly, or 500, not refuse.
	known := map[string]bool{}
	for _, n := range names {
		known[n.Name()] = true
	}
	err = retryMigration(func() error {
		return s.Write(ctx, func(tx *Tx) error {
			if _, err := tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
				return err
			}
			applied, err := tx.strings(`SELECT name FROM schema_migrations ORDER BY name`)
			if err != nil {
				return err
			}
			for _, a := range applied {
				if !known[a] {
					return fmt.Errorf("%w: the database has migration %s; a newer Belfry upgraded it: run that version or a later one", errNewerSchema, a)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, n := range names {
		// Each migration is one transaction that also records it; a node that
		// loses the race to apply it (a unique violation, a deadlock) retries,
		// finds it recorded and moves on.
		err := retryMigration(func() error {
			return s.Write(ctx, func(tx *Tx) error {
				if _, err := tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY)`); err != nil {
					return err
				}
				var one int
				err := tx.queryRow(`SELECT 1 FROM schema_migrations WHERE name = ?`, n.Name()).Scan(&one)
				if err == nil {
					return nil
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
				body, err := migrations.ReadFile(dir + "/" + n.Name())
				if err != nil {
					return err
				}
				if _, err := tx.db.ExecContext(tx.ctx, string(body)); err != nil {
					return tx.mapErr(fmt.Errorf("migration %s: %w", n.Name(), err))
				}
				_, err = tx.exec(`INSERT INTO schema_migrations (name) VALUES (?)`, n.Name())
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// errNewerSchema: the database holds a migration this build does not know.
var errNewerSchema = errors.New("this build is older than the database's schema")

// retryMigration runs apply again while it fails, a few times: concurrent
// starts make the losers fail once; a broken migration still fails, later.
func retryMigration(apply func() error) error {
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		if err = apply(); err == nil || errors.Is(err, errNewerSchema) {
			return err
		}
		time.Sleep(time.Duration(attempt*attempt) * 10 * time.Millisecond)
	}
	return err
}

// Tx is one transaction. Its methods are the store's small operations.
type Tx struct {
	ctx     context.Context
	db      execer                            // the *sql.Tx, or the SQLite writer's connection inside BEGIN
	prep    func(q string) (*sql.Stmt, error) // a prepared statement for q (nil: run q unprepared); nil: none
	pg      bool
	write   bool
	explain func(query string, plan []string)

	// PostgreSQL: the users and bots this transaction tried to lock and
	// found absent (LockIdentity, LockIdentities). They stay absent to it:
	// at READ COMMITTED a later read could see one created since, which it
	// holds no lock on, and a deletion of that one would not wait for it.
	absent map[string]bool

	// SQLite: the member lists this transaction changed (members.go).
	members      *memberCache
	delta        *memberDelta // the current write transaction's (savepoint's)
	group        *memberDelta // those of earlier transactions in the same group
	skipCatchAll bool

	// The SQLite writer's: whether the current transaction may have changed
	// a row (exec, mayWrite), and whether the database rolled the group back of
	// its own accord (an I/O error, a full disk): no statement may run
	// after that, or it would run outside any transaction and stay.
	wrote      bool
	rolledBack *atomic.Bool
}

// execer is what a Tx runs statements on: a *sql.Tx or a *sql.Conn.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// forUpdate is the locking clause for the parent rows (app instances,
// channels) that a PostgreSQL write transaction reads: writers on one channel
// or app instance queue behind each other, so the checks they make (quotas,
// bans, existing members) hold. SQLite has one writer and needs none.
func (t *Tx) forUpdate(table string) string {
	if !t.pg || !t.write {
		return ""
	}
	if table == "" {
		return " FOR UPDATE"
	}
	return " FOR UPDATE OF " + table
}

// Write runs fn in a write transaction and commits it if fn returns nil. On
// PostgreSQL, the checks made inside it (quotas, bans, existing members) hold
// against concurrent writers on other nodes because the transaction locks
// the channel or app instance it reads (see forUpdate) and unique keys back
// every "at most one"; a transaction that deadlocks or, on a serializable
// engine such as CockroachDB, loses a conflict is run again from the start,
// so fn must set its results afresh on every run.
func (s *Store) Write(ctx context.Context, fn func(*Tx) error) error {
	if !s.pg {
		req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
		s.closeMu.RLock()
		if s.closed {
			s.closeMu.RUnlock()
			return unavailable(errors.New("the store is closed"))
		}
		s.writes <- req
		s.closeMu.RUnlock()
		return <-req.done
	}
	backoff := time.Millisecond
	for attempt := 0; ; attempt++ {
		s.stats.writeTxs.Add(1)
		err := s.run(ctx, s.w, false, fn)
		if err == nil {
			s.stats.commits.Add(1)
		} else {
			s.stats.failedTxs.Add(1)
		}
		if !s.pg || !isRetryable(err) {
			return err
		}
		if attempt >= 30 {
			return unavailable(fmt.Errorf("gave up after %d conflicting attempts: %w", attempt+1, err))
		}
		time.Sleep(backoff/2 + time.Duration(rand.Int64N(int64(backoff))))
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// checkpoints copies committed WAL frames into the database file every
// 100 ms while commits come in, from a connection of its own: a PASSIVE
// checkpoint waits for no one and the writer goes on committing meanwhile.
// Without it, the commit that crossed the WAL threshold did the whole copy
// (and its fsync) while every writer waited.
func (s *Store) checkpoints() {
	defer close(s.ckDone)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last := s.stats.commits.Load()
	for {
		select {
		case <-s.ckStop:
			return
		case <-t.C:
		}
		if n := s.stats.commits.Load(); n != last {
			last = n
			// An error (a full disk, say) is the writer's to report: it meets
			// the same disk at its next commit.
			s.ck.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// groupCommit is SQLite's only writer. It takes the write transactions
// waiting in the queue — as many as have gathered while the previous group
// ran, up to maxGroup — runs each in one transaction, and commits them
// together; while the syncer is still making earlier groups durable, the
// group stays open and takes the transactions that arrive meanwhile. Each
// fn sees the writes of those before it, exactly as if they had committed
// one by one; a fn that fails leaves no change (commitGroup: a savepoint
// each once one has failed after it wrote). The commit writes the WAL
// without waiting for the disk; the syncer then makes it durable with one fdatasync while the
// writer runs the next group, and only then answers the group's callers, so
// a 2xx still means durable. Readers may see a group before it is durable,
// as in any database whose commits are pipelined; none of its events goes
// out before the answer (the service publishes after Write returns).
func (s *Store) groupCommit() {
	defer close(s.writerDone)
	defer func() {
		close(s.synced)
		<-s.syncDone
	}()
	for first := range s.writes {
		s.commitGroup(first)
	}
}

// gather returns first and what else is waiting in ch already, up to max
// in all (0: no bound).
func gather[T any](ch <-chan T, first T, max int) []T {
	out := []T{first}
	for max == 0 || len(out) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, v)
		default:
			return out
		}
	}
	return out
}

func (s *Store) commitGroup(first *writeReq) {
	batch := gather(s.writes, first, maxGroup)
	// The writer's statements run without a deadline: on a context that can
	// be done, the driver watches each statement from a goroutine of its own
	// (3% of the CPU of a membership write), and a local file that hangs
	// blocks a system call, which no interrupt ends.
	ctx := context.Background()
	fail := func(err error) {
		s.stats.failedTxs.Add(int64(len(batch)))
		for _, r := range batch {
			r.done <- err
		}
	}
	c := s.wconn
	exec := s.wprep.exec
	if s.syncFailed.Load() == s.epoch { // a sync of this epoch failed
		if err := s.recoverSync(ctx); err != nil {
			fail(unavailable(fmt.Errorf("the store could not be made durable again: %w", err)))
			return
		}
		s.epoch++
	}
	begin := func() error {
		err := exec(`BEGIN IMMEDIATE`)
		s.rolledBack.Store(false)
		return err
	}
	if err := begin(); err != nil {
		fail(unavailable(err))
		return
	}
	rollback := func() { c.ExecContext(context.Background(), `ROLLBACK`) }
	tx := &Tx{ctx: ctx, db: c, prep: s.wprep.stmt, write: true, explain: s.explain, members: s.members, group: &memberDelta{}, rolledBack: &s.rolledBack}
	results := make([]error, 0, len(batch))
	// Each transaction runs in a savepoint of its own only once one of the
	// group has failed after it wrote. Until then none needs one: a
	// transaction that succeeds keeps its changes, one that fails before
	// it changes anything (Tx.wrote) has none to undo. A savepoint costs
	// two statements and a copy of each page it changes: 4% of the CPU of
	// an add. One that fails after it wrote rolls the group back, and the
	// group runs again from its first transaction with savepoints, so that
	// it rolls back alone as before.
	savepoints := false
	// run runs the transactions of batch from the first without a result;
	// on an error that ends the group, it rolls back and fails all of batch.
	var run func() bool
	run = func() bool {
		for _, r := range batch[len(results):] {
			if savepoints {
				if err := exec(`SAVEPOINT w`); err != nil {
					rollback()
					fail(tx.mapErr(err))
					return false
				}
			}
			tx.delta, tx.wrote = &memberDelta{}, false
			res := runGuarded(tx, r.fn)
			if s.rolledBack.Load() { // by the database: the group's changes are gone
				fail(unavailable(errRolledBack))
				return false
			}
			if !savepoints {
				if res != nil && tx.wrote {
					if err := exec(`ROLLBACK`); err != nil {
						fail(unavailable(err))
						return false
					}
					if err := begin(); err != nil {
						fail(unavailable(err))
						return false
					}
					results, tx.group, savepoints = results[:0], &memberDelta{}, true
					s.stats.reruns.Add(1)
					return run()
				}
				results = append(results, res)
				if res == nil {
					tx.group.merge(tx.delta)
				}
				continue
			}
			results = append(results, res)
			undo := `RELEASE w`
			if res != nil {
				undo = `ROLLBACK TO w`
			} else {
				tx.group.merge(tx.delta)
			}
			err := exec(undo)
			if err == nil && res != nil {
				err = exec(`RELEASE w`)
			}
			if err != nil {
				rollback()
				fail(tx.mapErr(err))
				return false
			}
		}
		return true
	}
	if !run() {
		return
	}
	// While the syncer is busy with earlier groups, a commit now would wait
	// for it all the same: the group stays open and takes what arrives
	// meanwhile, so that one commit and one sync serve them all (the
	// commits' WAL pages, written once for many, were the writer's largest
	// cost; BENCHMARKS.md).
	for open := true; open && len(batch) < maxGroup && s.unsynced.Load() > 0; {
		select {
		case r, ok := <-s.writes:
			if open = ok; ok {
				batch = append(batch, gather(s.writes, r, maxGroup-len(batch))...)
				if !run() {
					return
				}
			}
		case <-s.syncRound: // look again
		}
	}
	if err := tx.flushMemberCounts(); err != nil {
		rollback()
		fail(unavailable(err))
		return
	}
	t0 := time.Now()
	if err := exec(`COMMIT`); err != nil {
		rollback()
		fail(unavailable(err))
		return
	}
	// The next group reads what this one wrote: the cache must hold it too.
	s.members.apply(tx.group)
	s.unsynced.Add(1)
	s.synced <- &committedGroup{batch: batch, results: results, epoch: s.epoch, start: t0}
}

// committedGroup is a group in the WAL, waiting for the sync that makes it
// durable before its callers are answered.
type committedGroup struct {
	batch   []*writeReq
	results []error
	epoch   int64
	start   time.Time // of its commit
}

// syncer makes committed groups durable in commit order: one fdatasync of
// the WAL for every group committed before it started, then their answers.
// A failed sync fails every group of the writer's epoch (a later group may
// build on an earlier one the disk lost, so a later sync that succeeds
// proves nothing for it) until the writer has made the store durable again
// and moved to the next epoch (recoverSync). The changes of a group that
// failed this way may still be in the store: a 503 says the change is not
// known to be durable, not that it was not made.
func (s *Store) syncer() {
	defer close(s.syncDone)
	var wal *os.File
	defer func() {
		if wal != nil {
			wal.Close()
		}
	}()
	var syncErr error // the last failed sync's
	for g := range s.synced {
		groups := gather(s.synced, g, 0)
		if s.syncFailed.Load() < groups[len(groups)-1].epoch {
			var err error
			if wal == nil {
				wal, err = os.OpenFile(s.walPath, os.O_RDWR, 0)
			}
			if err == nil {
				err = fdatasync(wal)
			}
			if err != nil {
				syncErr = err
				s.syncFailed.Store(groups[len(groups)-1].epoch)
				if wal != nil {
					wal.Close()
					wal = nil
				}
			}
		}
		broken := s.syncFailed.Load()
		for _, g := range groups {
			s.stats.commits.Add(1)
			s.stats.commitNanos.Add(int64(time.Since(g.start)))
			s.stats.writeTxs.Add(int64(len(g.batch)))
			for i, r := range g.batch {
				res := g.results[i]
				if g.epoch <= broken {
					res = unavailable(fmt.Errorf("the write-ahead log could not be synced to disk: %v", syncErr))
				}
				if res != nil {
					s.stats.failedTxs.Add(1)
				}
				r.done <- res
			}
		}
		s.unsynced.Add(-int64(len(groups)))
		select {
		case s.syncRound <- struct{}{}:
		default: // a signal is pending already
		}
	}
}

// recoverSync makes durable again, after a failed WAL sync, everything
// committed: a FULL checkpoint copies the whole WAL into the database file
// with fresh writes and syncs it (a retried fsync of the WAL would prove
// nothing: the kernel may have dropped the pages that failed). The groups
// of the failed epoch still queued are failed by the syncer meanwhile.
func (s *Store) recoverSync(ctx context.Context) error {
	var busy, logFrames, done int
	if err := s.wconn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(FULL)`).Scan(&busy, &logFrames, &done); err != nil {
		return err
	}
	if busy != 0 || done < logFrames {
		return fmt.Errorf("checkpoint incomplete (%d of %d frames)", done, logFrames)
	}
	return nil
}

// runGuarded runs fn, turning a panic into an error so that one bad
// transaction cannot take the writer, and the others in its group, down.
func runGuarded(tx *Tx, fn func(*Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write transaction panicked: %v", p)
		}
	}()
	return fn(tx)
}

// Read runs fn in a read-only transaction.
func (s *Store) Read(ctx context.Context, fn func(*Tx) error) error {
	s.stats.reads.Add(1)
	if s.readers != nil {
		return s.readSQLite(fn)
	}
	return s.run(ctx, s.r, true, fn)
}

// reader takes an idle reader connection, waiting txTimeout at most (and
// not on the caller's context: a read, like a write, is not cut by a client
// that hangs up).
func (s *Store) reader() (*preparedConn, error) {
	select {
	case rc := <-s.readers:
		return rc, nil
	default:
	}
	t := time.NewTimer(txTimeout)
	defer t.Stop()
	select {
	case rc := <-s.readers:
		return rc, nil
	case <-s.readersOff:
		return nil, unavailable(errors.New("the store is closed"))
	case <-t.C:
		return nil, unavailable(errors.New("no reader connection came free in time"))
	}
}

// readSQLite runs fn in a read transaction on a reader connection of its
// own, whose BEGIN, COMMIT and queries are prepared on it once for its life
// (through database/sql's transactions, BEGIN and COMMIT were parsed on
// every read, each query bound to the transaction again, and a goroutine
// watched each transaction's deadline: BENCHMARKS.md, session 9). Its
// statements run without a deadline, as the writer's do: a local file that
// hangs blocks a system call, which no interrupt ends.
func (s *Store) readSQLite(fn func(*Tx) error) error {
	rc, err := s.reader()
	if err != nil {
		return err
	}
	open := false
	defer func() {
		if open { // fn failed or panicked: the connection goes back out of any transaction
			rc.c.ExecContext(context.Background(), `ROLLBACK`)
		}
		s.readers <- rc
	}()
	if err := rc.exec(`BEGIN`); err != nil {
		return unavailable(err)
	}
	open = true
	if err := fn(&Tx{ctx: context.Background(), db: rc.c, prep: rc.stmt, explain: s.explain, members: s.members}); err != nil {
		return err
	}
	if err := rc.exec(`COMMIT`); err != nil {
		return unavailable(err)
	}
	open = false
	return nil
}

func (s *Store) run(ctx context.Context, db *sql.DB, readOnly bool, fn func(*Tx) error) error {
	// The transaction must not die with a client that hangs up mid-commit:
	// a change is either applied whole or not at all, never cut by the caller.
	// It is bounded all the same, so that a lost database is a 503, not a hang.
	timeout := txTimeout
	if ctx.Value(migrationKey{}) != nil {
		timeout = migrationTimeout
	}
	txCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	sqlTx, err := db.BeginTx(txCtx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return unavailable(err)
	}
	tx := &Tx{ctx: txCtx, db: sqlTx, pg: s.pg, write: !readOnly, explain: s.explain, members: s.members}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		if isRetryable(err) {
			return err
		}
		return unavailable(err)
	}
	return nil
}

// txTimeout bounds one transaction, including waiting for a connection.
const txTimeout = 30 * time.Second

// migrationTimeout bounds a migration's transaction on PostgreSQL instead:
// one that rewrites or indexes a large table (0010, 0011, 0013 read every
// message) takes longer than a request may, and a node that cannot finish
// one never starts.
const migrationTimeout = time.Hour

// migrationKey marks the context of migrate's transactions.
type migrationKey struct{}

// errRolledBack: the database ended the writer's transaction of its own accord.
var errRolledBack = errors.New("the database rolled the write transaction back")

// unavailable marks storage failures (connection lost, disk full, I/O) as 503s.
func unavailable(err error) error {
	if ce := (*chime.Error)(nil); errors.As(err, &ce) {
		return err
	}
	return &chime.Error{Kind: chime.KindServiceUnavailable, Message: "The store is unavailable: " + err.Error()}
}

func isRetryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// mapErr turns a driver error into what the service expects: a unique
// violation is a Conflict, a lost database a 503, a serialization failure
// is kept for Write to retry; anything else stays an internal error.
func (t *Tx) mapErr(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23505", strings.Contains(err.Error(), "UNIQUE constraint failed"):
		return chime.Errorf(chime.KindConflict, "The resource already exists.")
	case isRetryable(err):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return unavailable(err)
	case errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") || strings.HasPrefix(pe.Code, "57")):
		return unavailable(err)
	case t.pg && !errors.As(err, &pe):
		return unavailable(err) // no SQLSTATE: the connection, not the statement, failed
	case !t.pg && isSQLiteUnavailable(err):
		return unavailable(err)
	}
	return fmt.Errorf("store: %w", err)
}

// isSQLiteUnavailable spots the SQLite failures of the machine, not the query.
func isSQLiteUnavailable(err error) bool {
	msg := err.Error()
	for _, s := range []string{"SQLITE_FULL", "database or disk is full", "SQLITE_READONLY", "readonly database", "SQLITE_IOERR", "disk I/O error", "SQLITE_BUSY", "database is locked", "SQLITE_CANTOPEN"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// insertOne begins a statement that inserts one row at most: INSERT OR
// FAIL on SQLite. Inside a transaction SQLite gives every INSERT that may
// abort on a constraint (a NOT NULL column, say) a statement journal, to
// undo the rows it inserted before the one that failed: each page the
// statement changes is copied there first (3% of the CPU of a membership
// add, BENCHMARKS.md). FAIL keeps what the statement did before the
// failure instead, so it needs no journal; and with one row there is
// nothing before it: SQLite checks every constraint of a row before it
// writes any of it. (An I/O error or a full disk without a statement
// journal rolls the whole transaction back: the writer fails its group,
// groupCommit.) A statement of several rows must not use it.
func (t *Tx) insertOne() string {
	if t.pg {
		return "INSERT"
	}
	return "INSERT OR FAIL"
}

// rebind rewrites ? placeholders as $1, $2, ... for PostgreSQL.
func (t *Tx) rebind(q string) string {
	if !t.pg {
		return q
	}
	var b strings.Builder
	n := 0
	inQuote := false
	for _, c := range q {
		switch {
		case c == '\'':
			inQuote = !inQuote
		case c == '?' && !inQuote:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (t *Tx) exec(q string, args ...any) (sql.Result, error) {
	var res sql.Result
	var err error
	if st, perr := t.stmt(q); perr != nil {
		err = perr
	} else if st != nil {
		res, err = st.ExecContext(t.ctx, args...)
	} else {
		res, err = t.db.ExecContext(t.ctx, t.rebind(q), args...)
	}
	if !unchanged(q, res, err) {
		t.wrote = true
	}
	if err != nil {
		return nil, t.mapErr(err)
	}
	if t.delta != nil && !t.skipCatchAll && changesMembers(q) {
		t.delta.all = true // a change of memberships that no Tx method accounted for
	}
	if t.delta != nil && changesIdentities(q) {
		t.delta.identities = true
	}
	if t.delta != nil && changesChannels(q) {
		t.delta.channels = true
	}
	if t.delta != nil && changesRoles(q) {
		t.delta.roles = true
	}
	return res, nil
}

// unchanged reports whether a statement surely left the database as it
// was: an INSERT, UPDATE or DELETE that succeeded and touched no row (there
// are no triggers). Any other statement may have written.
func unchanged(q string, res sql.Result, err error) bool {
	if err != nil {
		return false
	}
	q = strings.TrimLeft(q, " \t\n")
	if !strings.HasPrefix(q, "INSERT") && !strings.HasPrefix(q, "UPDATE") && !strings.HasPrefix(q, "DELETE") {
		return false
	}
	n, err := res.RowsAffected()
	return err == nil && n == 0
}

// mayWrite notes a query that is not a SELECT (one with RETURNING, say).
func (t *Tx) mayWrite(q string) {
	if !strings.HasPrefix(strings.TrimLeft(q, " \t\n"), "SELECT") {
		t.wrote = true
	}
}

// resultRows is a query's result whose Err maps driver errors as exec does:
// a connection lost mid-iteration ends Next, and Err reports it as a 503,
// not a 500. (Scan fails only on a column it cannot convert: a bug, left a 500.)
type resultRows struct {
	*sql.Rows
	t *Tx
}

func (r *resultRows) Err() error { return r.t.mapErr(r.Rows.Err()) }

func (t *Tx) query(q string, args ...any) (*resultRows, error) {
	t.mayWrite(q)
	if t.explain != nil && !t.pg {
		t.explainQuery(q, args)
	}
	var r *sql.Rows
	var err error
	if st, perr := t.stmt(q); perr != nil {
		err = perr
	} else if st != nil {
		r, err = st.QueryContext(t.ctx, args...)
	} else {
		r, err = t.db.QueryContext(t.ctx, t.rebind(q), args...)
	}
	if err != nil {
		return nil, t.mapErr(err)
	}
	return &resultRows{Rows: r, t: t}, nil
}

// row is a single-row result whose Scan maps driver errors like exec does.
type row struct {
	t   *Tx
	r   *sql.Row
	err error // preparing the statement failed
}

func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.t.mapErr(r.err)
	}
	return r.t.mapErr(r.r.Scan(dest...))
}

func (t *Tx) queryRow(q string, args ...any) row {
	t.mayWrite(q)
	st, err := t.stmt(q)
	if err != nil {
		return row{t: t, err: err}
	}
	if st != nil {
		return row{t: t, r: st.QueryRowContext(t.ctx, args...)}
	}
	return row{t: t, r: t.db.QueryRowContext(t.ctx, t.rebind(q), args...)}
}

// stmt returns the prepared statement for q, or nil to run q unprepared.
func (t *Tx) stmt(q string) (*sql.Stmt, error) {
	if t.rolledBack != nil && t.rolledBack.Load() {
		return nil, unavailable(errRolledBack)
	}
	if t.prep == nil {
		return nil, nil
	}
	return t.prep(q)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Page is one page of a list: the items and, when more follow, the cursor
// (the seq of the last item) to continue after.
type Page[T any] struct {
	Items []T
	Next  int64 // 0 when this is the last page
}

// scanPage reads up to limit rows with scan, which returns each row's seq,
// and sets Next when a further row exists.
func scanPage[T any](rows *resultRows, limit int, scan func(*resultRows) (T, int64, error)) (Page[T], error) {
	defer rows.Close()
	var p Page[T]
	var last int64
	for rows.Next() {
		if len(p.Items) == limit {
			p.Next = last
			break
		}
		item, seq, err := scan(rows)
		if err != nil {
			return p, fmt.Errorf("store scan: %w", err)
		}
		p.Items = append(p.Items, item)
		last = seq
	}
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("store rows: %w", err)
	}
	return p, nil
}

// GetMeta returns a value from the meta table, "" if absent.
func (t *Tx) GetMeta(key string) (string, error) {
	var v string
	err := t.queryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// AddMeta sets key to value unless it is set already (by anyone: two nodes
// starting at once both find it missing, and the first to commit wins).
func (t *Tx) AddMeta(key, value string) error {
	_, err := t.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
	return err
}

// PutMeta sets a value in the meta table.
func (t *Tx) PutMeta(key, value string) error {
	_, err := t.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Idempotent is a stored ClientRequestToken use.
type Idempotent struct {
	Fingerprint string
	Result      string
	Created     time.Time
}

// GetIdempotent returns the stored use of token in scope, or ErrNotFound.
func (t *Tx) GetIdempotent(scope, token string) (Idempotent, error) {
	var i Idempotent
	var created int64
	err := t.queryRow(`SELECT fingerprint, result, created_ms FROM idempotency WHERE scope = ? AND token = ?`, scope, token).
		Scan(&i.Fingerprint, &i.Result, &created)
	i.Created = fromMS(created)
	return i, notFound(err)
}

// PutIdempotent records (or replaces an expired) use of token in scope.
func (t *Tx) PutIdempotent(scope, token string, i Idempotent) error {
	_, err := t.exec(`INSERT INTO idempotency (scope, token, fingerprint, result, created_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (scope, token) DO UPDATE SET fingerprint = excluded.fingerprint, result = excluded.result, created_ms = excluded.created_ms`,
		scope, token, i.Fingerprint, i.Result, ms(i.Created))
	return err
}

// DeleteIdempotentBefore deletes at most limit of the token uses recorded
// before cutoff, in no order; it returns how many (fewer than limit: none
// is left).
func (t *Tx) DeleteIdempotentBefore(cutoff time.Time, limit int) (int64, error) {
	res, err := t.exec(`DELETE FROM idempotency WHERE (scope, token) IN
		(SELECT scope, token FROM idempotency WHERE created_ms < ?`+limitParam+`)`, ms(cutoff), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ReplaceTags merges tags into the resource's tags.
func (t *Tx) PutTags(resource string, tags []chime.Tag) error {
	for _, tag := range tags {
		if _, err := t.exec(`INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?) ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value`,
			resource, tag.Key, tag.Value); err != nil {
			return err
		}
	}
	return nil
}

// RemoveTags removes the given keys from the resource's tags.
func (t *Tx) RemoveTags(resource string, keys []string) error {
	for _, k := range keys {
		if _, err := t.exec(`DELETE FROM tags WHERE resource_arn = ? AND key = ?`, resource, k); err != nil {
			return err
		}
	}
	return nil
}

// ListTags returns the resource's tags sorted by key, byte by byte: sorted
// here, not by ORDER BY, whose order on PostgreSQL is the database's collation.
func (t *Tx) ListTags(resource string) ([]chime.Tag, error) {
	rows, err := t.query(`SELECT key, value FROM tags WHERE resource_arn = ?`, resource)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tags []chime.Tag
	for rows.Next() {
		var tag chime.Tag
		if err := rows.Scan(&tag.Key, &tag.Value); err != nil {
			return nil, err
		}
		tags = append(tags, tag)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	return tags, rows.Err()
}

func (t *Tx) deleteTagsUnder(prefix string) error {
	_, err := t.exec(`DELETE FROM tags WHERE resource_arn = ? OR resource_arn LIKE ? ESCAPE '\'`, prefix, likePrefix(prefix+"/"))
	return err
}

// likePrefix escapes s for a LIKE pattern matching everything that starts with s.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

func (t *Tx) explainQuery(q string, args []any) {
	rows, err := t.db.QueryContext(t.ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.explain(q, []string{"explain failed: " + err.Error()})
		return
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			plan = append(plan, "explain failed: "+err.Error())
			break
		}
		plan = append(plan, detail)
	}
	t.explain(q, plan)
}
