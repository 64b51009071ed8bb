package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// routedOps returns every built operation with its model spec.
func routedOps(t testing.TB) ([]*opSpec, map[string]opFunc) {
	t.Helper()
	ops, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	impl := (&Server{}).routes()
	var built []*opSpec
	for _, op := range ops {
		if _, ok := impl[op.name]; ok {
			built = append(built, op)
		}
	}
	if len(built) != len(impl) {
		t.Fatalf("%d operations routed, %d of them in the models", len(impl), len(built))
	}
	return built, impl
}

// sameAsJSON decodes in with d and with the JSON round trip and fails t
// unless both give the same value and the same error.
func sameAsJSON(t *testing.T, name string, d *inputDecoder, in map[string]any) {
	t.Helper()
	got, want := reflect.New(d.typ), reflect.New(d.typ)
	gerr, werr := d.decode(in, got.Interface()), decodeViaJSON(in, want.Interface())
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%s %#v: error %v, the JSON round trip's %v", name, in, gerr, werr)
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		t.Fatalf("%s %#v:\n got %#v\nwant %#v", name, in, got.Elem().Interface(), want.Elem().Interface())
	}
}

// genInput is a validated input of op as decodeInput returns it: each member
// present or not, a value of the type check gives its shape, and a bearer.
type genInput struct {
	r      *rand.Rand
	shapes map[string]*shape
}

var genStrings = []string{"", "x", "DEFAULT", "arn:aws:chime:us-east-1:000000000000:app-instance/a/channel/c",
	"<a href=\"x\">&amp;</a>", "line\nbreak\ttab\\ \u2028\u2029", "ünïcödé 😀", "{\"json\":[1,2]}"}

var genInts = []int64{0, 1, -1, 50, 100, math.MaxInt32, math.MinInt32}

func (g genInput) value(s *shape, depth int) any {
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 && g.r.Intn(2) == 0 {
			return s.Enum[g.r.Intn(len(s.Enum))]
		}
		return genStrings[g.r.Intn(len(genStrings))]
	case "integer", "long":
		return genInts[g.r.Intn(len(genInts))]
	case "boolean":
		return g.r.Intn(2) == 0
	case "timestamp":
		return time.UnixMilli(g.r.Int63n(253402300800000)).UTC()
	case "list":
		out := []any{}
		for range g.r.Intn(4) {
			out = append(out, g.value(g.shapes[s.Member.Shape], depth+1))
		}
		return out
	case "map":
		out := map[string]any{}
		for range g.r.Intn(4) {
			out[genStrings[g.r.Intn(len(genStrings))]] = g.value(g.shapes[s.Value.Shape], depth+1)
		}
		return out
	case "structure":
		return g.structure(s, depth)
	}
	panic("shape type " + s.Type)
}

// structure fills a random subset of s's members (all of them, or none, a
// third of the time each).
func (g genInput) structure(s *shape, depth int) map[string]any {
	out := map[string]any{}
	mode := g.r.Intn(3)
	for _, name := range s.names {
		if mode == 1 || mode == 2 && g.r.Intn(2) == 0 {
			if name == bearerMember {
				out[name] = "arn:aws:chime:us-east-1:000000000000:app-instance/a/user/u1"
				continue
			}
			out[name] = g.value(g.shapes[s.Members[name].Shape], depth+1)
		}
	}
	return out
}

// odd are values decodeInput never gives, for the fallback to answer as
// JSON does: wrong types, a number, invalid UTF-8, null, values JSON cannot
// encode, integers out of range.
var odd = []any{nil, "\xff\xfeinvalid", json.Number("12"), json.Number("1.5"), json.Number("1e3"), float64(2.5), int64(math.MaxInt64),
	int64(-5), true, "text", []any{"a", int64(1)}, map[string]any{"k": "v"}, []any{map[string]any{"Key": "k", "Value": "v"}},
	make(chan int), math.NaN(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), []byte("bytes"), []string{"s"}}

// TestInputDecoderMatchesJSON holds the direct conversion of every routed
// operation's input struct to the JSON round trip it replaces, on random
// validated inputs of its model shape and on odd ones.
func TestInputDecoderMatchesJSON(t *testing.T) {
	ops, impl := routedOps(t)
	r := rand.New(rand.NewSource(1))
	for _, op := range ops {
		d := impl[op.name].input
		if d.byName == nil {
			t.Errorf("%s: input %v always takes the JSON round trip", op.name, d.typ)
		}
		if op.input == nil {
			sameAsJSON(t, op.name, d, map[string]any{})
			continue
		}
		g := genInput{r: r, shapes: op.shapes}
		for range 300 {
			in := g.structure(op.input, 0)
			if d.byName != nil && !d.direct(in, reflect.New(d.typ).Elem()) {
				t.Fatalf("%s: a validated input %#v takes the JSON round trip", op.name, in)
			}
			sameAsJSON(t, op.name, d, in)
		}
		for range 600 {
			in := g.structure(op.input, 0)
			mode := g.r.Intn(3)
			for _, name := range op.input.names {
				if g.r.Intn(3) != 0 {
					continue
				}
				switch mode {
				case 0:
					in[name] = odd[g.r.Intn(len(odd))]
				case 1: // the same member again in another case: JSON takes the last key
					if g.r.Intn(2) == 0 {
						in[strings.ToLower(name)] = g.value(op.shapes[op.input.Members[name].Shape], 1)
					} else {
						in[strings.ToUpper(name)] = odd[g.r.Intn(len(odd))]
					}
				case 2: // folded onto the member by JSON (ſ is s), or not (ı is not i)
					delete(in, name)
					alt := strings.ReplaceAll(name, "s", "ſ")
					if g.r.Intn(2) == 0 {
						alt = strings.ReplaceAll(name, "i", "ı")
					}
					in[alt] = g.value(op.shapes[op.input.Members[name].Shape], 1)
				}
			}
			if mode == 0 {
				in["NotAMember"] = odd[g.r.Intn(len(odd))]
			}
			sameAsJSON(t, op.name, d, in)
		}
	}
}

// TestInputDecoderFromRequests decodes real requests of every routed
// operation (the fuzz seeds' "every resource" body, path labels, query and
// a bearer) and compares the two conversions.
func TestInputDecoderFromRequests(t *testing.T) {
	ops, impl := routedOps(t)
	every := `{"AppInstanceArn":"` + fzInstance + `","ChannelArn":"` + fzPub + `","AppInstanceUserArn":"` + fzU1 + `","MemberArn":"` + fzErin +
		`","MemberArns":["` + fzErin + `","` + fzBot + `"],"ModeratorArns":["` + fzAdmin + `"],"ChannelModeratorArn":"` + fzU1 +
		`","ResourceARN":"` + fzPriv + `","Name":"n","Metadata":"m","ClientRequestToken":"t-1","Type":"DEFAULT","Content":"hi","MessageId":"m","Persistence":"PERSISTENT",` +
		`"Tags":[{"Key":"k","Value":"v"}],"TagKeys":["k"],"ExpirationSettings":{"ExpirationDays":3,"ExpirationCriterion":"CREATED_TIMESTAMP"},` +
		`"ElasticChannelConfiguration":{"MaximumSubChannels":2,"TargetMembershipsPerSubChannel":3,"MinimumMembershipPercentage":40},` +
		`"Configuration":{"Lex":{"RespondsTo":"STANDARD_MESSAGES","LexBotAliasArn":"arn:aws:lex:us-east-1:000000000000:bot-alias/a/b","LocaleId":"en_US"}},` +
		`"MessageAttributes":{"a":{"StringValues":["x","y"]}},"Target":[{"MemberArn":"` + fzErin + `"}],"PushNotification":{"Title":"t","Body":"b","Type":"DEFAULT"},` +
		`"Preferences":{"PushNotifications":{"AllowNotifications":"FILTERED","FilterRule":"{}"}},` +
		`"AppInstanceRetentionSettings":{"ChannelRetentionSettings":{"RetentionDays":7}}}`
	query := "max-results=5&next-token=tok&not-before=2024-01-02T03:04:05.123Z&not-after=1700000000.5&type=DEFAULT&sort-order=ASCENDING" +
		"&app-instance-arn=" + url.QueryEscape(fzInstance) + "&app-instance-user-arn=" + url.QueryEscape(fzU1) + "&privacy=PUBLIC&network-type=IPV4_ONLY"
	checked := 0
	for _, op := range ops {
		segs := pathOf(op, url.PathEscape(fzPub))
		for _, body := range []string{every, "", "{}"} {
			req := httptest.NewRequest("POST", "/?"+query, nil)
			req.Header.Set("x-amz-chime-bearer", fzU1)
			in, err := decodeInput(op, requestPath{segs: segs}, req.URL.Query(), req, []byte(body))
			ref, rerr := decodeInputRef(op, labelsOf(op, segs), req.URL.Query(), req, []byte(body))
			if fmt.Sprint(err) != fmt.Sprint(rerr) || !reflect.DeepEqual(in, ref) {
				t.Fatalf("%s: decodeInput gives %#v, %v; decodeInputRef %#v, %v", op.name, in, err, ref, rerr)
			}
			if err != nil {
				continue
			}
			sameAsJSON(t, op.name, impl[op.name].input, in)
			checked++
		}
	}
	if checked < len(ops) {
		t.Errorf("only %d requests of %d operations decoded", checked, len(ops))
	}
}

// BenchmarkInputDecode: CreateChannelMembership's input, through JSON and direct.
func BenchmarkInputDecode(b *testing.B) {
	in := map[string]any{"ChannelArn": fzPub, "MemberArn": fzErin, "Type": "DEFAULT", bearerMember: fzU1}
	d := newInputDecoder(reflect.TypeFor[membershipIn]())
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := decodeViaJSON(in, new(membershipIn)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := d.decode(in, new(membershipIn)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// oddIn has the field kinds and tags no input uses yet, for the rules
// input.go mirrors.
type oddIn struct {
	I8       int8
	U8       uint8
	U        uint
	F32      float32
	F64      float64
	PI       *int
	PB       *bool
	Num      json.Number
	Raw      json.RawMessage
	Any      any
	T        time.Time
	Renamed  string `json:"other,omitempty"`
	Skipped  string `json:"-"`
	hidden   string
	page     //nolint:unused // promoted MaxResults, NextToken
	Embedded struct{ Inner string }
}

// Types whose fields newInputDecoder leaves to JSON altogether.
type (
	twiceIn struct {
		Name string
		page
		MaxResults int
	}
	foldedTwiceIn struct{ Name, NAME string }
	quotedIn      struct {
		N int `json:",string"`
	}
	embeddedPtrIn struct{ *page }
	dashedIn      struct {
		Dashed string `json:"-,"`
	}
)

// TestInputDecoderOddFields compares the two conversions on odd field kinds
// and on every value of odd and genInts under each field's name.
func TestInputDecoderOddFields(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[twiceIn](), reflect.TypeFor[foldedTwiceIn](), reflect.TypeFor[quotedIn](), reflect.TypeFor[embeddedPtrIn](), reflect.TypeFor[dashedIn]()} {
		if d := newInputDecoder(typ); d.byName != nil {
			t.Errorf("%v: decoded directly; want the JSON round trip", typ)
		}
	}
	d := newInputDecoder(reflect.TypeFor[oddIn]())
	if d.byName == nil {
		t.Fatal("oddIn: JSON round trip; want direct")
	}
	names := []string{"I8", "U8", "U", "F32", "F64", "PI", "PB", "Num", "Raw", "Any", "T", "other", "Renamed", "Skipped", "-", "Dashed",
		"hidden", "MaxResults", "nexttoken", "Embedded", "Inner"}
	values := append([]any{int64(300), int64(-129), int64(255), int64(1) << 53, int64(1)<<53 + 1, int64(math.MinInt64), "", false,
		time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC), map[string]any{"Inner": "x"}}, odd...)
	for _, n := range genInts {
		values = append(values, n)
	}
	for _, name := range names {
		for _, v := range values {
			sameAsJSON(t, name, d, map[string]any{name: v})
			sameAsJSON(t, name, d, map[string]any{name: v, "I8": int64(1), "PB": true, "other": "o"})
		}
	}
}
