package api

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// chimeARNPattern is the pattern of ChimeArn in both models.
const chimeARNPattern = `arn:[a-z0-9-\.]{1,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[^/].{0,1023}`

// patternCases are the hand-picked inputs every matcher is compared on.
func patternCases() []string {
	seg63, seg64 := strings.Repeat("a", 63), strings.Repeat("a", 64)
	cases := []string{
		"", "a", "-", "_", "a-b_C9", "abc def", "abc/def", "ABC", "é", "\n", "a\nb", "\x00",
		"\xff", "a\xffb", "\xc3", "\xed\xa0\x80", "\ufffd", "\u2028",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/channel/def",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/user/u1",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc/bot/b",
		"arn:aws-cn:chime.x:eu-central-1:000000000000:a",
		"arn:a::::x", "arn:a::::", "arn:a::::/", "arn:a::::/x", "arn:a::::x/", "arn:a::::é", "arn:a::::\n", "arn:a::::\xff",
		"arn:a::::\xff/", "arn:a:::::", "arn:a::::::::", "arn:a::::a:b/c",
		"arn:::::x", "arn:a:::x", "arn:a::x", "arn:a", "arn:", "arn", "ar", "ARN:a::::x", "arn:A::::x", "arn:a:B:::x",
		"arn:a_b::::x", "arn:a/b::::x", "arn:é::::x", "arn:a\n::::x", "arn:a\xff::::x", " arn:a::::x", "xarn:a::::x",
		"arn:aws:chime:us-east-1:123456789012",
		"arn:aws:chime:us-east-1:123456789012:",
		"arn:aws:chime:us-east-1:123456789012:/app-instance/abc",
		"arn:aws:chime:us-east-1:123456789012:app-instance/abc\n",
		"arn:aws:lambda:us-east-1:123456789012:function:f",
		"arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/ABCDEFGHIJ",
	}
	for _, s := range []string{seg63, seg64, ""} {
		cases = append(cases,
			"arn:"+s+"::::x", "arn:a:"+s+":::x", "arn:a::"+s+"::x", "arn:a:::"+s+":x",
			"arn:"+s+":"+s+":"+s+":"+s+":x")
	}
	for _, n := range []int{1022, 1023, 1024, 1025, 1591} {
		cases = append(cases,
			"arn:a::::x"+strings.Repeat("b", n), "arn:a::::x"+strings.Repeat("é", n),
			"arn:a::::x"+strings.Repeat("\xff", n), "arn:a::::/"+strings.Repeat("b", n))
	}
	return cases
}

// fastRegexps compiles the pattern of every fast matcher.
func fastRegexps(tb testing.TB) map[string]*regexp.Regexp {
	res := map[string]*regexp.Regexp{}
	for p := range fastMatchers {
		re, err := compilePattern(p)
		if err != nil {
			tb.Fatal(err)
		}
		res[p] = re
	}
	return res
}

// compareMatchers fails if a fast matcher and its regexp disagree on s.
func compareMatchers(t *testing.T, res map[string]*regexp.Regexp, s string) {
	t.Helper()
	for p, m := range fastMatchers {
		if got, want := m == nil || m(s), res[p].MatchString(s); got != want {
			t.Errorf("pattern %s on %q: fast matcher %v, regexp %v", p, s, got, want)
		}
	}
}

func TestPatternMatchersOnCases(t *testing.T) {
	res := fastRegexps(t)
	for _, s := range patternCases() {
		compareMatchers(t, res, s)
	}
}

// TestChimeArnTailBound: RE2 caps repeats at 1000, yet ChimeArn's
// [^/].{0,1023} still allows 1 to 1024 characters after the fifth colon,
// in the regexp (compilePattern splits the repeat) and in the fast matcher.
func TestChimeArnTailBound(t *testing.T) {
	re, err := compilePattern(chimeARNPattern)
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]bool{1: true, 1024: true, 1025: false, 1500: false} {
		for _, tail := range []string{strings.Repeat("r", n), strings.Repeat("é", n)} {
			s := "arn:aws:chime:us-east-1:123456789012:" + tail
			if re.MatchString(s) != want || isChimeARN(s) != want {
				t.Errorf("a tail of %d characters (%d bytes): regexp %v, fast %v, want %v", n, len(tail), re.MatchString(s), isChimeARN(s), want)
			}
		}
	}
}

// randomPatternInput returns a string near an ARN, or any short string, from
// an alphabet the fast matchers tell apart.
func randomPatternInput(r *rand.Rand) string {
	const alphabet = "arn:aws-chime.0123/Zé\n_\xff"
	pick := func(n int) string {
		var b strings.Builder
		for range n {
			if c := alphabet[r.IntN(len(alphabet))]; r.IntN(8) == 0 || c < utf8.RuneSelf {
				b.WriteByte(c) // a lone byte of é or \xff is invalid UTF-8
			} else {
				b.WriteString("é")
			}
		}
		return b.String()
	}
	length := func() int {
		return []int{0, 1, 2, 62, 63, 64, r.IntN(8)}[r.IntN(7)]
	}
	if r.IntN(4) == 0 {
		return pick(r.IntN(24))
	}
	var b strings.Builder
	if r.IntN(10) != 0 {
		b.WriteString("arn:")
	}
	for range 3 + r.IntN(3) {
		if r.IntN(3) == 0 {
			b.WriteString(pick(length()))
		} else {
			b.WriteString(strings.Repeat("chime-0.", 8)[:length()])
		}
		if r.IntN(20) != 0 {
			b.WriteByte(':')
		}
	}
	tail := []int{0, 1, 2, r.IntN(16), r.IntN(16), 1024, 1025}[r.IntN(7)]
	b.WriteString(pick(min(tail, 3)))
	b.WriteString(strings.Repeat("é", max(tail-3, 0)))
	return b.String()
}

func TestPatternMatchersRandom(t *testing.T) {
	res := fastRegexps(t)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		compareMatchers(t, res, randomPatternInput(r))
		if t.Failed() {
			return
		}
	}
}

func FuzzPatternMatchers(f *testing.F) {
	for _, s := range patternCases() {
		f.Add(s)
	}
	res := fastRegexps(f)
	f.Fuzz(func(t *testing.T, s string) { compareMatchers(t, res, s) })
}

// TestEveryPatternChecked: every pattern of both models, as loadModels
// loads them, is checked as its regexp checks it, by a fast matcher or by
// the regexp itself; and the hot ChimeArn pattern has a fast matcher.
func TestEveryPatternChecked(t *testing.T) {
	ops, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[*shape]bool{}
	for _, op := range ops {
		if _, fast := fastMatchers[op.shapes["ChimeArn"].Pattern]; !fast {
			t.Errorf("%s: ChimeArn's pattern has no fast matcher", op.service)
		}
		for name, s := range op.shapes {
			if s.Pattern == "" || seen[s] {
				continue
			}
			seen[s] = true
			re, err := compilePattern(s.Pattern)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range patternCases() {
				if got, want := s.match == nil || s.match(in), re.MatchString(in); got != want {
					t.Errorf("%s: shape %s on %q: matcher %v, regexp %v", op.service, name, in, got, want)
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no patterns in the models")
	}
}

func BenchmarkChimeArnPattern(b *testing.B) {
	const arn = "arn:aws:chime:us-east-1:123456789012:app-instance/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b/user/user-0042"
	re, err := compilePattern(chimeARNPattern)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			if !re.MatchString(arn) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if !isChimeARN(arn) {
				b.Fatal("no match")
			}
		}
	})
}

// TestPatternJavaSpaces: the models' patterns are Java's, whose \s also
// matches the vertical tab (Go's does not): a UserName (.*\S.*) of white
// space alone, a vertical tab included, is refused; [\s\S]* matches all.
func TestPatternJavaSpaces(t *testing.T) {
	nonBlank, err := compilePattern(`.*\S.*`)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{"a": true, " a ": true, "é": true, "\v": false, " \t\n\v\f\r": false, "": false, "\v x": true} {
		if got := nonBlank.MatchString(s); got != want {
			t.Errorf(`.*\S.* on %q: %v, want %v`, s, got, want)
		}
	}
	any, err := compilePattern(`[\s\S]*`)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "\v", " \t\n\v\f\r", "a\vb", "é"} {
		if !any.MatchString(s) {
			t.Errorf(`[\s\S]* does not match %q`, s)
		}
	}
	if got := javaSpaces(`a\\s\[\s\]`); got != `a\\s\[[\t\n\x0B\f\r ]\]` {
		t.Errorf("javaSpaces of escaped text: %s", got)
	}
}
