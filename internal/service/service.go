// Package service holds every business rule of Belfry: one exported method per
// AWS operation, bearer authorisation, role rules, quotas, idempotency,
// pagination tokens, ids and the clock.
package service

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// Quotas are the resource limits of rule D17 (AWS's defaults, SEMANTICS.md §9).
type Quotas struct {
	AppInstancesPerAccount int
	UsersPerAppInstance    int
	BotsPerAppInstance     int
	AdminsPerAppInstance   int
	ChannelsPerAppInstance int
	MembershipsPerChannel  int
	MembershipsPerUser     int
	ModeratorsPerChannel   int
	TagsPerResource        int

	ElasticChannelsPerAppInstance int
	SubChannelsPerElasticChannel  int
	MembershipsPerSubChannel      int
}

// DefaultQuotas are AWS's default resource quotas.
var DefaultQuotas = Quotas{
	AppInstancesPerAccount: 100,
	UsersPerAppInstance:    100_000,
	BotsPerAppInstance:     100_000,
	AdminsPerAppInstance:   100,
	ChannelsPerAppInstance: 10_000_000,
	MembershipsPerChannel:  10_000,
	MembershipsPerUser:     20_000,
	ModeratorsPerChannel:   1_000,
	TagsPerResource:        50,

	ElasticChannelsPerAppInstance: 1,
	SubChannelsPerElasticChannel:  100,
	MembershipsPerSubChannel:      1_000,
}

// Service implements the operations. It is safe for concurrent use.
type Service struct {
	store    *store.Store
	now      func() time.Time
	quotas   Quotas
	tokenKey []byte
	bus      chime.Bus
}

// Options configure a Service.
type Options struct {
	Now    func() time.Time // the clock; time.Now when nil
	Quotas *Quotas          // DefaultQuotas when nil
	Bus    chime.Bus        // where committed events go; none when nil
}

// New returns a Service on st. It loads (or creates) the key that
// authenticates pagination tokens, so tokens survive restarts (rule D8).
func New(ctx context.Context, st *store.Store, opt Options) (*Service, error) {
	s := &Service{store: st, now: opt.Now, quotas: DefaultQuotas, bus: opt.Bus}
	if s.now == nil {
		s.now = time.Now
	}
	if opt.Quotas != nil {
		s.quotas = *opt.Quotas
	}
	err := st.Write(ctx, func(tx *store.Tx) error {
		k, err := tx.GetMeta("token-key")
		if err != nil {
			return err
		}
		if k == "" {
			b := make([]byte, 32)
			rand.Read(b)
			// Another node starting now may add its own first: the key is
			// whichever was added, read back, so that all nodes share it.
			if err := tx.AddMeta("token-key", hex.EncodeToString(b)); err != nil {
				return err
			}
			if k, err = tx.GetMeta("token-key"); err != nil {
				return err
			}
		}
		s.tokenKey, err = hex.DecodeString(k)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load token key: %w", err)
	}
	return s, nil
}

// clock returns now truncated to the millisecond, the precision stored and sent (rule D13).
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// newUUID returns a random version-4 UUID (rule D15).
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// --- pagination tokens (rule D8) ---

type tokenBody struct {
	Op     string `json:"o"`
	Filter string `json:"f"`
	After  int64  `json:"a"`           // the seq of the last item returned
	Time   int64  `json:"t,omitempty"` // for message history, its creation time in ms
	Sub    string `json:"s,omitempty"` // for an elastic channel's history, the subchannel listed
}

// PageRequest is the paging part of a List input.
type PageRequest struct {
	MaxResults int    // 0 means the default, 50 (rule D6)
	NextToken  string // "" for the first page
}

func (p PageRequest) limit() int {
	if p.MaxResults <= 0 {
		return 50
	}
	return p.MaxResults
}

// after decodes the request's token for op and filter; it returns the
// cursor to continue after, 0 for the first page.
func (s *Service) after(op, filter string, p PageRequest) (int64, error) {
	tb, err := s.readToken(op, filter, p.NextToken)
	return tb.After, err
}

// readToken authenticates a NextToken and checks it was issued for op and
// filter; an empty token is the first page (zero tokenBody).
func (s *Service) readToken(op, filter, token string) (tokenBody, error) {
	if token == "" {
		return tokenBody{}, nil
	}
	tb, ok := s.decodeToken(token)
	if !ok || tb.Op != op || tb.Filter != filterHash(filter) || tb.After <= 0 {
		return tokenBody{}, chime.Errorf(chime.KindBadRequest, "The NextToken is invalid or does not belong to this request.")
	}
	return tb, nil
}

// decodeToken returns the body of a token this server signed.
func (s *Service) decodeToken(token string) (tokenBody, bool) {
	// The decoder skips CR and LF: a token is the one issued only if it
	// encodes back to itself.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < sha256.Size || base64.RawURLEncoding.EncodedLen(len(raw)) != len(token) {
		return tokenBody{}, false
	}
	body, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	var tb tokenBody
	if !hmac.Equal(mac, s.sign(body)) || json.Unmarshal(body, &tb) != nil {
		return tokenBody{}, false
	}
	return tb, true
}

// token returns the NextToken for a page ending at cursor next, nil on the last page.
func (s *Service) token(op, filter string, next int64) *string {
	if next == 0 {
		return nil
	}
	return s.writeToken(tokenBody{Op: op, Filter: filter, After: next})
}

func (s *Service) writeToken(tb tokenBody) *string {
	tb.Filter = filterHash(tb.Filter)
	body, _ := json.Marshal(tb)
	t := base64.RawURLEncoding.EncodeToString(append(body, s.sign(body)...))
	return &t
}

// filterHash keeps tokens short (the model allows 2048 characters) however
// long the ARNs a list is filtered by.
func filterHash(filter string) string {
	sum := sha256.Sum256([]byte(filter))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (s *Service) sign(b []byte) []byte {
	m := hmac.New(sha256.New, s.tokenKey)
	m.Write(b)
	return m.Sum(nil)
}

// --- idempotency (rule D12) ---

const idempotencyWindow = 24 * time.Hour

// replay looks up a ClientRequestToken. It returns the original result when
// the same token came with the same parameters within 24 hours, a Conflict
// when it came with different ones, and "" when the token is new, with the
// fingerprint to remember. sent is the request as it came; params the same
// with its unordered lists sorted (sortedTags, sortedStrings), so that the
// same request with its lists in another order is the same request.
func (s *Service) replay(tx *store.Tx, scope, token string, sent, params any) (string, string, error) {
	fp := fingerprint(params)
	prev, err := tx.GetIdempotent(scope, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.clock().Sub(prev.Created) > idempotencyWindow) {
		return "", fp, nil
	}
	if err != nil {
		return "", "", err
	}
	// A token remembered by an earlier build carries the fingerprint of its
	// time: the request as sent (up to dbb700f), then with its lists sorted.
	if prev.Fingerprint != fp && prev.Fingerprint != rawFingerprint(sent) && prev.Fingerprint != rawFingerprint(params) {
		return "", "", chime.Errorf(chime.KindConflict, "The ClientRequestToken %q was already used with different parameters.", token)
	}
	return prev.Result, fp, nil
}

// fingerprint identifies a request's parameters: its JSON with the fields
// of the input left out when empty (null, "", 0, false, an empty list or
// object) and keys in order, so that a field added to an input later, empty
// in every request made before, leaves the fingerprints remembered before as
// they were. Only the input's own fields are left out: inside them an empty
// value may be data (a message attribute with no values).
func fingerprint(params any) string {
	b, _ := json.Marshal(params)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var fields map[string]any
	if d.Decode(&fields) == nil {
		for k, v := range fields {
			if empty(v) {
				delete(fields, k)
			}
		}
		b, _ = json.Marshal(fields)
	}
	sum := sha256.Sum256(b)
	return "v2:" + hex.EncodeToString(sum[:])
}

// empty reports whether a JSON value is its type's zero value.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case json.Number:
		return x == "0"
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// rawFingerprint is the fingerprint earlier builds remembered: the hash of
// the JSON of the input struct.
func rawFingerprint(params any) string {
	b, _ := json.Marshal(params)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sortedTags returns tags in key order (then value) for a fingerprint: the
// order a request lists its tags in means nothing.
func sortedTags(tags []chime.Tag) []chime.Tag {
	if len(tags) < 2 {
		return tags
	}
	out := slices.Clone(tags)
	slices.SortStableFunc(out, func(a, b chime.Tag) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value))
	})
	return out
}

// sortedStrings returns a sorted copy of an unordered list (of ARNs) for a
// fingerprint, as sortedTags.
func sortedStrings(list []string) []string {
	if len(list) < 2 {
		return list
	}
	out := slices.Clone(list)
	slices.Sort(out)
	return out
}

func (s *Service) remember(tx *store.Tx, scope, token, fp, result string) error {
	return tx.PutIdempotent(scope, token, store.Idempotent{Fingerprint: fp, Result: result, Created: s.clock()})
}

// --- lookups shared by the operations ---

func notFoundAs(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return chime.Errorf(chime.KindNotFound, format, args...)
	}
	return err
}

func (s *Service) appInstance(tx *store.Tx, arn string) (chime.AppInstance, error) {
	a, err := tx.GetAppInstance(arn)
	return a, notFoundAs(err, "The app instance %s does not exist.", arn)
}

func (s *Service) channel(tx *store.Tx, arn string) (chime.Channel, error) {
	c, err := tx.GetChannel(arn)
	return c, notFoundAs(err, "The channel %s does not exist.", arn)
}

// bearer resolves the x-amz-chime-bearer of a messaging call (rule D5): it
// must be an existing user or bot and, when appInstance is given, belong to it
// (an appInstance that is no app instance ARN is a 400 naming AppInstanceArn).
func (s *Service) bearer(tx *store.Tx, c chime.Caller, appInstance string) (chime.AppInstanceUser, error) {
	unauthorized := chime.Errorf(chime.KindUnauthorized, chime.MsgInvalidBearer)
	if c.Bearer == "" || !lookupable(c.Bearer) {
		return chime.AppInstanceUser{}, unauthorized
	}
	u, err := tx.GetIdentity(c.Bearer)
	if errors.Is(err, store.ErrNotFound) {
		return u, unauthorized
	}
	if err != nil {
		return u, err
	}
	if appInstance != "" && u.AppInstanceArn != appInstance {
		if a, ok := chime.ParseARN(appInstance); !ok || a.Kind != "" {
			// Not an app instance ARN at all (a channel's, the bearer's
			// own): the field is at fault, not the header. A 400, which
			// CreateChannel and ListChannels model (they have no 404).
			return u, chime.Errorf(chime.KindBadRequest, "AppInstanceArn %s is not an app instance ARN.", appInstance)
		}
		return u, unauthorized
	}
	return u, nil
}

// memberIdentity resolves an ARN named in a request body as a user or bot of
// the app instance (rule D4).
func (s *Service) memberIdentity(tx *store.Tx, appInstance, arn string) (chime.AppInstanceUser, error) {
	u, err := tx.GetIdentity(arn)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.AppInstanceArn != appInstance) {
		return u, chime.Errorf(chime.KindForbidden, chime.MsgInvalidMember)
	}
	return u, err
}

func identityOf(u chime.AppInstanceUser) chime.Identity {
	return chime.Identity{Arn: u.Arn, Name: u.Name}
}

func limitExceeded(what string, limit int) error {
	return chime.Errorf(chime.KindResourceLimitExceeded, "The quota of %d %s has been reached.", limit, what)
}

// owner is the key that scopes app instances to an account and region.
// lookupable tells whether s is text a stored ARN can be: valid UTF-8
// without U+0000, as the API's validation admits. PostgreSQL cannot even
// look up other text (an error, not "not found").
func lookupable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

func owner(p chime.Principal) string { return p.Region + ":" + p.Account }

func isChild(arn, kind string) bool {
	a, ok := chime.ParseARN(arn)
	return ok && a.Kind == kind
}

func trimmed(s string) string { return strings.TrimSpace(s) }
