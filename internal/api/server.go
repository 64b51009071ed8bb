// Package api is Belfry's wire: it routes AWS SDK requests of the Chime SDK
// Messaging and Identity services to the service, validates them against the
// models, and writes responses and errors exactly as the SDKs expect.
package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
)

// MaxBodyBytes bounds a request body; the largest valid body (a 100-member
// batch of 1600-character ARNs) is far smaller.
const MaxBodyBytes = 1 << 20

// opFunc runs one operation on its validated input (as decodeInput returns
// it) and returns the value to encode as the response body (nil for none).
type opFunc struct {
	input *inputDecoder // the handler's input type and how to fill it
	run   func(ctx context.Context, c chime.Caller, in map[string]any) (any, error)
	// needsHost: run's context carries the request's Host (requestHostKey).
	needsHost bool
}

// withHost returns f with needsHost set.
func (f opFunc) withHost() opFunc {
	f.needsHost = true
	return f
}

// Server is the HTTP handler for both APIs.
type Server struct {
	svc  *service.Service
	auth Authenticator
	log  *slog.Logger
	ops  []*opSpec
	impl map[string]opFunc
	// byShape holds s.ops by method and number of path segments, the only
	// operations a request of that shape can match, each list in s.ops's
	// order (which decides between several).
	byShape map[routeShape][]*opSpec

	sessionEndpoint func(requestHost string) string
	writeHealth     func() error // when it fails, changes are refused with a 503
	limits          *RateLimits  // nil: no rate limits
	observer        Observer     // nil: requests are not counted
}

// WithWriteHealth makes the server refuse every change (any method but GET)
// with 503 ServiceUnavailableException while health reports an error: a
// change whose events could not reach the other nodes is not accepted.
func WithWriteHealth(health func() error) Option {
	return func(s *Server) { s.writeHealth = health }
}

// New returns the handler. auth decides who signed each request.
func New(svc *service.Service, auth Authenticator, log *slog.Logger, opts ...Option) (*Server, error) {
	ops, err := loadModels()
	if err != nil {
		return nil, err
	}
	s := &Server{svc: svc, auth: auth, log: log, ops: ops, byShape: byShape(ops)}
	for _, o := range opts {
		o(s)
	}
	s.impl = s.routes()
	return s, nil
}

// Operations lists every operation of both models and whether it is built.
func (s *Server) Operations() map[string]bool {
	out := map[string]bool{}
	for _, op := range s.ops {
		_, ok := s.impl[op.name]
		out[op.name] = ok
	}
	return out
}

// op adapts a typed handler to an opFunc: the validated input is decoded
// into In as a JSON round trip would (input.go), its fields read once here.
func op[In any](f func(ctx context.Context, c chime.Caller, in *In) (any, error)) opFunc {
	dec := newInputDecoder(reflect.TypeFor[In]())
	return opFunc{input: dec, run: func(ctx context.Context, c chime.Caller, m map[string]any) (any, error) {
		in := new(In)
		if err := dec.decode(m, in); err != nil {
			return nil, err
		}
		return f(ctx, c, in)
	}}
}

// newRequestID returns a random (version 4) UUID, as AWS's x-amzn-RequestId
// is one (SEMANTICS.md §8). The bits come from math/rand/v2's generator
// (ChaCha8, seeded by the runtime from the operating system), as
// unpredictable as a request id need be, without the crypto/rand read each
// request once cost.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var h [36]byte
	hex.Encode(h[0:8], b[0:4])
	hex.Encode(h[9:13], b[4:6])
	hex.Encode(h[14:18], b[6:8])
	hex.Encode(h[19:23], b[8:10])
	hex.Encode(h[24:36], b[10:16])
	h[8], h[13], h[18], h[23] = '-', '-', '-', '-'
	return string(h[:])
}

// The CORS headers of every response and the Content-Type of JSON, shared
// (net/http never changes them).
var (
	corsOrigin      = []string{"*"}
	corsExpose      = []string{"x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id"}
	contentTypeJSON = []string{"application/json"}
	// The preflight's (OPTIONS).
	corsMethods = []string{"GET, POST, PUT, DELETE, OPTIONS"}
	corsHeaders = []string{"*, authorization"} // "*" never covers Authorization (Fetch standard)
	corsMaxAge  = []string{"86400"}
)

// requestState is what ServeHTTP allocates for each request, at once.
type requestState struct {
	sw        statusWriter // when there is an observer
	requestID [1]string    // the x-amzn-RequestId header's values
}

// maxSegments is the number of path segments route splits without an
// allocation; the models' paths have at most 5.
const maxSegments = 8

// requestPath is a request's path as route splits it.
type requestPath struct {
	segs  []string // the escaped path's segments (appendSegments)
	plain []string // each of segs unescaped, as url.PathUnescape gives it; nil when not known
}

// ServeHTTP is the request pipeline: panic recovery, request id, CORS,
// authentication (a request without any signature is refused before
// routing and before its body is read; the signature is verified over the
// body, read up to MaxBodyBytes), routing, validation, authorisation of the
// key's scope (authorize.go), rate limits, the operation and its error
// mapping.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	opName := "-"
	st := new(requestState)
	if s.observer != nil {
		st.sw.ResponseWriter = w
		w = &st.sw
		defer func() { s.observer.ObserveRequest(opName, st.sw.status, time.Since(start)) }()
	}
	requestID := newRequestID()
	st.requestID[0] = requestID
	// Set in canonical form, as Header.Set would (what every response carries).
	h := w.Header()
	h["X-Amzn-Requestid"] = st.requestID[:]
	h["Access-Control-Allow-Origin"] = corsOrigin
	h["Access-Control-Expose-Headers"] = corsExpose
	defer func() {
		if p := recover(); p != nil {
			writeError(w, s.log, requestID, fmt.Errorf("panic in %s: %v", opName, p))
		}
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("request", "request_id", requestID, "op", opName, "method", r.Method, "path", r.URL.EscapedPath(), "ms", time.Since(start).Milliseconds())
		}
	}()
	if r.Method == http.MethodOptions {
		h["Access-Control-Allow-Methods"] = corsMethods
		h["Access-Control-Allow-Headers"] = corsHeaders
		h["Access-Control-Max-Age"] = corsMaxAge
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if pc, ok := s.auth.(prechecker); ok {
		if err := pc.Precheck(r); err != nil {
			writeError(w, s.log, requestID, err)
			return
		}
	}
	var segBuf, plainBuf [maxSegments]string
	spec, path, query, err := s.route(r, segBuf[:0], plainBuf[:0])
	if err != nil {
		writeError(w, s.log, requestID, err)
		return
	}
	opName = spec.name
	if r.ContentLength > MaxBodyBytes {
		writeError(w, s.log, requestID, chime.Errorf(chime.KindBadRequest, "The request body exceeds %d bytes.", MaxBodyBytes))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, s.log, requestID, chime.Errorf(chime.KindBadRequest, "The request body could not be read or exceeds %d bytes.", MaxBodyBytes))
		return
	}
	principal, err := s.auth.Authenticate(r, body)
	if err != nil {
		writeError(w, s.log, requestID, err)
		return
	}
	if s.writeHealth != nil && r.Method != http.MethodGet {
		if err := s.writeHealth(); err != nil {
			writeError(w, s.log, requestID, chime.Errorf(chime.KindServiceUnavailable, "Service unavailable: %v. Retry later.", err))
			return
		}
	}
	impl, ok := s.impl[spec.name]
	if !ok {
		writeError(w, s.log, requestID, chime.Errorf(chime.KindNotImplemented, "Belfry does not implement %s yet.", spec.name+legacyAlias[spec.name]))
		return
	}
	in, err := decodeInput(spec, path, query, r, body)
	if err != nil {
		writeError(w, s.log, requestID, err)
		return
	}
	if err := authorize(principal, spec, in); err != nil {
		writeError(w, s.log, requestID, err)
		return
	}
	if err := ownAccount(principal, spec, in); err != nil {
		writeError(w, s.log, requestID, err)
		return
	}
	if s.limits != nil {
		if err := s.limits.check(limitsFor(r.Context(), principal, spec, in, s.svc.RateScope)); err != nil {
			writeError(w, s.log, requestID, err)
			return
		}
	}
	// As r.Header.Get("x-amz-chime-bearer") reads it.
	caller := chime.Caller{Principal: principal, Bearer: firstValue(r.Header["X-Amz-Chime-Bearer"])}
	ctx := r.Context()
	if impl.needsHost {
		ctx = context.WithValue(ctx, requestHostKey{}, r.Host)
	}
	out, err := impl.run(ctx, caller, in)
	if err != nil {
		writeError(w, s.log, requestID, err)
		return
	}
	if out == nil || spec.status == http.StatusNoContent {
		w.WriteHeader(spec.status)
		return
	}
	if a, ok := out.(jsonAppender); ok {
		bp := outputBuffers.Get().(*[]byte)
		b := a.appendJSON((*bp)[:0])
		w.Header()["Content-Type"] = contentTypeJSON
		w.WriteHeader(spec.status)
		w.Write(b)
		if cap(b) <= maxPooledOutput {
			*bp = b
			outputBuffers.Put(bp)
		}
		return
	}
	if m, ok := out.(map[string]any); ok {
		omitNils(m)
	}
	b, err := json.Marshal(out)
	if err != nil {
		writeError(w, s.log, requestID, fmt.Errorf("encode %s output: %w", spec.name, err))
		return
	}
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(spec.status)
	w.Write(b)
}

// omitNils leaves out of an output the members that have no value (a nil
// pointer, map, slice or interface), in it and in the maps it holds, as AWS
// leaves them out: json.Marshal would write them as null.
func omitNils(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			omitNils(x)
		default:
			switch r := reflect.ValueOf(v); r.Kind() {
			case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
				if r.IsNil() {
					delete(m, k)
				}
			}
		}
	}
}

func firstValue(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// jsonAppender is an output that appends its JSON, byte for byte what
// json.Marshal gives of it, without reflection.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// outputBuffers hold the bodies of jsonAppender outputs (a Write does not
// retain them); a buffer grown past maxPooledOutput is left to the GC.
var outputBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

const maxPooledOutput = 64 << 10

// readBody reads r's body through http.MaxBytesReader(w, r.Body,
// MaxBodyBytes) as io.ReadAll would: every byte up to the first error, EOF
// being none. When r.ContentLength announces a length below the limit, it
// reads into a buffer of that length and one byte more (to see the end
// without growing it) instead of io.ReadAll's 512 bytes and up, and from
// r.Body itself: those reads stay within the limit, where MaxBytesReader
// passes every read through as it is. Only what comes past the buffer
// (a request built by hand) is read through MaxBytesReader, with the limit
// that is left.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength < 0 || r.ContentLength >= MaxBodyBytes {
		return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	}
	if r.Body == http.NoBody {
		return []byte{}, nil // as io.ReadAll gives it: empty, not nil
	}
	b := make([]byte, 0, r.ContentLength+1)
	for {
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			rest, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes-int64(len(b))))
			return append(b, rest...), err
		}
	}
}

// route finds the operation for a request by method, escaped path and the
// operation=/scope= query values, and returns the path (splitRequestPath,
// into segBuf and plainBuf) and the parsed query (nil when there is none).
// ARNs arrive percent-encoded in one path segment, so the escaped path is
// split before anything is unescaped.
func (s *Server) route(r *http.Request, segBuf, plainBuf []string) (*opSpec, requestPath, url.Values, error) {
	path := splitRequestPath(r.URL, segBuf, plainBuf)
	var query url.Values
	if r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	for _, op := range s.byShape[routeShape{r.Method, len(path.segs)}] {
		if op.match(r.Method, path.segs, query) {
			return op, path, query, nil
		}
	}
	for _, op := range s.ops {
		if op.pathMatches(path.segs) {
			return nil, requestPath{}, nil, chime.Errorf(chime.KindUnknownOperation, "No operation accepts %s on %s.", r.Method, r.URL.EscapedPath())
		}
	}
	return nil, requestPath{}, nil, chime.Errorf(chime.KindUnknownOperation, "No operation matches %s %s.", r.Method, r.URL.EscapedPath())
}

// splitRequestPath splits u.EscapedPath() into segments (appendSegments,
// appended to segBuf). EscapedPath is u.RawPath when that is a valid
// encoding of u.Path, which it finds out by decoding RawPath into a new
// string; a path of the SDKs, an ARN in a segment (%3A, %2F), is checked
// here without one (plainlyEncodes), and its segments' decodings are then
// substrings of u.Path (appended to plainBuf). Anything else is left to
// EscapedPath.
func splitRequestPath(u *url.URL, segBuf, plainBuf []string) requestPath {
	if u.RawPath == "" || !plainlyEncodes(u.RawPath, u.Path) {
		return requestPath{segs: appendSegments(segBuf, u.EscapedPath())}
	}
	segs := appendSegments(segBuf, u.RawPath)
	plain := plainBuf
	// Each byte of RawPath but a %XX is itself in Path.
	at := len(u.RawPath) - len(strings.TrimLeft(u.RawPath, "/"))
	for _, seg := range segs {
		n := len(seg) - 2*strings.Count(seg, "%")
		plain = append(plain, u.Path[at:at+n])
		at += n + 1
	}
	return requestPath{segs: segs, plain: plain}
}

// plainlyEncodes reports whether raw holds only unreserved characters,
// sub-delimiters, ':', '@', '/' and %XX escapes, and decodes to path. Such
// a raw is what url.URL.EscapedPath returns for RawPath raw and Path path.
func plainlyEncodes(raw, path string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '%' {
			if i+2 >= len(raw) {
				return false
			}
			hi, lo := unhex(raw[i+1]), unhex(raw[i+2])
			if hi < 0 || lo < 0 {
				return false
			}
			c = byte(hi<<4 | lo)
			i += 2
		} else if !pathPlain[c] {
			return false
		}
		if j == len(path) || path[j] != c {
			return false
		}
		j++
	}
	return j == len(path)
}

// pathPlain holds the bytes plainlyEncodes takes as they are.
var pathPlain = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = isLowerAlnum(byte(c)) || 'A' <= c && c <= 'Z' || strings.IndexByte("-._~!$&'()*+,;=:@/", byte(c)) >= 0
	}
	return t
}()

// unhex returns the value of the hex digit c, -1 if it is not one.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// routeShape is what a request shares with every operation it can match.
type routeShape struct {
	method string
	segs   int
}

func byShape(ops []*opSpec) map[routeShape][]*opSpec {
	m := map[routeShape][]*opSpec{}
	for _, op := range ops {
		k := routeShape{op.method, len(op.segs)}
		m[k] = append(m[k], op)
	}
	return m
}

// Authenticator decides who made a request. It is the one seam where SigV4
// verification plugs in, for the REST API (Authorization header) and for the
// messaging session's presigned /connect URL alike; OpenAuth, the
// development mode, verifies no signature.
type Authenticator interface {
	// Authenticate returns the request's principal or an error to send;
	// body is the request's body (nil for a WebSocket upgrade), which a
	// signature covers.
	Authenticate(r *http.Request, body []byte) (chime.Principal, error)
}

// prechecker is implemented by an Authenticator that can refuse a request
// from its headers alone, before its body is read.
type prechecker interface {
	Precheck(r *http.Request) error
}

// OpenAuth accepts every request, signed with any credentials or unsigned,
// and takes the access key and region from the SigV4 credential scope when
// there is one (rule D14); every principal is an account admin. The one
// thing it checks is the validity window of a presigned URL
// (CheckPresignWindow).
type OpenAuth struct {
	Account string           // the account ID; "" applies rule D14's default
	Now     func() time.Time // the clock for presigned URLs; time.Now when nil
}

// Authenticate implements Authenticator without verifying signatures.
// Errors: Forbidden (a presigned URL outside its validity window).
func (a OpenAuth) Authenticate(r *http.Request, _ []byte) (chime.Principal, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	var q url.Values // nil when there is no query, as it reads the same
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	if err := CheckPresignWindow(q, now()); err != nil {
		return chime.Principal{}, err
	}
	p := chime.Principal{Region: "us-east-1", Scope: chime.Scope{Kind: chime.ScopeAccount}}
	cred := q.Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		for _, part := range strings.Split(strings.TrimPrefix(h, "AWS4-HMAC-SHA256 "), ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				cred = v
			}
		}
	}
	if strings.Count(cred, "/") == 4 {
		f := strings.Split(cred, "/")
		p.AccessKeyID = f[0]
		if isRegion(f[2]) {
			p.Region = f[2]
		}
	}
	p.Account = accountFor(a.Account, p.AccessKeyID)
	return p, nil
}

// isRegion reports whether s is a region as a credential scope may name
// it: 1 to 63 of [a-z0-9-] (auth_test.go holds it to that regexp).
func isRegion(s string) bool {
	if len(s) < 1 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
