package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/session"
)

// securityConfig is the part of the configuration that decides who gets in
// and how much any client may take (issue 6; docs/security.md).
type securityConfig struct {
	credentials string    // --credentials: a file of keys
	envKeys     string    // BELFRY_KEYS: the same format, in the environment
	keys        []api.Key // both, parsed; none means the open development mode
	rateLimits  string    // --rate-limits: off or aws
	maxConns    int       // --max-connections, over both listeners
	readTimeout time.Duration
	writeTimout time.Duration
	idleTimeout time.Duration
}

// Server-side limits that are not flags.
const (
	readHeaderTimeout = 10 * time.Second // headers must arrive within this (slowloris)
	// The request line and headers at most 64 KiB (an ARN header is at most
	// 1,600 bytes): net/http reads 4,096 bytes past MaxHeaderBytes.
	maxHeaderBytes = 64<<10 - 4096
)

// securityFlags registers the flags and returns the function that checks
// them after parsing, returning every problem.
func (c *securityConfig) flags(fs interface {
	StringVar(p *string, name, value, usage string)
	Func(name, usage string, fn func(string) error)
}, env func(name, def string) string) func() []string {
	fs.StringVar(&c.credentials, "credentials", env("BELFRY_CREDENTIALS", ""), "file of access keys to verify SigV4 signatures with, one `<access-key-id> <secret> <scope>` a line (see docs/security.md); "+
		"also BELFRY_KEYS with the same lines separated by ';'; without either, every request is accepted (BELFRY_CREDENTIALS)")
	c.envKeys = env("BELFRY_KEYS", "")
	fs.StringVar(&c.rateLimits, "rate-limits", env("BELFRY_RATE_LIMITS", "off"), "off, or aws to apply AWS's default request rates with 429 ThrottledClientException (BELFRY_RATE_LIMITS)")
	raw := map[string]*string{}
	for _, f := range []struct{ name, env, def, usage string }{
		{"max-connections", "BELFRY_MAX_CONNECTIONS", "10000", "open connections (HTTP and WebSocket, over both listeners) at most; more wait to be accepted (BELFRY_MAX_CONNECTIONS, default 10000)"},
		{"read-timeout", "BELFRY_READ_TIMEOUT", "30s", "time to read a whole request, headers and body (BELFRY_READ_TIMEOUT, default 30s; headers alone: 10s)"},
		{"write-timeout", "BELFRY_WRITE_TIMEOUT", "60s", "time from the end of a request's headers to the end of its response (BELFRY_WRITE_TIMEOUT, default 60s)"},
		{"idle-timeout", "BELFRY_IDLE_TIMEOUT", "120s", "time a keep-alive connection may wait for its next request (BELFRY_IDLE_TIMEOUT, default 120s)"},
	} {
		v := env(f.env, f.def)
		raw[f.name] = &v
		fs.Func(f.name, f.usage, func(s string) error { *raw[f.name] = s; return nil })
	}
	return func() []string {
		var problems []string
		if c.credentials != "" {
			f, err := os.Open(c.credentials)
			if err != nil {
				problems = append(problems, fmt.Sprintf("--credentials: %v", err))
			} else {
				keys, err := api.ParseKeys(f, c.credentials)
				f.Close()
				if err != nil {
					problems = append(problems, fmt.Sprintf("--credentials: %v", err))
				}
				c.keys = append(c.keys, keys...)
			}
		}
		if c.envKeys != "" {
			keys, err := api.ParseKeys(strings.NewReader(c.envKeys), "BELFRY_KEYS")
			if err != nil {
				problems = append(problems, err.Error())
			}
			c.keys = append(c.keys, keys...)
		}
		seen := map[string]bool{}
		for _, k := range c.keys {
			if seen[k.AccessKeyID] {
				problems = append(problems, fmt.Sprintf("access key id %s is defined in both --credentials and BELFRY_KEYS", k.AccessKeyID))
			}
			seen[k.AccessKeyID] = true
		}
		if (c.credentials != "" || c.envKeys != "") && len(c.keys) == 0 && len(problems) == 0 {
			problems = append(problems, "--credentials/BELFRY_KEYS hold no key: remove them to run in the open development mode")
		}
		if c.rateLimits != "off" && c.rateLimits != "aws" {
			problems = append(problems, fmt.Sprintf("--rate-limits %q is not off or aws", c.rateLimits))
		}
		if n, err := strconv.Atoi(*raw["max-connections"]); err != nil || n < 1 {
			problems = append(problems, fmt.Sprintf("--max-connections %q is not a positive number", *raw["max-connections"]))
		} else {
			c.maxConns = n
		}
		for name, dst := range map[string]*time.Duration{"read-timeout": &c.readTimeout, "write-timeout": &c.writeTimout, "idle-timeout": &c.idleTimeout} {
			if d, err := time.ParseDuration(*raw[name]); err != nil || d <= 0 {
				problems = append(problems, fmt.Sprintf("--%s %q is not a positive duration", name, *raw[name]))
			} else {
				*dst = d
			}
		}
		return problems
	}
}

// describeKeys summarises the keys for the start-up line.
func describeKeys(keys []api.Key) string {
	n := map[chime.ScopeKind]int{}
	for _, k := range keys {
		n[k.Scope.Kind]++
	}
	return fmt.Sprintf("%d keys: %d admin, %d app-instance, %d user", len(keys), n[chime.ScopeAccount], n[chime.ScopeAppInstance], n[chime.ScopeUser])
}

// reloadKeys reads the credentials again (on SIGHUP); on any problem the
// keys in use stay.
func (c *securityConfig) reloadKeys() ([]api.Key, error) {
	var keys []api.Key
	if c.credentials != "" {
		f, err := os.Open(c.credentials)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if keys, err = api.ParseKeys(f, c.credentials); err != nil {
			return nil, err
		}
	}
	if c.envKeys != "" {
		more, err := api.ParseKeys(strings.NewReader(c.envKeys), "BELFRY_KEYS")
		if err != nil {
			return nil, err
		}
		keys = append(keys, more...)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key left: keeping the keys in use")
	}
	return keys, nil
}

// connLimit caps the connections open at once over several listeners: a
// listener takes a slot before it accepts, so that past the cap new
// connections wait in the kernel's accept queue instead of being served
// with less memory each.
type connLimit struct {
	slots    chan struct{}
	reserved atomic.Int64 // slots held by listeners waiting in Accept, not by connections
}

func newConnLimit(n int) *connLimit { return &connLimit{slots: make(chan struct{}, n)} }

// wrap returns ln under the cap.
func (c *connLimit) wrap(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, limit: c, done: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	limit *connLimit
	once  sync.Once
	done  chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	slots := l.limit.slots
	select {
	case slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	l.limit.reserved.Add(1)
	conn, err := l.Listener.Accept()
	l.limit.reserved.Add(-1)
	if err != nil {
		<-slots
		return nil, err
	}
	return &limitedConn{Conn: conn, release: func() { <-slots }}, nil
}

func (l *limitedListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// reloadOnHangup reads the credentials again on each SIGHUP until ctx ends,
// so that keys are added, rotated or revoked without a restart. The
// messaging sessions of a key revoked, rotated or re-scoped are ended.
func reloadOnHangup(ctx context.Context, c *securityConfig, auth *api.SigV4Auth, sessions *session.Server, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			keys, err := c.reloadKeys()
			if err != nil {
				log.Error("credentials not reloaded; the keys in use stay", "err", err)
				continue
			}
			changed := auth.SetKeys(keys)
			log.Info("credentials reloaded", "keys", describeKeys(keys), "sessions_ended", sessions.EndKeys(changed))
		}
	}
}

// checkWritable tells, before the store is opened, whether the data
// directory can be written: a read-only or full file system is named as
// such instead of surfacing as a store error.
func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--data %s cannot be created: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".belfry-write-check-*")
	if err != nil {
		return fmt.Errorf("--data %s is not writable: %w", dir, err)
	}
	name := f.Name()
	_, err = f.Write([]byte("ok"))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	os.Remove(name)
	if err != nil {
		return fmt.Errorf("--data %s is not writable: %w", dir, err)
	}
	return nil
}

// full tells whether connections take every slot (a listener waiting in
// Accept holds one for the next connection, which is not one yet).
func (c *connLimit) full() bool { return len(c.slots)-int(c.reserved.Load()) >= cap(c.slots) }

// rotate makes connections take turns past the cap: while every slot is
// taken, a response closes its connection (Connection: close), so that a
// connection waiting in the accept queue gets the slot instead of a
// keep-alive client holding it for ever. WebSocket upgrades are left alone.
func (c *connLimit) rotate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.full() && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}
