package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/belfry/belfry/internal/api"
	"github.com/belfry/belfry/internal/service"
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
	accountID string
	logLevel  string
	reapEvery time.Duration
}

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
	fs.StringVar(&c.accountID, "account-id", env("BELFRY_ACCOUNT_ID", ""), "12-digit AWS account ID put in ARNs; default: a 12-digit access key ID, else 000000000000 (BELFRY_ACCOUNT_ID)")
	fs.StringVar(&c.logLevel, "log-level", env("BELFRY_LOG_LEVEL", "info"), "debug, info, warn or error (BELFRY_LOG_LEVEL)")
	reapEvery := env("BELFRY_REAP_INTERVAL", "1m")
	fs.Func("reap-interval", "how often expired messages, channels and users are deleted (BELFRY_REAP_INTERVAL, default 1m)", func(v string) error {
		reapEvery = v
		return nil
	})
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
	if len(problems) > 0 {
		return c, fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	return c, nil
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
	st, err := store.Open(ctx, target)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := service.New(ctx, st, service.Options{})
	if err != nil {
		return err
	}
	handler, err := api.New(svc, api.OpenAuth{Account: cfg.accountID}, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Warn("signature verification is off: every request is accepted, signed with any credentials or unsigned")
	fmt.Fprintf(stdout, "belfry: serving Chime SDK Messaging and Identity on http://%s (data in %s)\n", ln.Addr(), redact(target))

	reapCtx, stopReaper := context.WithCancel(ctx)
	defer stopReaper()
	go svc.RunReaper(reapCtx, cfg.reapEvery, log)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "belfry: stopped")
	return nil
}

// redact hides a URL's password before the store is named in output.
func redact(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.User == nil {
		return target
	}
	return u.Redacted()
}
