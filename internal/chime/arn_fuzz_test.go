package chime

import (
	"strings"
	"testing"
)

// FuzzParseARN: ParseARN never panics, and an ARN it accepts formats back to
// exactly the input (SEMANTICS.md §11), so parsing and formatting agree on
// every ARN the server hands out or accepts. The seeds run in every
// `go test`; `go test -fuzz FuzzParseARN ./internal/chime` explores further.
func FuzzParseARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:chime:us-east-1:123456789012:app-instance/4c0f1b7e-8d6a-4c5e-9a53-0b4f3f0e2a11",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/user/erin@example.com",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/user/a:b.c-d_e@f",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/bot/b1",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/channel/chan-1",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/channel-flow/flow",
		"arn:aws-cn:chime:cn-north-1:000000000000:app-instance/x/channel/y",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/user/",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/user/a/b",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/widget/w",
		"arn:aws:chime:us-east-1:123456789012:app-instance//user/u",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/",
		"arn:aws:chime::123456789012:app-instance/abc",
		"arn:aws:chime:us-east-1::app-instance/abc",
		"arn::chime:us-east-1:1:app-instance/abc",
		"arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST",
		"arn%3Aaws%3Achime%3Aus-east-1%3A123456789012%3Aapp-instance%2Fabc",
		"arn:aws:chime:us-east-1:123456789012:meeting/abc",
		"arn:aws:chime",
		"",
		":::::",
		"arn:aws:chime:r:a:app-instance/\x00/user/\xff",
		"arn:aws:chime:r:a:app-instance/a:b:c/user/d:e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseARN(s)
		if !ok {
			if a != (ARN{}) {
				t.Fatalf("ParseARN(%q) rejected but returned %+v", s, a)
			}
			if AppInstanceOf(s) != "" {
				t.Fatalf("AppInstanceOf(%q) = %q for a rejected ARN", s, AppInstanceOf(s))
			}
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("ParseARN(%q).String() = %q", s, got)
		}
		if a.Partition == "" || a.Region == "" || a.Account == "" || a.AppInstanceID == "" || strings.Contains(a.AppInstanceID, "/") {
			t.Fatalf("ParseARN(%q) accepted empty or compound parts: %+v", s, a)
		}
		if (a.Kind == "") != (a.ID == "") {
			t.Fatalf("ParseARN(%q): kind %q with id %q", s, a.Kind, a.ID)
		}
		ai := a.AppInstanceARN()
		if !strings.HasPrefix(s, ai) || AppInstanceOf(s) != ai {
			t.Fatalf("ParseARN(%q): app instance %q, AppInstanceOf %q", s, ai, AppInstanceOf(s))
		}
		if p, ok := ParseARN(ai); !ok || p.Kind != "" || p.AppInstanceARN() != ai {
			t.Fatalf("app instance ARN %q of %q does not parse back: %+v %v", ai, s, p, ok)
		}
		if a.Kind != "" {
			if c := a.Child(a.Kind, a.ID); c != s {
				t.Fatalf("Child(%q, %q) = %q, want %q", a.Kind, a.ID, c, s)
			}
		}
	})
}
