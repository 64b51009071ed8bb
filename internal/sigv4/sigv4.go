// Package sigv4 verifies AWS Signature Version 4 the way the AWS front end
// does: it rebuilds the canonical request from what arrived, signs it again
// with the secret of the access key named in the credential scope, and
// compares the two signatures in constant time. It handles both forms the
// Chime SDK clients use: the Authorization header (aws-sdk-go-v2, boto3, the
// JS SDK v3) and the presigned query string (amazon-chime-sdk-js's
// messaging-session URL, SEMANTICS.md §10).
//
// The canonical URI is the path as sent, escaped a second time: every
// AWS service except S3 signs it that way, so an ARN the SDK sent as
// arn%3Aaws%3A...%2Fchannel%2Fc is signed as arn%253Aaws%253A...%252Fchannel%252Fc.
//
// The package knows nothing of Chime: it returns *Error values with the
// generic AWS authentication codes, and the caller writes them.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// MaxSkew is how far the date of a header-signed request may be from the
// server's clock, either way, as AWS allows.
const MaxSkew = 15 * time.Minute

// MaxExpires is the longest validity a presigned URL may ask for (7 days).
const MaxExpires = 7 * 24 * time.Hour

// The layouts of X-Amz-Date and of the credential scope date.
const (
	TimeFormat      = "20060102T150405Z"
	ShortTimeFormat = "20060102"
)

// Code is one of the generic AWS authentication errors (SEMANTICS.md §8).
type Code int

// The error codes Verify returns. All are 403 on the Chime services.
const (
	// MissingAuthenticationToken: the request carries no signature at all.
	MissingAuthenticationToken Code = iota + 1
	// IncompleteSignature: a signature is there but a part of it is missing
	// or malformed (no Credential, no date, a bad algorithm...).
	IncompleteSignature
	// UnrecognizedClient: the access key id (or its session token) is not known.
	UnrecognizedClient
	// InvalidSignature: the signature does not match, or it was made
	// outside the allowed time (expired, not yet current, wrong scope).
	InvalidSignature
)

func (c Code) String() string {
	switch c {
	case MissingAuthenticationToken:
		return "MissingAuthenticationTokenException"
	case IncompleteSignature:
		return "IncompleteSignatureException"
	case UnrecognizedClient:
		return "UnrecognizedClientException"
	case InvalidSignature:
		return "InvalidSignatureException"
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Error is a verification failure with the message AWS sends for it.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Message }

func errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}

// The messages AWS sends for the common cases.
const (
	MsgMissingToken  = "Missing Authentication Token"
	MsgUnknownKey    = "The security token included in the request is invalid."
	MsgBadSignature  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMissingPrefix = "Authorization header requires "
)

// Key is a secret as Verify needs it.
type Key struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must arrive as X-Amz-Security-Token; when
	// empty, a request that carries a token is refused.
	SessionToken string
}

// Verifier checks signatures for one signing service name.
type Verifier struct {
	// Service is the signing name the credential scope must name ("chime").
	Service string
	// Lookup returns the key with the given access key id.
	Lookup func(accessKeyID string) (Key, bool)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MustSign lists headers (lowercase) that a request carrying them must
	// sign, so that nobody can add or change them on a request signed
	// without them: an unsigned one is an IncompleteSignature.
	MustSign []string
}

// Result is what a verified signature tells about the request.
type Result struct {
	AccessKeyID string
	Region      string // the credential scope's region
	Date        time.Time
	Presigned   bool
}

// Signed reports whether r carries any form of SigV4 signature (an
// Authorization header or X-Amz-* query authentication parameters). It reads
// no body and is cheap: a server can refuse an unsigned request before
// reading it.
func Signed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	q := r.URL.RawQuery
	return strings.Contains(q, "X-Amz-Signature") || strings.Contains(q, "X-Amz-Credential") || strings.Contains(q, "X-Amz-Algorithm")
}

// Verify checks the signature of r, whose body is body (nil for none).
// Errors: *Error with MissingAuthenticationToken, IncompleteSignature,
// UnrecognizedClient or InvalidSignature.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().UTC()
	if h := r.Header.Get("Authorization"); h != "" {
		return v.verifyHeader(r, h, body, t)
	}
	if q := r.URL.Query(); q.Get("X-Amz-Signature") != "" || q.Get("X-Amz-Credential") != "" || q.Get("X-Amz-Algorithm") != "" {
		return v.verifyPresigned(r, q, body, t)
	}
	return Result{}, errorf(MissingAuthenticationToken, MsgMissingToken)
}

// Authorization is a parsed Authorization header.
type Authorization struct {
	Credential    Credential
	SignedHeaders []string
	Signature     string
}

// ParseAuthorization parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
// Errors: *Error with IncompleteSignature.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != Algorithm {
		return a, errorf(IncompleteSignature, "Authorization header requires the %s algorithm; got %q.", Algorithm, truncate(alg, 40))
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for _, part := range strings.Split(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			if strings.TrimSpace(part) == "" {
				continue
			}
			return a, errorf(IncompleteSignature, "Authorization header has a malformed part %q: each must be key=value.", truncate(part, 40))
		}
		switch k {
		case "Credential":
			cred, haveCred = val, true
		case "SignedHeaders":
			signed, haveSigned = val, true
		case "Signature":
			sig, haveSig = val, true
		}
	}
	var missing []string
	if !haveCred {
		missing = append(missing, msgMissingPrefix+"'Credential' parameter.")
	}
	if !haveSig {
		missing = append(missing, msgMissingPrefix+"'Signature' parameter.")
	}
	if !haveSigned {
		missing = append(missing, msgMissingPrefix+"'SignedHeaders' parameter.")
	}
	if len(missing) > 0 {
		return a, errorf(IncompleteSignature, "%s", strings.Join(missing, " "))
	}
	c, err := ParseCredential(cred)
	if err != nil {
		return a, err
	}
	a.Credential = c
	a.SignedHeaders, err = parseSignedHeaders(signed)
	if err != nil {
		return a, err
	}
	if sig == "" {
		return a, errorf(IncompleteSignature, msgMissingPrefix+"'Signature' parameter.")
	}
	a.Signature = sig
	return a, nil
}

// Credential is a parsed credential: <key>/<yyyymmdd>/<region>/<service>/aws4_request.
type Credential struct {
	AccessKeyID string
	Date        string // yyyymmdd
	Region      string
	Service     string
	Terminator  string
}

// Scope returns the credential scope: date/region/service/terminator.
func (c Credential) Scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/" + c.Terminator
}

// ParseCredential parses a credential. Errors: *Error with IncompleteSignature.
func ParseCredential(s string) (Credential, error) {
	f := strings.Split(s, "/")
	if len(f) != 5 || f[0] == "" || f[2] == "" || f[3] == "" {
		return Credential{}, errorf(IncompleteSignature, "Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request; got %q.", truncate(s, 200))
	}
	if _, err := time.Parse(ShortTimeFormat, f[1]); err != nil || len(f[1]) != 8 {
		return Credential{}, errorf(IncompleteSignature, "Credential date %q is not yyyymmdd.", truncate(f[1], 20))
	}
	return Credential{AccessKeyID: f[0], Date: f[1], Region: f[2], Service: f[3], Terminator: f[4]}, nil
}

func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, errorf(IncompleteSignature, "SignedHeaders must not be empty.")
	}
	hs := strings.Split(s, ";")
	for i, h := range hs {
		if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, " \t:") {
			return nil, errorf(IncompleteSignature, "SignedHeaders must be lowercase header names separated by ';'; got %q.", truncate(s, 200))
		}
		if i > 0 && hs[i-1] >= h {
			return nil, errorf(IncompleteSignature, "SignedHeaders must be sorted and without duplicates; got %q.", truncate(s, 200))
		}
	}
	for _, h := range hs {
		if h == "host" {
			return hs, nil
		}
	}
	return nil, errorf(IncompleteSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
}

// Presigned is the parsed authentication of a presigned URL.
type Presigned struct {
	Credential    Credential
	Date          time.Time
	Expires       time.Duration
	SignedHeaders []string
	Signature     string
	SecurityToken string
}

// ParsePresigned parses the X-Amz-* parameters of a presigned URL.
// Errors: *Error with IncompleteSignature.
func ParsePresigned(q url.Values) (Presigned, error) {
	var p Presigned
	var missing []string
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires"} {
		if q.Get(k) == "" {
			missing = append(missing, "'"+k+"'")
		}
	}
	if len(missing) > 0 {
		return p, errorf(IncompleteSignature, "AWS query-string parameters must include %s. Re-examine the query-string parameters.", strings.Join(missing, ", "))
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return p, errorf(IncompleteSignature, "X-Amz-Algorithm must be %s; got %q.", Algorithm, truncate(alg, 40))
	}
	var err error
	if p.Credential, err = ParseCredential(q.Get("X-Amz-Credential")); err != nil {
		return p, err
	}
	date := q.Get("X-Amz-Date")
	if p.Date, err = time.Parse(TimeFormat, date); err != nil {
		return p, errorf(IncompleteSignature, "X-Amz-Date %q is not a yyyymmddTHHMMSSZ timestamp.", truncate(date, 40))
	}
	exp := q.Get("X-Amz-Expires")
	secs, err := strconv.Atoi(exp)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > MaxExpires {
		return p, errorf(IncompleteSignature, "X-Amz-Expires %q must be a number of seconds from 1 to %d.", truncate(exp, 40), int(MaxExpires.Seconds()))
	}
	p.Expires = time.Duration(secs) * time.Second
	if p.SignedHeaders, err = parseSignedHeaders(q.Get("X-Amz-SignedHeaders")); err != nil {
		return p, err
	}
	p.Signature = q.Get("X-Amz-Signature")
	p.SecurityToken = q.Get("X-Amz-Security-Token")
	return p, nil
}

// requestDate reads X-Amz-Date, or else Date, of a header-signed request.
func requestDate(r *http.Request) (time.Time, string, error) {
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := time.Parse(TimeFormat, d)
		if err != nil {
			return t, d, errorf(IncompleteSignature, "X-Amz-Date %q must be in ISO-8601 basic format (yyyymmddTHHMMSSZ).", truncate(d, 40))
		}
		return t, d, nil
	}
	if d := r.Header.Get("Date"); d != "" {
		t, err := http.ParseTime(d)
		if err != nil {
			return t, d, errorf(IncompleteSignature, "Date %q is not an HTTP date.", truncate(d, 40))
		}
		return t.UTC(), t.UTC().Format(TimeFormat), nil
	}
	return time.Time{}, "", errorf(IncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

func (v *Verifier) checkScope(c Credential, amzDate string) error {
	if c.Terminator != "aws4_request" {
		return errorf(InvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", truncate(c.Terminator, 40))
	}
	if c.Service != v.Service {
		return errorf(InvalidSignature, "Credential should be scoped to correct service: '%s'.", v.Service)
	}
	if c.Date != amzDate[:8] {
		return errorf(InvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", c.Date, amzDate[:8], amzDate)
	}
	return nil
}

func (v *Verifier) lookup(id, token string) (Key, error) {
	k, ok := v.Lookup(id)
	if !ok {
		return k, errorf(UnrecognizedClient, MsgUnknownKey)
	}
	if !hmac.Equal([]byte(k.SessionToken), []byte(token)) {
		return k, errorf(UnrecognizedClient, MsgUnknownKey)
	}
	return k, nil
}

func (v *Verifier) verifyHeader(r *http.Request, h string, body []byte, now time.Time) (Result, error) {
	a, err := ParseAuthorization(h)
	if err != nil {
		return Result{}, err
	}
	date, amzDate, err := requestDate(r)
	if err != nil {
		return Result{}, err
	}
	if err := v.checkScope(a.Credential, amzDate); err != nil {
		return Result{}, err
	}
	if now.Sub(date) > MaxSkew {
		return Result{}, errorf(InvalidSignature, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-MaxSkew).Format(TimeFormat), now.Format(TimeFormat))
	}
	if date.Sub(now) > MaxSkew {
		return Result{}, errorf(InvalidSignature, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(MaxSkew).Format(TimeFormat), now.Format(TimeFormat))
	}
	key, err := v.lookup(a.Credential.AccessKeyID, r.Header.Get("X-Amz-Security-Token"))
	if err != nil {
		return Result{}, err
	}
	if err := v.checkMustSign(r, a.SignedHeaders); err != nil {
		return Result{}, err
	}
	headers, err := CanonicalHeaders(r, a.SignedHeaders)
	if err != nil {
		return Result{}, err
	}
	if !matches(key, a.Credential, amzDate, r, "", headers, a.SignedHeaders, body, a.Signature) {
		return Result{}, errorf(InvalidSignature, MsgBadSignature)
	}
	return Result{AccessKeyID: key.AccessKeyID, Region: a.Credential.Region, Date: date}, nil
}

func (v *Verifier) verifyPresigned(r *http.Request, q url.Values, body []byte, now time.Time) (Result, error) {
	p, err := ParsePresigned(q)
	if err != nil {
		return Result{}, err
	}
	amzDate := p.Date.Format(TimeFormat)
	if err := v.checkScope(p.Credential, amzDate); err != nil {
		return Result{}, err
	}
	// Valid from X-Amz-Date (a client clock ahead by up to MaxSkew is
	// tolerated) until X-Amz-Date + X-Amz-Expires, and not a second longer.
	if end := p.Date.Add(p.Expires); now.After(end) {
		return Result{}, errorf(InvalidSignature, "Signature expired: %s is now earlier than %s (%s - %d sec.)",
			amzDate, now.Add(-p.Expires).Format(TimeFormat), now.Format(TimeFormat), int(p.Expires.Seconds()))
	}
	if p.Date.Sub(now) > MaxSkew {
		return Result{}, errorf(InvalidSignature, "Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(MaxSkew).Format(TimeFormat), now.Format(TimeFormat))
	}
	key, err := v.lookup(p.Credential.AccessKeyID, p.SecurityToken)
	if err != nil {
		return Result{}, err
	}
	if err := v.checkMustSign(r, p.SignedHeaders); err != nil {
		return Result{}, err
	}
	headers, err := CanonicalHeaders(r, p.SignedHeaders)
	if err != nil {
		return Result{}, err
	}
	if !matches(key, p.Credential, amzDate, r, "X-Amz-Signature", headers, p.SignedHeaders, body, p.Signature) {
		return Result{}, errorf(InvalidSignature, MsgBadSignature)
	}
	return Result{AccessKeyID: key.AccessKeyID, Region: p.Credential.Region, Date: p.Date, Presigned: true}, nil
}

// checkMustSign refuses a request that carries one of v.MustSign without signing it.
func (v *Verifier) checkMustSign(r *http.Request, signed []string) error {
	for _, h := range v.MustSign {
		if len(r.Header.Values(h)) == 0 {
			continue
		}
		found := false
		for _, s := range signed {
			found = found || s == h
		}
		if !found {
			return errorf(IncompleteSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization when it is sent.", h)
		}
	}
	return nil
}

// matches re-signs the request and compares in constant time. The query is
// canonicalised strictly (RFC 3986, as every AWS SDK does) and, when that
// differs, as amazon-chime-sdk-js does it (JavaScript's encodeURIComponent,
// which leaves !'()* unescaped, SEMANTICS.md §10): a signature made either
// way verifies.
func matches(key Key, c Credential, amzDate string, r *http.Request, skip, headers string, signed []string, body []byte, got string) bool {
	uri := CanonicalURI(rawPath(r))
	var payload [2 * sha256.Size]byte
	sum := sha256.Sum256(body)
	hex.Encode(payload[:], sum[:])
	signingKey := signingKeys.get(key.SecretAccessKey, c.Date, c.Region, c.Service)
	scope := c.Scope()
	var creqBuf [1024]byte
	ok := false
	var tried []string
	for _, esc := range []func(string) string{EscapeStrict, EscapeURIComponent} {
		query, err := CanonicalQuery(r.URL.RawQuery, esc, skip)
		if err != nil {
			return false
		}
		if contains(tried, query) {
			continue
		}
		tried = append(tried, query)
		creq := append(appendCanonicalRequest(creqBuf[:0], r.Method, uri, query, headers, signed), payload[:]...)
		want := signCanonical(signingKey, amzDate, scope, creq)
		if hmac.Equal(want[:], []byte(got)) {
			ok = true
		}
	}
	return ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rawPath is the path exactly as the client sent it, still percent-encoded.
func rawPath(r *http.Request) string {
	if p := r.RequestURI; strings.HasPrefix(p, "/") {
		p, _, _ = strings.Cut(p, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// CanonicalURI escapes the path as sent once more, as SigV4 does for every
// service but S3: each byte but A-Za-z0-9-_.~ and '/' is percent-encoded,
// so "%3A" becomes "%253A".
func CanonicalURI(escapedPath string) string {
	if escapedPath == "" {
		return "/"
	}
	return escape(escapedPath, func(c byte) bool { return unreserved(c) || c == '/' })
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// EscapeStrict percent-encodes every byte outside A-Za-z0-9-_.~ (RFC 3986
// unreserved), with uppercase hex: SigV4's URI encoding.
func EscapeStrict(s string) string { return escape(s, unreserved) }

// EscapeURIComponent is JavaScript's encodeURIComponent: like EscapeStrict
// but it leaves !'()* unescaped.
func EscapeURIComponent(s string) string {
	return escape(s, func(c byte) bool {
		return unreserved(c) || c == '!' || c == '\'' || c == '(' || c == ')' || c == '*'
	})
}

func escape(s string, keep func(byte) bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// CanonicalQuery decodes the raw query, drops the parameter named skip,
// encodes every name and value with esc and sorts them by name, then value.
// Errors: *Error with InvalidSignature for a query that is not correctly
// percent-encoded.
func CanonicalQuery(rawQuery string, esc func(string) string, skip string) (string, error) {
	type kv struct{ k, v string }
	var params []kv
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return "", errorf(InvalidSignature, "The query string is not correctly percent-encoded.")
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return "", errorf(InvalidSignature, "The query string is not correctly percent-encoded.")
		}
		if skip != "" && dk == skip {
			continue
		}
		params = append(params, kv{esc(dk), esc(dv)})
	}
	sort.Slice(params, func(i, j int) bool {
		if params[i].k != params[j].k {
			return params[i].k < params[j].k
		}
		return params[i].v < params[j].v
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String(), nil
}

// CanonicalHeaders returns the canonical header block for the signed
// header names: "name:value\n" each, values trimmed with inner runs of
// spaces collapsed, several values joined by ','. host is the request's
// Host; content-length falls back to the request's length.
// Errors: *Error with InvalidSignature when a signed header is absent.
func CanonicalHeaders(r *http.Request, signed []string) (string, error) {
	var b strings.Builder
	for _, name := range signed {
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = r.Header.Values("Content-Length")
			if len(vals) == 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vals = r.Header.Values(name)
		}
		if len(vals) == 0 {
			return "", errorf(InvalidSignature, "The signed header '%s' is not in the request. %s", truncate(name, 100), MsgBadSignature)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(collapseSpaces(v))
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func collapseSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// appendCanonicalRequest appends to b the canonical request but for its
// last part, the payload hash: method, URI, query, headers and signed
// headers, each ended by a newline.
func appendCanonicalRequest(b []byte, method, uri, query, headers string, signed []string) []byte {
	b = append(append(b, method...), '\n')
	b = append(append(b, uri...), '\n')
	b = append(append(b, query...), '\n')
	b = append(append(b, headers...), '\n')
	for i, h := range signed {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h...)
	}
	return append(b, '\n')
}

// appendStringToSign appends to b the string to sign for a canonical
// request of hash sum: algorithm, date, scope and the hash in hex.
func appendStringToSign(b []byte, amzDate, scope string, sum *[sha256.Size]byte) []byte {
	b = append(append(b, Algorithm...), '\n')
	b = append(append(b, amzDate...), '\n')
	b = append(append(b, scope...), '\n')
	return hex.AppendEncode(b, sum[:])
}

// signCanonical returns the signature of a canonical request: the hex
// HMAC of its string to sign (sign_test.go holds it to the specification's
// string-by-string form).
func signCanonical(signingKey []byte, amzDate, scope string, creq []byte) (sig [2 * sha256.Size]byte) {
	sum := sha256.Sum256(creq)
	sts := appendStringToSign(make([]byte, 0, len(Algorithm)+len(amzDate)+len(scope)+3+len(sig)), amzDate, scope, &sum)
	m := hmac.New(sha256.New, signingKey)
	m.Write(sts)
	hex.Encode(sig[:], m.Sum(sts[:0])) // the MAC reuses sts's array, written already
	return sig
}

// SigningKey derives the signing key of a secret for one day, region and service.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// keyCache keeps the signing keys the verifier derived: four HMACs a
// request otherwise, for a key that changes once a day.
type keyCache struct {
	mu   sync.Mutex
	keys map[keyScope][]byte
}

// keyScope is what a signing key is derived from.
type keyScope struct{ secret, date, region, service string }

var signingKeys = &keyCache{keys: map[keyScope][]byte{}}

// maxSigningKeys bounds the cache; past it, the cache starts over.
const maxSigningKeys = 4096

func (c *keyCache) get(secret, date, region, service string) []byte {
	id := keyScope{secret, date, region, service}
	c.mu.Lock()
	k, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = SigningKey(secret, date, region, service)
	c.mu.Lock()
	if len(c.keys) >= maxSigningKeys {
		clear(c.keys)
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
