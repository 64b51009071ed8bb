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
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
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
	// Two signatures, or two values of one part of a signature, are
	// ambiguous: each is refused rather than one picked.
	if hs := r.Header.Values("Authorization"); len(hs) > 1 {
		return Result{}, errorf(IncompleteSignature, "The request must carry one Authorization header; it carries %d.", len(hs))
	}
	raw := r.URL.RawQuery
	if h := r.Header.Get("Authorization"); h != "" {
		// A query name that decodes to X-Amz-... holds it or a '%'.
		if strings.Contains(raw, "X-Amz-") || strings.Contains(raw, "%") {
			q := r.URL.Query()
			for _, k := range presignParams {
				if q.Has(k) {
					return Result{}, errorf(IncompleteSignature, "Only one auth mechanism allowed: the Authorization header or the X-Amz-* query-string parameters, not both; the query has '%s'.", k)
				}
			}
		}
		return v.verifyHeader(r, h, body, t)
	}
	q := r.URL.Query()
	for _, k := range presignParams[:3] {
		if slices.ContainsFunc(q[k], func(s string) bool { return s != "" }) {
			return v.verifyPresigned(r, q, body, t)
		}
	}
	return Result{}, errorf(MissingAuthenticationToken, MsgMissingToken)
}

// presignParams are the query-string parameters of a presigned URL's
// authentication; the first three tell a presigned request.
var presignParams = [...]string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Algorithm",
	"X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token"}

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
	for more := true; more; { // each part strings.Split(rest, ",") gives
		var part string
		part, rest, more = strings.Cut(rest, ",")
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			if strings.TrimSpace(part) == "" {
				continue
			}
			return a, errorf(IncompleteSignature, "Authorization header has a malformed part %q: each must be key=value.", truncate(part, 40))
		}
		var dup bool
		switch k {
		case "Credential":
			dup = haveCred
			cred, haveCred = val, true
		case "SignedHeaders":
			dup = haveSigned
			signed, haveSigned = val, true
		case "Signature":
			dup = haveSig
			sig, haveSig = val, true
		}
		if dup {
			return a, errorf(IncompleteSignature, "Authorization header must have the '%s' parameter once.", k)
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
	// Five fields: four '/' exactly.
	id, rest, ok1 := strings.Cut(s, "/")
	date, rest, ok2 := strings.Cut(rest, "/")
	region, rest, ok3 := strings.Cut(rest, "/")
	service, term, ok4 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || !ok3 || !ok4 || strings.Contains(term, "/") || id == "" || region == "" || service == "" {
		return Credential{}, errorf(IncompleteSignature, "Credential must have the form <access key id>/<yyyymmdd>/<region>/<service>/aws4_request; got %q.", truncate(s, 200))
	}
	if _, _, _, ok := parseShortDate(date); !ok {
		return Credential{}, errorf(IncompleteSignature, "Credential date %q is not yyyymmdd.", truncate(date, 20))
	}
	return Credential{AccessKeyID: id, Date: date, Region: region, Service: service, Terminator: term}, nil
}

// parseShortDate reads a yyyymmdd date: eight digits, a month from 01 to 12
// and a day the month has, which is what time.Parse(ShortTimeFormat) accepts
// in eight bytes.
func parseShortDate(s string) (year, month, day int, ok bool) {
	if len(s) != len(ShortTimeFormat) {
		return 0, 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, 0, 0, false
		}
	}
	year = int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
	month = int(s[4]-'0')*10 + int(s[5]-'0')
	day = int(s[6]-'0')*10 + int(s[7]-'0')
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return 0, 0, 0, false
	}
	return year, month, day, true
}

// daysIn is the number of days of a month (1-12) of the Gregorian calendar.
func daysIn(month, year int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
}

// parseAmzDate is time.Parse(TimeFormat, s), read directly when s is the
// 16-byte yyyymmddTHHMMSSZ form of a valid time; any other string (a
// fraction of a second, a refusal) is left to time.Parse.
func parseAmzDate(s string) (time.Time, error) {
	if len(s) == len(TimeFormat) && s[8] == 'T' && s[15] == 'Z' {
		y, mo, d, ok := parseShortDate(s[:8])
		h, okh := twoDigits(s[9:11])
		mi, okm := twoDigits(s[11:13])
		sec, oks := twoDigits(s[13:15])
		if ok && okh && okm && oks && h < 24 && mi < 60 && sec < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), nil
		}
	}
	return time.Parse(TimeFormat, s)
}

func twoDigits(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, errorf(IncompleteSignature, "SignedHeaders must not be empty.")
	}
	hs := strings.Split(s, ";")
	for i, h := range hs {
		if !signedHeaderName(h) {
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

// signedHeaderName reports whether h is not empty, lowercase and without
// space, tab or ':'.
func signedHeaderName(h string) bool {
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 0x80:
			return h == strings.ToLower(h) && !strings.ContainsAny(h, " \t:")
		case 'A' <= c && c <= 'Z', c == ' ', c == '\t', c == ':':
			return false
		}
	}
	return h != ""
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

// ParsePresigned parses the X-Amz-* parameters of a presigned URL. One
// that appears more than once is refused: which value counts would be a
// guess. Errors: *Error with IncompleteSignature.
func ParsePresigned(q url.Values) (Presigned, error) {
	var p Presigned
	for _, k := range presignParams {
		if n := len(q[k]); n > 1 {
			return p, errorf(IncompleteSignature, "AWS query-string parameter '%s' must appear once; it appears %d times. Re-examine the query-string parameters.", k, n)
		}
	}
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
	if p.Date, err = parseAmzDate(date); err != nil {
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
	if n := len(r.Header.Values("X-Amz-Date")); n > 1 {
		return time.Time{}, "", errorf(IncompleteSignature, "The request must carry one 'X-Amz-Date' header; it carries %d.", n)
	}
	if d := r.Header.Get("X-Amz-Date"); d != "" {
		t, err := parseAmzDate(d)
		if err != nil {
			return t, d, errorf(IncompleteSignature, "X-Amz-Date %q must be in ISO-8601 basic format (yyyymmddTHHMMSSZ).", truncate(d, 40))
		}
		return t, d, nil
	}
	if ds := r.Header.Values("Date"); len(ds) > 1 {
		return time.Time{}, "", errorf(IncompleteSignature, "The request must carry one 'Date' header; it carries %d.", len(ds))
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
	if n := len(r.Header.Values("X-Amz-Security-Token")); n > 1 {
		return Result{}, errorf(IncompleteSignature, "The request must carry one 'X-Amz-Security-Token' header; it carries %d.", n)
	}
	key, err := v.lookup(a.Credential.AccessKeyID, r.Header.Get("X-Amz-Security-Token"))
	if err != nil {
		return Result{}, err
	}
	if err := v.checkMustSign(r, a.SignedHeaders); err != nil {
		return Result{}, err
	}
	ok, err := matches(key, a.Credential, amzDate, r, "", a.SignedHeaders, body, a.Signature)
	if err != nil {
		return Result{}, err
	}
	if !ok {
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
	ok, err := matches(key, p.Credential, amzDate, r, "X-Amz-Signature", p.SignedHeaders, body, p.Signature)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, errorf(InvalidSignature, MsgBadSignature)
	}
	return Result{AccessKeyID: key.AccessKeyID, Region: p.Credential.Region, Date: p.Date, Presigned: true}, nil
}

// checkMustSign refuses a request that carries one of v.MustSign without signing it.
func (v *Verifier) checkMustSign(r *http.Request, signed []string) error {
	for _, h := range v.MustSign {
		if slices.Contains(signed, h) || len(headerValues(r.Header, h)) == 0 {
			continue
		}
		return errorf(IncompleteSignature, "'%s' must be a 'SignedHeader' in the AWS Authorization when it is sent.", h)
	}
	return nil
}

// matches re-signs the request and compares in constant time. The query is
// canonicalised strictly (RFC 3986, as every AWS SDK does) and, when that
// differs, as amazon-chime-sdk-js does it (JavaScript's encodeURIComponent,
// which leaves !'()* unescaped, SEMANTICS.md §10): a signature made either
// way verifies. Errors: those of appendCanonicalHeaders.
func matches(key Key, c Credential, amzDate string, r *http.Request, skip string, signed []string, body []byte, got string) (bool, error) {
	var paramBuf [16]queryParam
	params, queryErr := decodeQuery(paramBuf[:0], r.URL.RawQuery, skip)
	var payload [2 * sha256.Size]byte
	sum := sha256.Sum256(body)
	hex.Encode(payload[:], sum[:])
	var creqBuf [1024]byte
	creq, q0, q1, err := appendCanonicalRequest(creqBuf[:0], r, params, appendEscapeStrict, signed, payload[:])
	if err != nil {
		return false, err
	}
	if queryErr != nil {
		// A query that does not decode signs nothing; a missing signed
		// header is reported before it.
		return false, nil
	}
	s := signingKeys.get(key.SecretAccessKey, c.Date, c.Region, c.Service)
	want := s.signCanonical(amzDate, creq)
	ok := equalSignature(&want, got)
	if slices.ContainsFunc(params, escapesDiffer) {
		// The same canonical request with the JavaScript form of the query.
		js := make([]byte, 0, len(creq)+16)
		js = appendQuery(append(js, creq[:q0]...), params, appendEscapeURIComponent)
		js = append(js, creq[q1:]...)
		want = s.signCanonical(amzDate, js)
		if equalSignature(&want, got) {
			ok = true
		}
	}
	return ok, nil
}

// equalSignature is hmac.Equal(want[:], []byte(got)) without converting got.
func equalSignature(want *[2 * sha256.Size]byte, got string) bool {
	if len(got) != len(want) {
		return false
	}
	var g [2 * sha256.Size]byte
	copy(g[:], got)
	return hmac.Equal(want[:], g[:])
}

// rawPath is the path exactly as the client sent it, still percent-encoded.
func rawPath(r *http.Request) string {
	if p := r.RequestURI; strings.HasPrefix(p, "/") {
		p, _, _ = strings.Cut(p, "?")
		return p
	}
	return r.URL.EscapedPath()
}

// appendCanonicalURI appends to b the path as sent, escaped once more as
// SigV4 does for every service but S3: each byte but A-Za-z0-9-_.~ and '/'
// is percent-encoded, so "%3A" becomes "%253A".
func appendCanonicalURI(b []byte, escapedPath string) []byte {
	if escapedPath == "" {
		return append(b, '/')
	}
	return appendEscape(b, escapedPath, &pathKeep)
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// The bytes each escape keeps as they are: the unreserved ones and extra.
var (
	strictKeep       = keepSet("")
	uriComponentKeep = keepSet("!'()*")
	pathKeep         = keepSet("/")
)

func keepSet(extra string) (keep [256]bool) {
	for c := range keep {
		keep[c] = unreserved(byte(c)) || strings.IndexByte(extra, byte(c)) >= 0
	}
	return keep
}

// appendEscapeStrict appends s with every byte outside A-Za-z0-9-_.~ (RFC
// 3986 unreserved) percent-encoded in uppercase hex: SigV4's URI encoding.
func appendEscapeStrict(b []byte, s string) []byte { return appendEscape(b, s, &strictKeep) }

// appendEscapeURIComponent appends s as JavaScript's encodeURIComponent
// encodes it: like appendEscapeStrict but !'()* are left as they are.
func appendEscapeURIComponent(b []byte, s string) []byte {
	return appendEscape(b, s, &uriComponentKeep)
}

// escapesDiffer reports whether appendEscapeStrict and
// appendEscapeURIComponent encode the name or the value of p differently.
func escapesDiffer(p queryParam) bool {
	for _, s := range [2]string{p.k, p.v} {
		for i := 0; i < len(s); i++ {
			if strictKeep[s[i]] != uriComponentKeep[s[i]] {
				return true
			}
		}
	}
	return false
}

// appendEscape appends s to b with the bytes keep does not hold
// percent-encoded, in uppercase hex.
func appendEscape(b []byte, s string, keep *[256]bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && keep[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if j == len(s) {
			break
		}
		c := s[j]
		b = append(b, '%', hex[c>>4], hex[c&15])
		i = j + 1
	}
	return b
}

// queryParam is a decoded name and value of a query.
type queryParam struct{ k, v string }

// decodeQuery appends to params the decoded parameters of rawQuery but
// those named skip. Errors: *Error with InvalidSignature for a query that
// is not correctly percent-encoded.
func decodeQuery(params []queryParam, rawQuery, skip string) ([]queryParam, error) {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			return nil, errorf(InvalidSignature, "The query string is not correctly percent-encoded.")
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			return nil, errorf(InvalidSignature, "The query string is not correctly percent-encoded.")
		}
		if skip != "" && dk == skip {
			continue
		}
		params = append(params, queryParam{dk, dv})
	}
	return params, nil
}

// appendQuery appends to b the canonical query of params: name=value each,
// encoded with esc, sorted by name, then value, joined by '&'.
func appendQuery(b []byte, params []queryParam, esc func([]byte, string) []byte) []byte {
	if len(params) == 0 {
		return b
	}
	// Each encoded name and value is in enc: name enc[k:v], value enc[v:end].
	type span struct{ k, v, end int }
	n := 0
	for _, p := range params {
		n += len(p.k) + len(p.v)
	}
	enc := make([]byte, 0, 3*n)
	var spanBuf [16]span
	spans := spanBuf[:0]
	for _, p := range params {
		k := len(enc)
		enc = esc(enc, p.k)
		v := len(enc)
		enc = esc(enc, p.v)
		spans = append(spans, span{k, v, len(enc)})
	}
	slices.SortFunc(spans, func(x, y span) int {
		if c := bytes.Compare(enc[x.k:x.v], enc[y.k:y.v]); c != 0 {
			return c
		}
		return bytes.Compare(enc[x.v:x.end], enc[y.v:y.end])
	})
	for i, s := range spans {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, enc[s.k:s.v]...)
		b = append(b, '=')
		b = append(b, enc[s.v:s.end]...)
	}
	return b
}

// appendCanonicalHeaders appends to b the canonical header block for the
// signed header names: "name:value\n" each, values trimmed with inner runs
// of spaces collapsed, several values joined by ','. host is the request's
// Host; content-length falls back to the request's length.
// Errors: *Error with InvalidSignature when a signed header is absent.
func appendCanonicalHeaders(b []byte, r *http.Request, signed []string) ([]byte, error) {
	for _, name := range signed {
		b = append(b, name...)
		b = append(b, ':')
		switch name {
		case "host":
			b = appendCollapsed(b, r.Host)
		case "content-length":
			if vals := r.Header.Values("Content-Length"); len(vals) > 0 {
				b = appendValues(b, vals)
			} else {
				b = strconv.AppendInt(b, r.ContentLength, 10)
			}
		default:
			vals := headerValues(r.Header, name)
			if len(vals) == 0 {
				return b, errorf(InvalidSignature, "The signed header '%s' is not in the request. %s", truncate(name, 100), MsgBadSignature)
			}
			b = appendValues(b, vals)
		}
		b = append(b, '\n')
	}
	return b, nil
}

// headerValues is h.Values(name), without making the canonical key in a new
// string when name is lowercase letters, digits and '-', as signed header
// names are.
func headerValues(h http.Header, name string) []string {
	var key [64]byte
	if len(name) > len(key) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case '0' <= c && c <= '9' || c == '-':
		default:
			return h.Values(name)
		}
		key[i] = c
		upper = c == '-'
	}
	return h[string(key[:len(name)])]
}

// appendValues appends the values of a header, each trimmed with inner runs
// of spaces collapsed, joined by ','.
func appendValues(b []byte, vals []string) []byte {
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCollapsed(b, v)
	}
	return b
}

// appendCollapsed appends s without its leading and trailing spaces and
// with each inner run of spaces made one.
func appendCollapsed(b []byte, s string) []byte {
	s = strings.Trim(s, " ")
	for {
		i := strings.Index(s, "  ")
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i+1]...)
		s = strings.TrimLeft(s[i+1:], " ")
	}
}

// appendCanonicalRequest appends to b the canonical request of r, its
// query params encoded with esc and its payload hash payloadHash: method,
// URI, query, headers and signed headers, each ended by a newline, and the
// payload hash. The query is creq[q0:q1].
// Errors: those of appendCanonicalHeaders.
func appendCanonicalRequest(b []byte, r *http.Request, params []queryParam, esc func([]byte, string) []byte, signed []string, payloadHash []byte) (creq []byte, q0, q1 int, err error) {
	b = append(append(b, r.Method...), '\n')
	b = append(appendCanonicalURI(b, rawPath(r)), '\n')
	q0 = len(b)
	b = appendQuery(b, params, esc)
	q1 = len(b)
	b = append(b, '\n')
	if b, err = appendCanonicalHeaders(b, r, signed); err != nil {
		return nil, 0, 0, err
	}
	b = append(b, '\n')
	for i, h := range signed {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, h...)
	}
	b = append(b, '\n')
	return append(b, payloadHash...), q0, q1, nil
}

// appendStringToSign appends to b the string to sign for a canonical
// request of hash sum: algorithm, date, scope and the hash in hex.
func appendStringToSign(b []byte, amzDate, scope string, sum *[sha256.Size]byte) []byte {
	b = append(append(b, Algorithm...), '\n')
	b = append(append(b, amzDate...), '\n')
	b = append(append(b, scope...), '\n')
	return hex.AppendEncode(b, sum[:])
}

// signer signs for one signing key and credential scope. Its HMACs are
// keyed once and reused: crypto/hmac keeps its hash state after the keyed
// pads and restores it on Reset, instead of hashing the pads each time.
type signer struct {
	key   []byte
	scope string
	macs  sync.Pool // of *mac, each used by one goroutine at a time
}

type mac struct {
	h   hash.Hash // HMAC-SHA256 with the signer's key
	buf []byte    // room for the string to sign
}

func newSigner(key []byte, scope string) *signer {
	s := &signer{key: key, scope: scope}
	// keyed is only cloned, never written: a new mac copies its state
	// rather than hashing the pads again.
	keyed := hmac.New(sha256.New, key)
	keyed.Reset()
	s.macs.New = func() any {
		m := &mac{buf: make([]byte, 0, 128+len(scope))}
		if c, ok := keyed.(hash.Cloner); ok {
			if h, err := c.Clone(); err == nil {
				m.h = h
				return m
			}
		}
		m.h = hmac.New(sha256.New, key)
		return m
	}
	return s
}

// signCanonical returns the signature of a canonical request: the hex
// HMAC of its string to sign (sign_test.go holds it to the specification's
// string-by-string form).
func (s *signer) signCanonical(amzDate string, creq []byte) (sig [2 * sha256.Size]byte) {
	sum := sha256.Sum256(creq)
	m := s.macs.Get().(*mac)
	sts := appendStringToSign(m.buf[:0], amzDate, s.scope, &sum)
	m.h.Reset()
	m.h.Write(sts)
	hex.Encode(sig[:], m.h.Sum(sts[:0])) // the MAC reuses sts's array, written already
	s.macs.Put(m)
	return sig
}

// SigningKey derives the signing key of a secret for one day, region and service.
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// keyCache keeps a signer for each signing key the verifier derived: four
// HMACs a request otherwise, for a key that changes once a day.
type keyCache struct {
	mu   sync.RWMutex
	keys map[keyScope]*signer
}

// keyScope is what a signing key is derived from.
type keyScope struct{ secret, date, region, service string }

var signingKeys = &keyCache{keys: map[keyScope]*signer{}}

// maxSigningKeys bounds the cache; past it, the cache starts over.
const maxSigningKeys = 4096

// get returns the signer of the key and scope of secret, date, region and
// service, with the terminator checkScope requires.
func (c *keyCache) get(secret, date, region, service string) *signer {
	id := keyScope{secret, date, region, service}
	c.mu.RLock()
	s, ok := c.keys[id]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = newSigner(SigningKey(secret, date, region, service),
		Credential{Date: date, Region: region, Service: service, Terminator: "aws4_request"}.Scope())
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.keys[id]; ok {
		return old
	}
	if len(c.keys) >= maxSigningKeys {
		clear(c.keys)
	}
	c.keys[id] = s
	return s
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
