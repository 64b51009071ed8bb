package api

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

// bodyResult is what readBodyObject makes of a request body.
type bodyResult int

const (
	bodyObject    bodyResult = iota // a JSON object: its members are set
	bodyNotJSON                     // "The request body is not valid JSON."
	bodyNotObject                   // "The request body must be a JSON object."
)

// maxJSONDepth is encoding/json's limit on nested arrays and objects.
const maxJSONDepth = 10000

// readBodyObject reads body (not all white space) as decodeInput once read
// it with encoding/json: a Decoder with UseNumber decoding one value into an
// interface, which fails on invalid JSON, after which More must report
// false (nothing but white space follows, or a ']' or '}'). Of an object,
// vals[i] receives the value of the member names[i] as that decoding gives
// it (string, json.Number, bool, []any, map[string]any; nil for null or
// when absent; the last of duplicate keys wins), but for invalid UTF-8 in a
// string value, which it keeps (unquoteJSON); other members are only
// checked to be JSON. jsonbody_test.go holds it to encoding/json.
func readBodyObject(body []byte, names []string, vals []any) bodyResult {
	p := jsonParser{s: body}
	p.skipSpace()
	if p.i == len(p.s) {
		return bodyNotJSON
	}
	isObject := p.s[p.i] == '{'
	var ok bool
	if isObject {
		ok = p.topObject(names, vals)
	} else {
		_, ok = p.value(false)
	}
	if !ok {
		return bodyNotJSON
	}
	p.skipSpace()
	if p.i < len(p.s) { // anything after the value, even a '}'
		return bodyNotJSON
	}
	if !isObject {
		return bodyNotObject
	}
	return bodyObject
}

// jsonParser reads JSON with encoding/json's grammar.
type jsonParser struct {
	s     []byte
	i     int
	depth int
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it.
func (p *jsonParser) next(c byte) bool {
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// topObject reads the object at p.i into vals.
func (p *jsonParser) topObject(names []string, vals []any) bool {
	p.i++ // '{'
	p.depth++
	if p.next('}') {
		p.depth--
		return true
	}
	for {
		p.skipSpace()
		raw, plain, ok := p.str()
		if !ok || !p.next(':') {
			return false
		}
		k := -1
		if plain {
			for j, n := range names {
				if string(raw) == n {
					k = j
					break
				}
			}
		} else {
			key := unquoteJSON(raw, false)
			for j, n := range names {
				if key == n {
					k = j
					break
				}
			}
		}
		p.skipSpace()
		v, ok := p.value(k >= 0)
		if !ok {
			return false
		}
		if k >= 0 {
			vals[k] = v
		}
		if p.next(',') {
			continue
		}
		if p.next('}') {
			p.depth--
			return true
		}
		return false
	}
}

// value reads the value at p.i (white space skipped) and returns it as
// encoding/json decodes it into an interface with UseNumber, or nil when
// build is false.
func (p *jsonParser) value(build bool) (any, bool) {
	if p.i == len(p.s) {
		return nil, false
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(build)
	case c == '[':
		return p.array(build)
	case c == '"':
		raw, plain, ok := p.str()
		if !ok || !build {
			return nil, ok
		}
		if plain {
			return string(raw), true
		}
		return unquoteJSON(raw, true), true
	case c == '-' || '0' <= c && c <= '9':
		start := p.i
		if !p.number() {
			return nil, false
		}
		if !build {
			return nil, true
		}
		return json.Number(p.s[start:p.i]), true
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(lit string) bool {
	if len(p.s)-p.i < len(lit) || string(p.s[p.i:p.i+len(lit)]) != lit {
		return false
	}
	p.i += len(lit)
	return true
}

func (p *jsonParser) object(build bool) (any, bool) {
	p.i++ // '{'
	if p.depth++; p.depth > maxJSONDepth {
		return nil, false
	}
	var m map[string]any
	if build {
		m = map[string]any{}
	}
	if p.next('}') {
		p.depth--
		return m, true
	}
	for {
		p.skipSpace()
		raw, plain, ok := p.str()
		if !ok || !p.next(':') {
			return nil, false
		}
		p.skipSpace()
		v, ok := p.value(build)
		if !ok {
			return nil, false
		}
		if build {
			if plain {
				m[string(raw)] = v
			} else {
				m[unquoteJSON(raw, false)] = v
			}
		}
		if p.next(',') {
			continue
		}
		if p.next('}') {
			p.depth--
			return m, true
		}
		return nil, false
	}
}

func (p *jsonParser) array(build bool) (any, bool) {
	p.i++ // '['
	if p.depth++; p.depth > maxJSONDepth {
		return nil, false
	}
	var a []any
	if build {
		a = []any{}
	}
	if p.next(']') {
		p.depth--
		return a, true
	}
	for {
		p.skipSpace()
		v, ok := p.value(build)
		if !ok {
			return nil, false
		}
		if build {
			a = append(a, v)
		}
		if p.next(',') {
			continue
		}
		if p.next(']') {
			p.depth--
			return a, true
		}
		return nil, false
	}
}

// str reads the string at p.i and returns its bytes between the quotes;
// plain reports that they are its value as they are (no escapes, valid
// UTF-8).
func (p *jsonParser) str() (raw []byte, plain, ok bool) {
	if p.i == len(p.s) || p.s[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	ascii, escaped := true, false
	for i := start; i < len(p.s); {
		c := p.s[i]
		if stringPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			p.i = i + 1
			raw = p.s[start:i]
			return raw, !escaped && (ascii || utf8.Valid(raw)), true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			if i+1 == len(p.s) {
				return nil, false, false
			}
			switch p.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(p.s[i+2:]) < 0 {
					return nil, false, false
				}
				i += 6
			default:
				return nil, false, false
			}
		default: // c >= utf8.RuneSelf
			ascii = false
			i++
		}
	}
	return nil, false, false
}

// stringPlain holds the bytes that stand for themselves in a JSON string,
// in ASCII.
var stringPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// number reads the number at p.i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() bool {
	s, i := p.s, p.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = digits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		if i++; i == len(s) || !isDigit(s[i]) {
			return false
		}
		i = digits(s, i)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		if i++; i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		i = digits(s, i)
	}
	p.i = i
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(s []byte, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// hex4 returns the value of the 4 hex digits that start b, -1 if they do not.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		d := unhex(c)
		if d < 0 {
			return -1
		}
		r = r<<4 | rune(d)
	}
	return r
}

// unquoteJSON returns the value of a string's bytes between its quotes, as
// str checked them, the way encoding/json gives it: escapes decoded, a \u
// escape of a surrogate that is not half of a pair and each byte of
// invalid UTF-8 read as U+FFFD. With keepInvalid (a member's value, not a
// key), invalid UTF-8 is kept instead, so that the validator refuses it
// naming the member, as it does in a path or query.
func unquoteJSON(raw []byte, keepInvalid bool) string {
	b := make([]byte, 0, len(raw)+2*utf8.UTFMax)
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch e := raw[i+1]; e {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(raw[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					var r2 rune = -1
					if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2 = hex4(raw[i+2:])
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default: // '"', '\\', '/'
				b = append(b, e)
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 && !keepInvalid {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, raw[i:i+n]...)
			}
			i += n
		}
	}
	return string(b)
}
