package api

import (
	"bytes"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// bodyNames are the members the body tests read: plain, escaped in a body
// (A), with a character JSON escapes in keys, and one never present.
var bodyNames = []string{"MemberArn", "Type", "A", "Tags", "x\"y", "é", "Absent"}

// sameAsDecoder fails t unless readBodyObject reads body as decodeBodyRef
// (encoding/json's Decoder into a map) does: the same error, and each of
// names with the value the map holds (nil for null or when absent).
func sameAsDecoder(t *testing.T, body string, names []string) {
	t.Helper()
	if len(bytes.TrimSpace([]byte(body))) == 0 {
		return // decodeInput reads no body
	}
	vals := make([]any, len(names))
	got := readBodyObject([]byte(body), names, vals)
	ref, err := decodeBodyRef([]byte(body))
	want := bodyObject
	switch {
	case err != nil && strings.Contains(err.Error(), "not valid JSON"):
		want = bodyNotJSON
	case err != nil:
		want = bodyNotObject
	}
	if got != want {
		t.Fatalf("%q: result %d, encoding/json's %d (%v)", body, got, want, err)
	}
	if got != bodyObject {
		return
	}
	for i, n := range names {
		if !reflect.DeepEqual(decodedAsJSON(vals[i]), ref[n]) {
			t.Fatalf("%q: %s is %#v, encoding/json's %#v", body, n, vals[i], ref[n])
		}
	}
}

// decodedAsJSON returns v with invalid UTF-8 in its strings read as
// encoding/json reads it (U+FFFD a byte), which readBodyObject keeps in
// values for the validator to refuse.
func decodedAsJSON(v any) any {
	switch v := v.(type) {
	case string:
		return asJSONString(v)
	case []any:
		for i := range v {
			v[i] = decodedAsJSON(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = decodedAsJSON(v[k])
		}
	}
	return v
}

// jsonBodies are bodies valid and not, at each place the grammar decides.
var jsonBodies = []string{
	`{}`, ` {} `, "\t\r\n{}\n", `{"MemberArn":"arn:aws:chime:us-east-1:0:app-instance/a/user/u","Type":"DEFAULT"}`,
	`{"MemberArn":null}`, `{"MemberArn":"a","MemberArn":"b"}`, `{"MemberArn":"a","MemberArn":null}`, `{"MemberArn":null,"MemberArn":"a"}`,
	`{"\u0041":"escaped key"}`, `{"A":"\u0041\u00e9\ud83d\ude00"}`, `{"A":"\ud83d"}`, `{"A":"\ud83dx"}`, `{"A":"\ude00\ud83d"}`,
	`{"A":"\ud83d\u0041"}`, `{"A":"\ud83d\ud83d\ude00"}`, `{"A":"\uDEAD\uFFFF\uFFFD"}`, `{"A":"\u00"}`, `{"A":"\uzzzz"}`,
	`{"A":"\/\\\"\b\f\n\r\t"}`, `{"A":"\x"}`, `{"A":"\'"}`, "{\"A\":\"\x01\"}", "{\"A\":\"\x7f\"}", "{\"A\":\"\xff\xfe\"}",
	"{\"A\":\"\xed\xa0\x80\"}", "{\"A\":\"\xc3\"}", "{\"\xff\":1}", "{\"\xc3\xa9\":1}", `{"\u00e9":2}`, "{\"A\":\"ok\xc3\xa9\xe2\x80\xa8\"}",
	`{"x\"y":1}`, `{"A":1,"A":2.5}`, `{"A":-0}`, `{"A":-}`, `{"A":01}`, `{"A":1.}`, `{"A":.5}`, `{"A":1e}`, `{"A":1e+}`,
	`{"A":1E-7}`, `{"A":1e400}`, `{"A":-12.5e+3}`, `{"A":+1}`, `{"A":0x1}`, `{"A":1_000}`, `{"A":NaN}`, `{"A":Infinity}`,
	`{"A":true,"Type":false}`, `{"A":tru}`, `{"A":truex}`, `{"A":nul}`, `{"A":null }`, `{"A":True}`,
	`{"Tags":[]}`, `{"Tags":[{"Key":"k","Value":"v"},null,1,"s",[[]],{}]}`, `{"Tags":[,]}`, `{"Tags":[1,]}`, `{"Tags":[1 2]}`,
	`{"Tags":{"a":{"b":{"c":[1,{"d":null}]}}}}`, `{"Tags":{"a":1,"a":2}}`, `{"Tags":{"a":1,}}`, `{"Tags":{1:2}}`, `{"Tags":{"a" 1}}`,
	`{"Other":{"deep":[1,2,{"x":"\u0000"}]},"Type":"T"}`, `{"Other":[}`, `{"Other":"unterminated}`,
	`{"A":1}}`, `{"A":1}]`, `{"A":1} ]]]`, `{"A":1} x`, `{"A":1} {}`, `{"A":1}{`, `{"A":1} "`, `{"A":1},`, `{"A":1} null`,
	`{`, `{"A"`, `{"A":`, `{"A":1`, `{"A":1,`, `{"A":1,}`, `{,}`, `{"A" : 1 , "Type" : "x" }`, `{"A":1 "B":2}`,
	`[]`, `[1,2]`, `[1,2]}`, `null`, `true`, `false`, `0`, `-1.5e3`, `"s"`, `"s"}`, `"s" x`, `1 2`, `1]`, `01`, `1x`, `-`, `nul`,
	"\v{}", "{}\v", "\u00a0{}", "\ufeff{}", "{}\x00", "{\"A\":1}\r\n\t ", `}`, `]`, `,`, `:`, `""`,
}

// TestReadBodyObject holds readBodyObject to encoding/json on jsonBodies
// and on random cuts and splices of them.
func TestReadBodyObject(t *testing.T) {
	for _, b := range jsonBodies {
		sameAsDecoder(t, b, bodyNames)
		sameAsDecoder(t, b, nil)
	}
	r := rand.New(rand.NewSource(1))
	for range 20000 {
		a, b := jsonBodies[r.Intn(len(jsonBodies))], jsonBodies[r.Intn(len(jsonBodies))]
		i, j := r.Intn(len(a)+1), r.Intn(len(b)+1)
		sameAsDecoder(t, a[:i]+b[j:], bodyNames)
		if i < len(a) {
			sameAsDecoder(t, a[:i]+a[i+1:], bodyNames)
		}
	}
}

// TestReadBodyObjectDepth: encoding/json refuses more than 10000 nested
// arrays and objects, at any depth of the value.
func TestReadBodyObjectDepth(t *testing.T) {
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, open := range []string{"[", `{"A":`} {
			closer := "]"
			if open != "[" {
				closer = "}"
			}
			inner := strings.Repeat(open, depth-1) + "1" + strings.Repeat(closer, depth-1)
			sameAsDecoder(t, `{"Tags":`+inner+`}`, bodyNames)
			sameAsDecoder(t, `{"Other":`+inner+`}`, bodyNames)
			sameAsDecoder(t, open+inner+closer, bodyNames)
			sameAsDecoder(t, `{"Tags":[`+inner+`]}`, bodyNames)
		}
	}
}

// FuzzReadBodyObject holds readBodyObject to encoding/json on any body.
func FuzzReadBodyObject(f *testing.F) {
	for _, b := range jsonBodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		sameAsDecoder(t, body, bodyNames)
	})
}

// BenchmarkReadBodyObject: CreateChannelMembership's body, through
// encoding/json (decodeBodyRef) and readBodyObject.
func BenchmarkReadBodyObject(b *testing.B) {
	body := []byte(fmt.Sprintf(`{"MemberArn":%q,"Type":"DEFAULT"}`, fzErin))
	names := []string{"MemberArn", "SubChannelId", "Type"}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			decodeBodyRef(body)
		}
	})
	b.Run("readBodyObject", func(b *testing.B) {
		b.ReportAllocs()
		vals := make([]any, len(names))
		for range b.N {
			readBodyObject(body, names, vals)
		}
	})
}
