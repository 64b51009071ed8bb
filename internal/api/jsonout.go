package api

import (
	"unicode/utf8"

	"github.com/belfry/belfry/internal/chime"
)

// appendJSONString appends s as json.Marshal writes a string: quoted, with
// '"' and '\\' escaped, \b \f \n \r \t as such, other control characters and
// <, > and & as \u00xx, U+2028 and U+2029 as \u2028 and \u2029, and each
// byte of invalid UTF-8 as \ufffd. jsonout_test.go holds it to json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	done := 0 // s[:done] is written
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		done = i
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// appendIdentityJSON appends what json.Marshal writes of identityOut(id).
func appendIdentityJSON(b []byte, id chime.Identity) []byte {
	if id.Arn == "" {
		return append(b, "null"...)
	}
	b = append(b, `{"Arn":`...)
	b = appendJSONString(b, id.Arn)
	if id.Name != "" {
		b = append(b, `,"Name":`...)
		b = appendJSONString(b, id.Name)
	}
	return append(b, '}')
}

// jsonSafe holds the ASCII bytes json.Marshal writes as they are in a string.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
