package sigv4

import "net/http"

// The string forms of the append functions Verify builds the canonical
// request with, for the tests to compare with the references.

func CanonicalURI(escapedPath string) string {
	return string(appendCanonicalURI(nil, escapedPath))
}

func EscapeStrict(s string) string { return string(appendEscapeStrict(nil, s)) }

func EscapeURIComponent(s string) string { return string(appendEscapeURIComponent(nil, s)) }

func CanonicalQuery(rawQuery string, esc func(string) string, skip string) (string, error) {
	params, err := decodeQuery(nil, rawQuery, skip)
	if err != nil {
		return "", err
	}
	return string(appendQuery(nil, params, func(b []byte, s string) []byte { return append(b, esc(s)...) })), nil
}

func CanonicalHeaders(r *http.Request, signed []string) (string, error) {
	b, err := appendCanonicalHeaders(nil, r, signed)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
