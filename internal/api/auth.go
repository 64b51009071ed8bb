package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/sigv4"
)

// Key is one configured access key: its secret and what it may do.
type Key struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // optional: then every request must carry it as X-Amz-Security-Token
	Scope           chime.Scope
}

// ParseKeys reads keys in the credentials format, one key a line:
//
//	# comment
//	<access-key-id> <secret-access-key> <scope> [session-token=<token>]
//
// where scope is "admin" (every operation of the account),
// "app-instance=<app instance ARN>" (every operation on that app instance
// and what it holds) or "user=<AppInstanceUser or bot ARN>" (messaging
// operations with that x-amz-chime-bearer only, and its messaging session).
// Fields are separated by spaces or tabs; ';' also ends a line, so that the
// same text fits in one environment variable. source names the input in
// errors. Every problem is reported at once.
func ParseKeys(r io.Reader, source string) ([]Key, error) {
	var keys []Key
	var problems []string
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		for _, line := range strings.Split(sc.Text(), ";") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, errs := parseKeyLine(line)
			if k.AccessKeyID != "" {
				if first, dup := seen[k.AccessKeyID]; dup {
					errs = append(errs, fmt.Sprintf("access key id %s is already defined on line %d", k.AccessKeyID, first))
				} else {
					seen[k.AccessKeyID] = n
				}
			}
			for _, e := range errs {
				problems = append(problems, fmt.Sprintf("%s line %d: %s", source, n, e))
			}
			if len(errs) == 0 {
				keys = append(keys, k)
			}
		}
	}
	if err := sc.Err(); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", source, err))
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return keys, nil
}

var accessKeyRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,128}$`)

func parseKeyLine(line string) (Key, []string) {
	f := strings.Fields(line)
	var errs []string
	if len(f) < 3 || len(f) > 4 {
		return Key{}, []string{fmt.Sprintf("want <access-key-id> <secret-access-key> <scope> [session-token=<token>], got %d fields", len(f))}
	}
	k := Key{AccessKeyID: f[0], SecretAccessKey: f[1]}
	if !accessKeyRE.MatchString(k.AccessKeyID) {
		errs = append(errs, fmt.Sprintf("access key id %q must be 1 to 128 letters, digits or _", k.AccessKeyID))
		k.AccessKeyID = ""
	}
	scope, arg, _ := strings.Cut(f[2], "=")
	switch scope {
	case "admin":
		k.Scope = chime.Scope{Kind: chime.ScopeAccount}
		if arg != "" {
			errs = append(errs, "scope admin takes no ARN")
		}
	case "app-instance":
		a, ok := chime.ParseARN(arg)
		if !ok || a.Kind != "" {
			errs = append(errs, fmt.Sprintf("scope app-instance=%q: not an app instance ARN", arg))
		}
		k.Scope = chime.Scope{Kind: chime.ScopeAppInstance, ARN: arg}
	case "user":
		a, ok := chime.ParseARN(arg)
		if !ok || (a.Kind != chime.ArnUser && a.Kind != chime.ArnBot) {
			errs = append(errs, fmt.Sprintf("scope user=%q: not an AppInstanceUser or bot ARN", arg))
		}
		k.Scope = chime.Scope{Kind: chime.ScopeUser, ARN: arg}
	default:
		errs = append(errs, fmt.Sprintf("scope %q is not admin, app-instance=<ARN> or user=<ARN>", f[2]))
	}
	if len(f) == 4 {
		tok, ok := strings.CutPrefix(f[3], "session-token=")
		if !ok || tok == "" {
			errs = append(errs, "the fourth field must be session-token=<token>")
		}
		k.SessionToken = tok
	}
	return k, errs
}

// SigV4Auth is the Authenticator of a server with credentials: every
// request must be signed with a configured key (SigV4, header or presigned
// URL), and its principal carries the key's scope.
type SigV4Auth struct {
	account  string
	keys     atomic.Pointer[map[string]Key]
	verifier sigv4.Verifier
}

// NewSigV4Auth returns an authenticator for keys. account is the account put
// in ARNs ("" applies rule D14's default); now is the clock (time.Now when nil).
func NewSigV4Auth(keys []Key, account string, now func() time.Time) *SigV4Auth {
	a := &SigV4Auth{account: account}
	a.SetKeys(keys)
	lookup := func(id string) (sigv4.Key, bool) {
		k, ok := (*a.keys.Load())[id]
		return sigv4.Key{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey, SessionToken: k.SessionToken}, ok
	}
	// The bearer decides whom a call speaks for: every SDK signs it, and a
	// request that does not could be given another bearer by anybody who
	// saw it.
	a.verifier = sigv4.Verifier{Service: "chime", Now: now, Lookup: lookup, MustSign: []string{"x-amz-chime-bearer"}}
	return a
}

// SetKeys replaces the keys at once (a reload); requests in flight finish
// with the keys they started with. It returns the access key ids that were
// revoked, rotated (a new secret or session token) or given another scope:
// what was authorised with them is not any more.
func (a *SigV4Auth) SetKeys(keys []Key) map[string]bool {
	m := make(map[string]Key, len(keys))
	for _, k := range keys {
		m[k.AccessKeyID] = k
	}
	changed := map[string]bool{}
	if old := a.keys.Swap(&m); old != nil {
		for id, k := range *old {
			if n, ok := m[id]; !ok || n != k {
				changed[id] = true
			}
		}
	}
	return changed
}

// Precheck refuses a request that carries no signature at all, before its
// body is read. Errors: MissingAuthenticationToken.
func (a *SigV4Auth) Precheck(r *http.Request) error {
	if !sigv4.Signed(r) {
		return chime.Errorf(chime.KindMissingAuthenticationToken, sigv4.MsgMissingToken)
	}
	return nil
}

// Authenticate verifies the signature of r over body and returns the key's
// principal. Errors: MissingAuthenticationToken, IncompleteSignature,
// UnrecognizedClient, InvalidSignature (all 403).
func (a *SigV4Auth) Authenticate(r *http.Request, body []byte) (chime.Principal, error) {
	res, err := a.verifier.Verify(r, body)
	if err != nil {
		var se *sigv4.Error
		if !errors.As(err, &se) {
			return chime.Principal{}, err
		}
		kind := map[sigv4.Code]chime.Kind{
			sigv4.MissingAuthenticationToken: chime.KindMissingAuthenticationToken,
			sigv4.IncompleteSignature:        chime.KindIncompleteSignature,
			sigv4.UnrecognizedClient:         chime.KindUnrecognizedClient,
			sigv4.InvalidSignature:           chime.KindInvalidSignature,
		}[se.Code]
		return chime.Principal{}, &chime.Error{Kind: kind, Message: se.Message}
	}
	key := (*a.keys.Load())[res.AccessKeyID]
	p := chime.Principal{AccessKeyID: res.AccessKeyID, Region: "us-east-1", Scope: key.Scope}
	if isRegion(res.Region) {
		p.Region = res.Region
	}
	p.Account = accountFor(a.account, p.AccessKeyID)
	return p, nil
}

// accountFor applies rule D14: the configured account, else a 12-digit
// access key id, else 000000000000.
func accountFor(configured, accessKeyID string) string {
	if configured != "" {
		return configured
	}
	if isAccountID(accessKeyID) {
		return accessKeyID
	}
	return "000000000000"
}
