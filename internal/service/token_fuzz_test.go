package service

import (
	"encoding/base64"
	"testing"
	"unicode/utf8"

	"github.com/belfry/belfry/internal/chime"
)

// FuzzNextToken: NextTokens are opaque and tamper-evident (rule D8). For
// any operation, filter and cursor, a token reads back as issued; read for
// another operation or filter, or changed in any byte, it is a 400
// BadRequestException, never a 500 or a panic; and any string at all given
// as a token is either refused that way or was issued by the server.
func FuzzNextToken(f *testing.F) {
	f.Add("ListChannelMemberships", "arn:aws:chime:us-east-1:1:app-instance/a/channel/c|DEFAULT", int64(42), int64(0), "", uint16(3))
	f.Add("ListChannelMessages", "channel|ASCENDING|0|9999", int64(1), int64(1700000000000), "abc%2F%2B%3D", uint16(0))
	f.Add("ListAppInstances", "", int64(1<<62), int64(-1), "eyJvIjoiTGlzdEFwcEluc3RhbmNlcyJ9", uint16(60))
	f.Add("", "", int64(1), int64(0), "!!!!", uint16(1))
	s := &Service{tokenKey: []byte("fuzz-token-key-0123456789abcdef")}
	bad := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: accepted", what)
		}
		if chime.KindOf(err) != chime.KindBadRequest {
			t.Fatalf("%s: error of kind %d: %v", what, chime.KindOf(err), err)
		}
	}
	f.Fuzz(func(t *testing.T, op, filter string, after, tm int64, raw string, flip uint16) {
		// Any string: refused as a 400, or (vanishingly rarely) a real token.
		if _, err := s.readToken(op, filter, raw); err != nil {
			bad(t, "arbitrary token", err)
		}
		if after <= 0 || !utf8.ValidString(op) {
			return // no token for a first page; operations are Go identifiers
		}
		tok := *s.writeToken(tokenBody{Op: op, Filter: filter, After: after, Time: tm})
		got, err := s.readToken(op, filter, tok)
		if err != nil || got.After != after || got.Time != tm || got.Op != op {
			t.Fatalf("round trip: %+v, %v", got, err)
		}
		_, err = s.readToken(op+"x", filter, tok)
		bad(t, "another operation", err)
		_, err = s.readToken(op, filter+"x", tok)
		bad(t, "another filter", err)
		// Change one byte of what the token encodes.
		b, _ := base64.RawURLEncoding.DecodeString(tok)
		b[int(flip)%len(b)] ^= 1 << (flip % 8)
		_, err = s.readToken(op, filter, base64.RawURLEncoding.EncodeToString(b))
		bad(t, "a changed byte", err)
	})
}
