package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/metrics"
	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/session"
	"github.com/belfry/belfry/internal/store"
)

// errUsage marks a configuration error: exit status 2.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

type config struct {
	listen    string
	data      string
	store     string
	bus       string
	admin     string
	accountID string
	logLevel  string
	reapEvery time.Duration

	// TLS and messaging sessions
	tlsCert, tlsKey string           // --tls-cert/--tls-key, checked to load
	tlsPair         *tls.Certificate // the loaded --tls-cert/--tls-key
	tlsSelfSigned   bool
	tlsListen       string // where the TLS listener answers when TLS is on
	sessionEndpoint string // what GetMessagingSessionEndpoint returns, "" to derive it
	maxSessions     int
	prefetches      int // sessions reading their prefetch at once

	quotas service.Quotas // --quotas over service.DefaultQuotas (rule D17)

	sec securityConfig // credentials, rate limits, connection cap and timeouts (security.go)
}

// tls tells whether the TLS listener is on.
func (c config) tls() bool { return c.tlsPair != nil || c.tlsSelfSigned }

// parseConfig reads flags, each with a BELFRY_* environment equivalent
// (a flag wins over the environment), and reports every problem at once.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c config
	fs := flag.NewFlagSet("belfry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", env("BELFRY_LISTEN", "127.0.0.1:8080"), "address to serve both APIs on (BELFRY_LISTEN)")
	fs.StringVar(&c.data, "data", env("BELFRY_DATA", "./belfry-data"), "directory of the embedded store (BELFRY_DATA)")
	fs.StringVar(&c.store, "store", env("BELFRY_STORE", ""), "a postgres:// URL to keep state in PostgreSQL instead of the embedded store (BELFRY_STORE)")
	fs.StringVar(&c.bus, "bus", env("BELFRY_BUS", ""), "a nats:// URL to carry events between nodes; default: in-process (BELFRY_BUS)")
	fs.StringVar(&c.admin, "admin-listen", env("BELFRY_ADMIN_LISTEN", ""), "address of the admin listener with /healthz, /readyz, /metrics and /debug/pprof/; off when empty (BELFRY_ADMIN_LISTEN)")
	fs.StringVar(&c.accountID, "account-id", env("BELFRY_ACCOUNT_ID", ""), "12-digit AWS account ID put in ARNs; default: a 12-digit access key ID, else 000000000000 (BELFRY_ACCOUNT_ID)")
	fs.StringVar(&c.logLevel, "log-level", env("BELFRY_LOG_LEVEL", "info"), "debug, info, warn or error (BELFRY_LOG_LEVEL)")
	reapEvery := env("BELFRY_REAP_INTERVAL", "1m")
	fs.Func("reap-interval", "how often expired messages, channels and users are deleted (BELFRY_REAP_INTERVAL, default 1m)", func(v string) error {
		reapEvery = v
		return nil
	})
	fs.StringVar(&c.tlsCert, "tls-cert", env("BELFRY_TLS_CERT", ""), "PEM certificate (chain) for the TLS listener; with --tls-key (BELFRY_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "tls-key", env("BELFRY_TLS_KEY", ""), "PEM private key of --tls-cert (BELFRY_TLS_KEY)")
	selfSigned := env("BELFRY_TLS_SELF_SIGNED", "false")
	fs.BoolFunc("tls-self-signed", "serve TLS with a certificate for 127.0.0.1, localhost and the listen hosts, issued by a local CA kept in --data as "+
		selfSignedCA+" for clients to trust (BELFRY_TLS_SELF_SIGNED)", func(v string) error {
		selfSigned = v
		return nil
	})
	fs.StringVar(&c.tlsListen, "tls-listen", env("BELFRY_TLS_LISTEN", ""), "address of the TLS listener (https:// and wss://) when TLS is on; default: the --listen host with port 8443, or port 0 when --listen has port 0 (BELFRY_TLS_LISTEN)")
	fs.StringVar(&c.sessionEndpoint, "session-endpoint", env("BELFRY_SESSION_ENDPOINT", ""), "host:port GetMessagingSessionEndpoint returns; default: the host the client called with the port of the TLS listener when TLS is on, else of --listen (BELFRY_SESSION_ENDPOINT)")
	maxSessions := env("BELFRY_MAX_SESSIONS_PER_USER", "10")
	fs.Func("max-sessions-per-user", "concurrent messaging sessions per user (BELFRY_MAX_SESSIONS_PER_USER, default 10)", func(v string) error {
		maxSessions = v
		return nil
	})
	prefetches := env("BELFRY_SESSION_PREFETCHES", "3")
	fs.Func("session-prefetches", "messaging sessions reading their prefetch-on=connect at once, per node (BELFRY_SESSION_PREFETCHES, default 3)", func(v string) error {
		prefetches = v
		return nil
	})
	quotas := env("BELFRY_QUOTAS", "")
	fs.Func("quotas", "resource quotas other than AWS's defaults, as Name=N,...; names: "+strings.Join(quotaNames(), ", ")+" (BELFRY_QUOTAS)", func(v string) error {
		quotas = v
		return nil
	})
	checkSecurity := c.sec.flags(fs, env)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: belfry [flags]\n\nBelfry serves the Amazon Chime SDK Messaging and Identity APIs.\nPoint an AWS SDK's endpoint_url at it.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Parse past a bad flag so that every problem is reported at once; the
	// usage text is printed only when asked for.
	fs.SetOutput(io.Discard)
	var problems []string
	for rest := args; ; {
		err := fs.Parse(rest)
		if err == nil {
			break
		}
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return c, flag.ErrHelp
		}
		problems = append(problems, err.Error())
		next := fs.Args()
		if len(next) == len(rest) { // "bad flag syntax" leaves the argument in place
			next = next[1:]
		}
		rest = next
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		problems = append(problems, fmt.Sprintf("--listen %q is not host:port", c.listen))
	}
	if c.data == "" {
		problems = append(problems, "--data must not be empty")
	}
	if c.bus != "" && !strings.HasPrefix(c.bus, "nats://") && !strings.HasPrefix(c.bus, "tls://") {
		problems = append(problems, fmt.Sprintf("--bus %q is not a nats:// URL", c.bus))
	}
	if c.admin != "" {
		if _, _, err := net.SplitHostPort(c.admin); err != nil {
			problems = append(problems, fmt.Sprintf("--admin-listen %q is not host:port", c.admin))
		}
	}
	if c.store != "" && !store.IsPostgres(c.store) {
		problems = append(problems, fmt.Sprintf("--store %q is not a postgres:// or postgresql:// URL", c.store))
	}
	if c.accountID != "" && !regexp.MustCompile(`^[0-9]{12}$`).MatchString(c.accountID) {
		problems = append(problems, fmt.Sprintf("--account-id %q is not 12 digits", c.accountID))
	}
	if d, err := time.ParseDuration(reapEvery); err != nil || d <= 0 {
		problems = append(problems, fmt.Sprintf("--reap-interval %q is not a positive duration", reapEvery))
	} else {
		c.reapEvery = d
	}
	if _, ok := logLevels[c.logLevel]; !ok {
		problems = append(problems, fmt.Sprintf("--log-level %q is not debug, info, warn or error", c.logLevel))
	}
	problems = append(problems, c.parseSessionConfig(selfSigned, maxSessions, prefetches)...)
	var err error
	if c.quotas, err = parseQuotas(quotas); err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, checkSecurity()...)
	if len(problems) > 0 {
		return c, fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	return c, nil
}

// parseSessionConfig checks the TLS and messaging session settings and
// returns every problem.
func (c *config) parseSessionConfig(selfSigned, maxSessions, prefetches string) []string {
	var problems []string
	var err error
	if c.tlsSelfSigned, err = strconv.ParseBool(selfSigned); err != nil {
		problems = append(problems, fmt.Sprintf("--tls-self-signed %q is not true or false", selfSigned))
	}
	switch {
	case (c.tlsCert == "") != (c.tlsKey == ""):
		problems = append(problems, "--tls-cert and --tls-key go together")
	case c.tlsCert != "" && c.tlsSelfSigned:
		problems = append(problems, "--tls-self-signed and --tls-cert exclude each other")
	case c.tlsCert != "":
		pair, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--tls-cert/--tls-key: %v", err))
		} else {
			c.tlsPair = &pair
		}
	}
	if c.tlsListen == "" {
		if host, port, err := net.SplitHostPort(c.listen); err == nil {
			if port != "0" {
				port = "8443"
			}
			c.tlsListen = net.JoinHostPort(host, port)
		}
	} else if _, _, err := net.SplitHostPort(c.tlsListen); err != nil {
		problems = append(problems, fmt.Sprintf("--tls-listen %q is not host:port", c.tlsListen))
	} else if c.tlsCert == "" && !c.tlsSelfSigned {
		problems = append(problems, "--tls-listen needs --tls-cert and --tls-key, or --tls-self-signed")
	}
	if c.sessionEndpoint != "" {
		if _, _, err := net.SplitHostPort(c.sessionEndpoint); err != nil || strings.ContainsAny(c.sessionEndpoint, "/?#@") {
			problems = append(problems, fmt.Sprintf("--session-endpoint %q is not a bare host:port (no scheme, no path)", c.sessionEndpoint))
		}
	}
	if n, err := strconv.Atoi(maxSessions); err != nil || n < 1 {
		problems = append(problems, fmt.Sprintf("--max-sessions-per-user %q is not a positive number", maxSessions))
	} else {
		c.maxSessions = n
	}
	if n, err := strconv.Atoi(prefetches); err != nil || n < 1 {
		problems = append(problems, fmt.Sprintf("--session-prefetches %q is not a positive number", prefetches))
	} else {
		c.prefetches = n
	}
	return problems
}

var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// run wires config → store → service → api → serve, and stops gracefully
// when ctx ends: in-flight requests finish, then the store closes.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevels[cfg.logLevel]}))

	target := cfg.data
	if cfg.store != "" {
		target = cfg.store
	}
	if cfg.store == "" {
		if err := checkWritable(cfg.data); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	var events bus.Bus = bus.NewLocal()
	busHealth := func() error { return nil }
	if cfg.bus != "" {
		nb, err := bus.NewNATS(cfg.bus, bus.NATSOptions{Filter: true, Log: log})
		if err != nil {
			return err
		}
		events, busHealth = nb, nb.Healthy
	}
	defer events.Close()
	reg, m := newMetrics(st)
	svc, err := service.New(ctx, st, service.Options{Bus: m.Bus(events), Quotas: &cfg.quotas})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	conns := newConnLimit(cfg.sec.maxConns) // one cap over both listeners
	ln = conns.wrap(ln)
	// The listener layout: --listen serves the REST API and /connect over
	// plain HTTP and ws://; with TLS on, --tls-listen serves both again over
	// https:// and wss://, which amazon-chime-sdk-js requires, and
	// GetMessagingSessionEndpoint names that listener.
	var tlsLn net.Listener
	var trust string
	sessionAddr := ln.Addr().String()
	if cfg.tls() {
		var cert tls.Certificate
		if cfg.tlsPair != nil {
			cert = *cfg.tlsPair
		} else if cert, trust, err = selfSignedCertificate(cfg.data, selfSignedHosts(cfg.listen, cfg.tlsListen), time.Now()); err != nil {
			return err
		}
		if tlsLn, err = net.Listen("tcp", cfg.tlsListen); err != nil {
			return err
		}
		// HTTP/1.1 only: WebSockets upgrade over HTTP/1.1.
		tlsLn = tls.NewListener(conns.wrap(tlsLn), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		defer tlsLn.Close()
		sessionAddr = tlsLn.Addr().String()
	}
	// Who gets in (docs/security.md): with keys, every request is verified
	// (SigV4) and held to its key's scope; without, the open development mode.
	var auth api.Authenticator = api.OpenAuth{Account: cfg.accountID}
	var sigAuth *api.SigV4Auth
	if len(cfg.sec.keys) > 0 {
		sigAuth = api.NewSigV4Auth(cfg.sec.keys, cfg.accountID, nil)
		auth = sigAuth
	}
	apiOpts := []api.Option{api.WithSessionEndpoint(sessionEndpoint(cfg.sessionEndpoint, sessionAddr)), api.WithWriteHealth(busHealth), api.WithObserver(m)}
	sesCfg := session.Config{MaxSessionsPerUser: cfg.maxSessions, Prefetches: cfg.prefetches}
	if cfg.sec.rateLimits == "aws" {
		limits := api.NewAWSRateLimits(nil)
		apiOpts = append(apiOpts, api.WithRateLimits(limits))
		sesCfg.AllowConnect = limits.AllowConnect
	}
	handler, err := api.New(svc, auth, log, apiOpts...)
	if err != nil {
		return err
	}
	sessions, err := session.New(svc, auth, events, log, sesCfg)
	if err != nil {
		return err
	}
	metrics.Sessions(reg, sessions.Connected, sessions.Frames)
	newServer := func() *http.Server {
		return &http.Server{Handler: conns.rotate(sessions.Handler(handler)), ReadHeaderTimeout: min(readHeaderTimeout, cfg.sec.readTimeout), ReadTimeout: cfg.sec.readTimeout,
			WriteTimeout: cfg.sec.writeTimout, IdleTimeout: cfg.sec.idleTimeout, MaxHeaderBytes: maxHeaderBytes,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	}
	srv := newServer()
	fmt.Fprintf(stdout, "belfry: serving Chime SDK Messaging and Identity on http://%s (data in %s)\n", ln.Addr(), redact(target))
	if sigAuth != nil {
		fmt.Fprintf(stdout, "belfry: SigV4 signatures verified (%s); rate limits %s\n", describeKeys(cfg.sec.keys), cfg.sec.rateLimits)
		go reloadOnHangup(ctx, &cfg.sec, sigAuth, sessions, log)
	} else {
		log.Warn("signature verification is off: every request is accepted, signed with any credentials or unsigned")
		fmt.Fprintf(stdout, "belfry: WARNING: open development mode: no credentials configured (--credentials), every request is accepted unsigned or signed with any key; rate limits %s\n", cfg.sec.rateLimits)
	}
	if tlsLn != nil {
		line := fmt.Sprintf("belfry: TLS on https://%s, messaging sessions at wss://%s/connect", tlsLn.Addr(), tlsLn.Addr())
		if trust != "" {
			line += ", clients trust " + trust
		}
		fmt.Fprintln(stdout, line)
	}

	if cfg.admin != "" {
		adminLn, err := net.Listen("tcp", cfg.admin)
		if err != nil {
			return err
		}
		adminSrv := &http.Server{Handler: adminHandler(st, busHealth, metricsHandler(reg)), ReadHeaderTimeout: 10 * time.Second}
		go adminSrv.Serve(adminLn)
		defer adminSrv.Close()
		fmt.Fprintf(stdout, "belfry: admin on http://%s (/healthz, /readyz, /metrics, /debug/pprof/)\n", adminLn.Addr())
	}

	reapCtx, stopReaper := context.WithCancel(ctx)
	defer stopReaper()
	go svc.RunReaper(reapCtx, cfg.reapEvery, log)

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	var tlsSrv *http.Server
	if tlsLn != nil {
		tlsSrv = newServer()
		go func() { errc <- tlsSrv.Serve(tlsLn) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Sessions first: each is closed with 1001 and no new one is accepted;
	// then the listeners stop and in-flight requests finish.
	if err := sessions.Close(shutdownCtx); err != nil {
		log.Warn("messaging sessions did not all close", "err", err)
	}
	if tlsSrv != nil {
		if err := tlsSrv.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "belfry: stopped")
	return nil
}

// sessionEndpoint returns what GetMessagingSessionEndpoint answers: the
// configured endpoint, else the host the client called with the port of
// the session listener at addr (the TLS one when TLS is on).
func sessionEndpoint(configured, addr string) func(requestHost string) string {
	return func(requestHost string) string {
		if configured != "" {
			return configured
		}
		lhost, port, _ := net.SplitHostPort(addr)
		host, _, err := net.SplitHostPort(requestHost)
		if err != nil {
			host = requestHost // a Host without a port
		}
		if host == "" {
			host = lhost
			if ip := net.ParseIP(lhost); ip != nil && ip.IsUnspecified() {
				host = "127.0.0.1"
			}
		}
		return net.JoinHostPort(strings.Trim(host, "[]"), port)
	}
}

// redact hides a URL's password before the store is named in output.
func redact(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.User == nil {
		return target
	}
	return u.Redacted()
}

// adminHandler serves /healthz (the process answers) and /readyz (the store
// and the bus answer too; 503 with the reason otherwise), /metrics
// (Prometheus) and /debug/pprof/ (profiles, and execution traces).
func adminHandler(st *store.Store, busHealth func() error, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		var problems []string
		if err := st.Ping(ctx); err != nil {
			problems = append(problems, "store: "+err.Error())
		}
		if err := busHealth(); err != nil {
			problems = append(problems, "bus: "+err.Error())
		}
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(problems, "\n"))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// quotaNames are the names --quotas takes: service.Quotas' fields.
func quotaNames() []string {
	t := reflect.TypeFor[service.Quotas]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	return names
}

// parseQuotas reads --quotas, "Name=N,..." with Name one of quotaNames and N
// a positive integer, over AWS's defaults.
func parseQuotas(s string) (service.Quotas, error) {
	q := service.DefaultQuotas
	v := reflect.ValueOf(&q).Elem()
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, val, _ := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		f := v.FieldByName(name)
		if !f.IsValid() || !token.IsExported(name) {
			return q, fmt.Errorf("--quotas %q: no quota %q (names: %s)", s, name, strings.Join(quotaNames(), ", "))
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 1 {
			return q, fmt.Errorf("--quotas %q: %s must be a positive integer", s, name)
		}
		f.SetInt(int64(n))
	}
	return q, nil
}
