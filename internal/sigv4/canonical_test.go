package sigv4

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/textproto"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The buffered canonical forms, the escapes and the parsers of dates and of
// the Authorization header give what their references (sign_test.go) and
// time.Parse give, on chosen and on random inputs; fuzz_test.go goes on.

// randomStrings returns n strings of up to max bytes drawn from alphabet.
func randomStrings(seed uint64, n, max int, alphabet string) []string {
	rnd := rand.New(rand.NewPCG(seed, 1))
	out := make([]string, n)
	for i := range out {
		b := make([]byte, rnd.IntN(max+1))
		for j := range b {
			b[j] = alphabet[rnd.IntN(len(alphabet))]
		}
		out[i] = string(b)
	}
	return out
}

func allBytes() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}

func jsKeep(c byte) bool { return unreserved(c) || strings.IndexByte("!'()*", c) >= 0 }

// TestEscape: the table-driven escapes are the byte-by-byte ones, and
// append into a buffer with room without allocating.
func TestEscape(t *testing.T) {
	inputs := []string{"", "abc", "a b", "arn:aws:chime:us-east-1:1:app-instance/a", "!'()*", "~-_.", "%3A", "ü €", "\x00\xff"}
	for c := range 256 {
		inputs = append(inputs, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"bc")
	}
	inputs = append(inputs, randomStrings(1, 2000, 40, allBytes())...)
	for _, s := range inputs {
		if got, want := EscapeStrict(s), refEscape(s, unreserved); got != want {
			t.Fatalf("EscapeStrict(%q) = %q, want %q", s, got, want)
		}
		if got, want := EscapeURIComponent(s), refEscape(s, jsKeep); got != want {
			t.Fatalf("EscapeURIComponent(%q) = %q, want %q", s, got, want)
		}
		want := "/"
		if s != "" {
			want = refEscape(s, func(c byte) bool { return unreserved(c) || c == '/' })
		}
		if got := CanonicalURI(s); got != want {
			t.Fatalf("CanonicalURI(%q) = %q, want %q", s, got, want)
		}
	}
	buf := make([]byte, 0, 256)
	for _, s := range []string{"channels-1_2.3~Z", "arn:aws:chime:us-east-1:1:app-instance/a"} {
		if n := testing.AllocsPerRun(100, func() { appendEscapeStrict(buf[:0], s); appendEscapeURIComponent(buf[:0], s) }); n != 0 {
			t.Fatalf("escaping %q into a buffer with room allocates %v times", s, n)
		}
	}
}

// TestCanonicalQuery: the canonical query is the reference's, with either
// escape and parameter skipped, refusals included; and when no parameter
// is encoded differently by the two escapes (escapesDiffer), the two forms
// are the same, so matches need not try the second.
func TestCanonicalQuery(t *testing.T) {
	inputs := []string{"", "a=1", "b=2&a=1", "a=2&a=1", "a", "a=", "=a", "&&", "a=%zz", "%zz=1", "a=%2", "a+b=c+d",
		"X-Amz-Signature=x&a=1", "k=!'()*&j=%21", "x=arn%3Aaws%3Achime%2Fa&x=arn%3Aaws", "b=(&b=%28&b=~", "a=%E2%82%AC&a=%ff"}
	inputs = append(inputs, randomStrings(2, 3000, 24, "ab=&%+2AFz!'()* :/~")...)
	for _, raw := range inputs {
		for _, skip := range []string{"", "X-Amz-Signature", "a"} {
			for _, esc := range []func(string) string{EscapeStrict, EscapeURIComponent} {
				got, err := CanonicalQuery(raw, esc, skip)
				want, werr := refCanonicalQuery(raw, esc, skip)
				if got != want || !reflect.DeepEqual(err, werr) {
					t.Fatalf("CanonicalQuery(%q, skip %q) = %q, %v; want %q, %v", raw, skip, got, err, want, werr)
				}
			}
			params, err := decodeQuery(nil, raw, skip)
			if err != nil {
				continue
			}
			strict, _ := CanonicalQuery(raw, EscapeStrict, skip)
			js, _ := CanonicalQuery(raw, EscapeURIComponent, skip)
			if differ := slices.ContainsFunc(params, escapesDiffer); differ != (strict != js) {
				t.Fatalf("%q: escapesDiffer says %v, forms %q and %q", raw, differ, strict, js)
			}
		}
	}
}

// TestCanonicalHeaders: the canonical headers are the reference's, with
// several values, runs of spaces, the host and content-length fallbacks, a
// missing header and names net/http does not canonicalise.
func TestCanonicalHeaders(t *testing.T) {
	header := http.Header{
		"X-Amz-Date":         {"20240305T102030Z"},
		"X-Amz-Meta":         {"  a   b  ", "c", "", "d  "},
		"Content-Type":       {"application/json"},
		"X-1a":               {"v"},
		"weird key":          {"w  x"},
		"X-Amz-Chime-Bearer": {user},
		"X_amz":              {"u"},
		"Ü":                  {"x"},
	}
	for _, cl := range []string{"", "12"} {
		r := &http.Request{Host: " example.com  x ", Header: header.Clone(), ContentLength: 42}
		if cl != "" {
			r.Header.Set("Content-Length", cl)
		}
		for _, signed := range [][]string{
			{"host"}, {"content-length", "host"}, {"content-type", "host", "x-amz-date", "x-amz-meta"}, {"x-1a"}, {"weird key"},
			{"host", "missing"}, {"X-Amz-Date"}, {"x-amz-date", "x-amz-date"}, {"x_amz"}, {"ü"}, {"Ü"}, {"x-amz-chime-bearer"}, {""}, nil,
		} {
			got, err := CanonicalHeaders(r, signed)
			want, werr := refCanonicalHeaders(r, signed)
			if got != want || !reflect.DeepEqual(err, werr) {
				t.Fatalf("CanonicalHeaders(%v) = %q, %v; want %q, %v", signed, got, err, want, werr)
			}
		}
	}
}

// TestHeaderValues: headerValues is Header.Values, and allocates nothing
// for a lowercase name.
func TestHeaderValues(t *testing.T) {
	names := []string{"x-amz-date", "X-AMZ-DATE", "content-type", "x-1a", "-a", "a--b", "", "x_y", "weird key", "é", "a:b",
		strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a-", 40)}
	names = append(names, randomStrings(3, 3000, 8, "aZz09-_ :\xc3\xa9")...)
	h := http.Header{}
	for i, n := range names {
		if i%3 == 0 {
			h[n] = []string{"raw " + n}
		} else {
			h[textproto.CanonicalMIMEHeaderKey(n)] = []string{"canonical " + n}
		}
	}
	for _, n := range names {
		got, want := headerValues(h, n), h.Values(n)
		if len(got) != len(want) || len(got) > 0 && &got[0] != &want[0] {
			t.Fatalf("headerValues(%q) = %q, want %q", n, got, want)
		}
	}
	h.Set("X-Amz-Chime-Bearer", user)
	if n := testing.AllocsPerRun(100, func() { headerValues(h, "x-amz-chime-bearer") }); n != 0 {
		t.Fatalf("headerValues allocates %v times", n)
	}
}

func checkShortDate(t *testing.T, s string) {
	t.Helper()
	tm, err := time.Parse(ShortTimeFormat, s)
	want := err == nil && len(s) == 8
	y, m, d, ok := parseShortDate(s)
	if ok != want || ok && (y != tm.Year() || m != int(tm.Month()) || d != tm.Day()) {
		t.Fatalf("parseShortDate(%q) = %d %d %d %v; time.Parse: %v, %v", s, y, m, d, ok, tm, err)
	}
}

// TestParseShortDate: parseShortDate accepts exactly the eight-byte
// strings time.Parse(ShortTimeFormat) accepts (month 13, day 32, 30
// February, 29 February of a common year refused), with the same date.
func TestParseShortDate(t *testing.T) {
	for _, y := range []int{0, 1, 4, 100, 200, 400, 1600, 1900, 2000, 2023, 2024, 2100, 2400, 9996, 9999} {
		for m := range 20 {
			for d := range 40 {
				checkShortDate(t, fmt.Sprintf("%04d%02d%02d", y, m, d))
			}
		}
	}
	for y := range 10000 {
		for _, md := range []string{"0228", "0229", "0230", "0431", "1231"} {
			checkShortDate(t, fmt.Sprintf("%04d%s", y, md))
		}
	}
	for i := range 8 {
		for c := range 256 {
			b := []byte("20240229")
			b[i] = byte(c)
			checkShortDate(t, string(b))
		}
	}
	for _, s := range []string{"", "2024030", "202403051", "+2024030", "-0010101", " 2024030", "2024-3-5", "2024035 ", "20240305T102030Z", "２０２４"} {
		checkShortDate(t, s)
	}
	for _, s := range randomStrings(4, 5000, 9, "0123456789+- ") {
		checkShortDate(t, s)
	}
}

func checkAmzDate(t *testing.T, s string) {
	t.Helper()
	want, werr := time.Parse(TimeFormat, s)
	got, err := parseAmzDate(s)
	if (err == nil) != (werr == nil) || got != want {
		t.Fatalf("parseAmzDate(%q) = %v, %v; time.Parse: %v, %v", s, got, err, want, werr)
	}
}

// TestParseAmzDate: parseAmzDate is time.Parse(TimeFormat): the same
// time.Time, refusing the same strings.
func TestParseAmzDate(t *testing.T) {
	for h := range 26 {
		for m := range 62 {
			checkAmzDate(t, fmt.Sprintf("20240305T%02d%02d%02dZ", h, m, m))
		}
	}
	for _, d := range []string{"20240229", "20230229", "20241301", "20240100", "20241232", "00000101", "99991231"} {
		checkAmzDate(t, d+"T235959Z")
	}
	for i := range 16 {
		for c := range 256 {
			b := []byte("20240305T102030Z")
			b[i] = byte(c)
			checkAmzDate(t, string(b))
		}
	}
	for _, s := range []string{"", "20240305T102030", "20240305T102030ZZ", "20240305T102030.123Z", "20240305T102030,5Z",
		"20240305T102030.Z", "20240305T1020305Z", "20240305T1:20:30Z", "2024-03-05T10:20:30Z", "20240305t102030z"} {
		checkAmzDate(t, s)
	}
	for _, s := range randomStrings(5, 5000, 18, "0123456789TZ.,") {
		checkAmzDate(t, s)
	}
}

// TestParseAuthorizationReference: ParseAuthorization (and so
// ParseCredential and the SignedHeaders check) gives what the reference
// gives, result and error, on headers edited at random.
func TestParseAuthorizationReference(t *testing.T) {
	base := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa3"
	inputs := []string{base, "", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 ,,,=,", "AWS4-HMAC-SHA256 Credential=a/20240229/r/s/aws4_request/x, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 Credential=a/20240229/r/s/, SignedHeaders=host, Signature=x,", "AWS4-HMAC-SHA256 Credential=a//r/s/t, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 Credential=a/20240229/r/s/t, SignedHeaders=hÉ;host, Signature=x", "AWS4-HMAC-SHA256 Credential=a/20240229/r/s/t, SignedHeaders=é;host, Signature=x"}
	rnd := rand.New(rand.NewPCG(6, 1))
	const alphabet = ",=/; :\tAHZahz019éÉ"
	for range 20000 {
		b := []byte(base)
		for range 1 + rnd.IntN(4) {
			i := rnd.IntN(len(b) + 1)
			c := alphabet[rnd.IntN(len(alphabet))]
			switch rnd.IntN(3) {
			case 0:
				b = slices.Insert(b, i, c)
			case 1:
				if i < len(b) {
					b = slices.Delete(b, i, i+1)
				}
			default:
				if i < len(b) {
					b[i] = c
				}
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, h := range inputs {
		got, err := ParseAuthorization(h)
		want, werr := refParseAuthorization(h)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(err, werr) {
			t.Fatalf("ParseAuthorization(%q) = %+v, %v; want %+v, %v", h, got, err, want, werr)
		}
	}
}
