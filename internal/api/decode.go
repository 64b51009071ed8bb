package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/belfry/belfry/internal/chime"
)

// bearerMember is validated by the service, not here: a missing or bad
// bearer is a 401 (rule D5), not a validation error.
const bearerMember = "ChimeBearer"

// decodeInput gathers an operation's input from the path labels (the
// segments of path, as route split it), the query (r.URL.Query(), parsed
// once by route; nil when there is none), r's headers and the JSON body,
// checks every constraint of the model, and returns the validated values
// keyed by the model's member names. authorize, ownAccount and limitsFor
// read the bearer and the ARNs from them: strings and []any of strings,
// each what its JSON decodes to. The typed handlers get the values as a
// JSON round trip into their input struct gives them (input.go; integers
// are int64 here and timestamps time.Time).
func decodeInput(op *opSpec, path requestPath, query url.Values, r *http.Request, body []byte) (map[string]any, error) {
	in := map[string]any{}
	if op.input == nil {
		return in, nil
	}
	// The body's values of op.bodyNames, nil when there is no body.
	var bodyVals []any
	var bodyBuf [16]any
	if len(bytes.TrimSpace(body)) > 0 {
		if n := len(op.bodyNames); n <= len(bodyBuf) {
			bodyVals = bodyBuf[:n]
		} else {
			bodyVals = make([]any, n)
		}
		switch readBodyObject(body, op.bodyNames, bodyVals) {
		case bodyNotJSON:
			return nil, chime.Errorf(chime.KindBadRequest, "The request body is not valid JSON.")
		case bodyNotObject:
			return nil, chime.Errorf(chime.KindBadRequest, "The request body must be a JSON object.")
		}
	}
	v := &validator{shapes: op.shapes}
	for i := range op.members {
		m := &op.members[i]
		var val any
		switch m.location {
		case "uri":
			if m.seg >= 0 && path.plain != nil {
				val = path.plain[m.seg]
			} else if m.seg >= 0 {
				un, err := url.PathUnescape(path.segs[m.seg])
				if err != nil {
					v.fail(m.name, "must be a correctly percent-encoded path segment")
					continue
				}
				val = un
			}
		case "querystring":
			if vals := query[m.key]; len(vals) > 0 {
				val = v.fromText(m.shape, vals)
			}
		case "header":
			// As r.Header.Get(m.key) reads it (m.key is canonical).
			if h := r.Header[m.key]; len(h) > 0 && h[0] != "" {
				val = v.fromText1(m.shape, h[0])
			}
		case "":
			if bodyVals != nil {
				val = bodyVals[m.body]
			}
		}
		if val == nil {
			continue
		}
		if m.name == bearerMember {
			if str, ok := val.(string); ok && !utf8.ValidString(str) {
				val = asJSONString(str)
			}
			in[m.name] = val
			continue
		}
		if out, ok := v.check(m.name, m.shape, val); ok {
			in[m.name] = out
		} else {
			v.sent(m.name)
		}
	}
	for _, req := range op.required {
		if _, ok := in[req]; !ok && req != bearerMember && !v.failed(req) {
			v.fail(req, "is required")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return in, nil
}

// asJSONString returns s as a round trip through JSON leaves it:
// encoding/json writes each byte of invalid UTF-8 as U+FFFD, as ranging
// over s reads it. The bearer is the one string not checked for UTF-8
// here; authorize, ownAccount and limitsFor see it as its JSON decodes.
func asJSONString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

type validator struct {
	shapes map[string]*shape
	errs   []string
	fields map[string]bool
}

func (v *validator) fail(field, format string, args ...any) {
	v.sent(field)
	v.errs = append(v.errs, fmt.Sprintf("'%s' %s", field, fmt.Sprintf(format, args...)))
}

func (v *validator) failed(field string) bool { return v.fields[field] }

// sent records that field was in the request, though it failed a check
// within (a member of a structure, an item of a list): it is not missing.
func (v *validator) sent(field string) {
	if v.fields == nil {
		v.fields = map[string]bool{}
	}
	v.fields[field] = true
}

func (v *validator) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return chime.Errorf(chime.KindBadRequest, "1 validation error detected: %s.", v.errs[0])
	}
	return chime.Errorf(chime.KindBadRequest, "%d validation errors detected: %s.", len(v.errs), strings.Join(v.errs, "; "))
}

// fromText converts query or header text to the JSON value the shape expects.
func (v *validator) fromText(s *shape, vals []string) any {
	if s.Type == "list" {
		out := make([]any, 0, len(vals))
		for _, x := range vals {
			out = append(out, v.fromText1(v.shapes[s.Member.Shape], x))
		}
		return out
	}
	return v.fromText1(s, vals[0])
}

// fromText1 is fromText of one value.
func (v *validator) fromText1(s *shape, text string) any {
	switch s.Type {
	case "list":
		return []any{v.fromText1(v.shapes[s.Member.Shape], text)}
	case "integer", "long":
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return text // check reports the type error
		}
		return json.Number(strconv.FormatInt(n, 10))
	case "boolean":
		switch text {
		case "true":
			return true
		case "false":
			return false
		}
		return text
	case "timestamp":
		return timestampText(text)
	}
	return text
}

type timestampText string

// parseTimestamp accepts every ISO-8601 form the SDKs send in queries and
// epoch seconds, in years 0..9999 (UTC): beyond them a time cannot be
// re-encoded, and a validated input must never fail later as a 500.
func parseTimestamp(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return t, t.Year() >= 0 && t.Year() <= 9999
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -62167219200 && f < 253402300800 {
		return time.UnixMilli(int64(f * 1000)).UTC(), true
	}
	return time.Time{}, false
}

// check validates val against s and returns it normalised for json.Marshal.
func (v *validator) check(field string, s *shape, val any) (any, bool) {
	switch s.Type {
	case "string":
		str, ok := val.(string)
		if !ok {
			v.fail(field, "must be a string")
			return nil, false
		}
		if !utf8.ValidString(str) {
			v.fail(field, "must be valid UTF-8")
			return nil, false
		}
		// PostgreSQL text cannot hold U+0000 (a 500 there): refused on
		// every store alike, so that both answer the same.
		if strings.IndexByte(str, 0) >= 0 {
			v.fail(field, "must not contain the character U+0000")
			return nil, false
		}
		// The length in characters, n, is between len(str)/4 and len(str):
		// counted only when those do not settle both bounds.
		n := -1
		if s.Min != nil && float64((len(str)+3)/4) < *s.Min || s.Max != nil && float64(len(str)) > *s.Max {
			n = utf8.RuneCountInString(str)
		}
		if s.Min != nil && n >= 0 && float64(n) < *s.Min {
			v.fail(field, "must have length greater than or equal to %d", int(*s.Min))
			return nil, false
		}
		if s.Max != nil && n >= 0 && float64(n) > *s.Max {
			v.fail(field, "must have length less than or equal to %d", int(*s.Max))
			return nil, false
		}
		if s.match != nil && !s.match(str) {
			v.fail(field, "must satisfy regular expression pattern: %s", s.Pattern)
			return nil, false
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			v.fail(field, "must satisfy enum value set: [%s]", strings.Join(s.Enum, ", "))
			return nil, false
		}
		return val, true // str as it came, not boxed again
	case "integer", "long":
		num, ok := val.(json.Number)
		if !ok {
			v.fail(field, "must be an integer")
			return nil, false
		}
		n, err := strconv.ParseInt(string(num), 10, 32)
		if err != nil {
			v.fail(field, "must be an integer")
			return nil, false
		}
		if s.Min != nil && float64(n) < *s.Min {
			v.fail(field, "must have value greater than or equal to %d", int(*s.Min))
			return nil, false
		}
		if s.Max != nil && float64(n) > *s.Max {
			v.fail(field, "must have value less than or equal to %d", int(*s.Max))
			return nil, false
		}
		return n, true
	case "boolean":
		b, ok := val.(bool)
		if !ok {
			v.fail(field, "must be a boolean")
		}
		return b, ok
	case "timestamp":
		var t time.Time
		var ok bool
		switch x := val.(type) {
		case timestampText:
			t, ok = parseTimestamp(string(x))
		case json.Number:
			t, ok = parseTimestamp(string(x))
		case string:
			t, ok = parseTimestamp(x)
		}
		if !ok {
			v.fail(field, "must be a timestamp")
			return nil, false
		}
		return t, true
	case "list":
		arr, ok := val.([]any)
		if !ok {
			v.fail(field, "must be a list")
			return nil, false
		}
		if s.Min != nil && float64(len(arr)) < *s.Min {
			v.fail(field, "must have at least %d items", int(*s.Min))
			return nil, false
		}
		if s.Max != nil && float64(len(arr)) > *s.Max {
			v.fail(field, "must have at most %d items", int(*s.Max))
			return nil, false
		}
		out := make([]any, 0, len(arr))
		good := true
		for i, x := range arr {
			item := field + "." + strconv.Itoa(i+1)
			if x == nil {
				v.fail(item, "must not be null")
				good = false
				continue
			}
			y, ok := v.check(item, v.shapes[s.Member.Shape], x)
			good = good && ok
			out = append(out, y)
		}
		return out, good
	case "map":
		obj, ok := val.(map[string]any)
		if !ok {
			v.fail(field, "must be a map")
			return nil, false
		}
		if s.Min != nil && float64(len(obj)) < *s.Min {
			v.fail(field, "must have at least %d entries", int(*s.Min))
			return nil, false
		}
		if s.Max != nil && float64(len(obj)) > *s.Max {
			v.fail(field, "must have at most %d entries", int(*s.Max))
			return nil, false
		}
		out := map[string]any{}
		good := true
		for _, k := range sortedKeys(obj) {
			if _, ok := v.check(field+".key", v.shapes[s.Key.Shape], k); !ok {
				good = false
				continue
			}
			if obj[k] == nil {
				v.fail(field+"."+k, "must not be null")
				good = false
				continue
			}
			y, ok := v.check(field+"."+k, v.shapes[s.Value.Shape], obj[k])
			good = good && ok
			out[k] = y
		}
		return out, good
	case "structure":
		obj, ok := val.(map[string]any)
		if !ok {
			v.fail(field, "must be an object")
			return nil, false
		}
		out := map[string]any{}
		good := true
		for _, name := range s.names {
			x, present := obj[name]
			if !present || x == nil {
				continue
			}
			y, ok := v.check(field+"."+name, v.shapes[s.Members[name].Shape], x)
			good = good && ok
			out[name] = y
		}
		for _, req := range s.Required {
			if _, ok := out[req]; !ok && !v.failed(field+"."+req) {
				v.fail(field+"."+req, "is required")
				good = false
			}
		}
		return out, good
	}
	v.fail(field, "has an unsupported type")
	return nil, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
