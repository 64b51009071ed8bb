package api

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// inputDecoder fills a handler's input struct from the validated input map
// (decodeInput) exactly as json.Unmarshal(json.Marshal(in)) would, without
// the round trip for the values most inputs hold: strings, booleans and
// integers, into string, bool, integer and float fields or pointers to them.
// Any other value or field (lists, maps, structures, timestamps, raw JSON)
// goes through JSON on its own, and anything it does not plainly cover (an
// unmatched key for two fields, a value that would not survive the round
// trip unchanged, a type outside the field rules it mirrors) sends the whole
// input through JSON, which stays the reference (input_test.go holds it to it).
type inputDecoder struct {
	typ reflect.Type
	// byName and byFold are encoding/json's exact and case-insensitive
	// field lookups; nil when the type always goes through JSON.
	byName, byFold map[string]*inputField
}

type inputField struct {
	index []int  // as reflect.Value.FieldByIndex takes it
	bit   uint64 // this field's bit in the set of fields assigned
	kind  inputKind
}

type inputKind int

const (
	viaJSON   inputKind = iota // the value goes through JSON on its own
	scalar                     // a string, bool, integer or float field
	scalarPtr                  // a pointer to one
)

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonNumberType      = reflect.TypeFor[json.Number]()
)

// newInputDecoder reads t's fields once, with encoding/json's rules for the
// struct shapes Belfry's inputs use: exported fields named by their json tag
// or their Go name, and the fields of embedded structs (not pointers)
// promoted. A type outside them (a field name twice, even case-folded, a
// ",string" option, an embedded pointer or tagged embedding, a name that is
// not plain ASCII) always goes through JSON.
func newInputDecoder(t reflect.Type) *inputDecoder {
	d := &inputDecoder{typ: t}
	if t.Kind() != reflect.Struct {
		return d
	}
	var fields []*inputField
	var names []string
	if !collectFields(t, nil, &fields, &names) || len(fields) > 64 {
		return d
	}
	byName := make(map[string]*inputField, len(fields))
	byFold := make(map[string]*inputField, len(fields))
	for i, f := range fields {
		f.bit = 1 << i
		fold := strings.ToUpper(names[i])
		if _, dup := byFold[fold]; dup {
			return d
		}
		byName[names[i]] = f
		byFold[fold] = f
	}
	d.byName, d.byFold = byName, byFold
	return d
}

// collectFields appends t's fields as encoding/json sees them, depth first;
// false when t is outside the rules newInputDecoder mirrors.
func collectFields(t reflect.Type, index []int, fields *[]*inputField, names *[]string) bool {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("json")
		idx := append(append([]int(nil), index...), i)
		if sf.Anonymous {
			if hasTag || sf.Type.Kind() != reflect.Struct {
				return false
			}
			if !collectFields(sf.Type, idx, fields, names) {
				return false
			}
			continue
		}
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		for _, o := range strings.Split(opts, ",") {
			if o == "string" {
				return false
			}
		}
		if name == "" {
			name = sf.Name
		}
		if !isPlainName(name) {
			return false
		}
		f := &inputField{index: idx}
		switch {
		case isScalar(sf.Type):
			f.kind = scalar
		case sf.Type.Kind() == reflect.Pointer && sf.Type.Name() == "" && isScalar(sf.Type.Elem()):
			f.kind = scalarPtr
		}
		*fields = append(*fields, f)
		*names = append(*names, name)
	}
	return true
}

// isPlainName reports whether a field name is ASCII letters, digits and
// underscores, which every JSON field rule takes as it is.
func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// isScalar reports whether JSON decodes into t by its kind alone.
func isScalar(t reflect.Type) bool {
	if t == jsonNumberType || t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType) ||
		reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// decode fills dst, a pointer to a zero value of d's type, from in.
// Errors: those of the JSON round trip, wrapped as it wraps them.
func (d *inputDecoder) decode(in map[string]any, dst any) error {
	if d.byName != nil && d.direct(in, reflect.ValueOf(dst).Elem()) {
		return nil
	}
	reflect.ValueOf(dst).Elem().SetZero()
	return decodeViaJSON(in, dst)
}

// decodeViaJSON is the reference: in encoded as JSON and decoded into dst.
func decodeViaJSON(in map[string]any, dst any) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode validated input: %w", err)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("decode validated input: %w", err)
	}
	return nil
}

// direct fills v from in; false when only the whole round trip gives the
// answer (v is then left part filled).
func (d *inputDecoder) direct(in map[string]any, v reflect.Value) bool {
	var done uint64
	for k, x := range in {
		f := d.byName[k]
		if f == nil {
			if !isASCII(k) {
				return false // a non-ASCII key may fold onto a field
			}
			f = d.foldedField(k)
		}
		if f == nil {
			// Unmatched, so only its encoding matters: it must not fail.
			if !encodes(x) {
				return false
			}
			continue
		}
		if done&f.bit != 0 {
			return false // two keys for one field: the last in key order wins
		}
		done |= f.bit
		fv := v.FieldByIndex(f.index)
		switch {
		case x == nil && f.kind != viaJSON:
			// null leaves a scalar as it is and a pointer nil.
		case f.kind == scalar && setScalar(fv, x):
		case f.kind == scalarPtr && setScalarPtr(fv, x):
		default:
			b, err := json.Marshal(x)
			if err != nil || json.Unmarshal(b, fv.Addr().Interface()) != nil {
				return false
			}
		}
	}
	return true
}

// setScalar sets v to x as JSON would carry it; false when x is not one of
// the values it handles (or would fail), leaving v unchanged.
func setScalar(v reflect.Value, x any) bool {
	switch x := x.(type) {
	case string:
		if v.Kind() != reflect.String || !utf8.ValidString(x) {
			return false // invalid UTF-8 would come back changed
		}
		v.SetString(x)
		return true
	case bool:
		if v.Kind() != reflect.Bool {
			return false
		}
		v.SetBool(x)
		return true
	case int64:
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if v.OverflowInt(x) {
				return false
			}
			v.SetInt(x)
			return true
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if x < 0 || v.OverflowUint(uint64(x)) {
				return false
			}
			v.SetUint(uint64(x))
			return true
		case reflect.Float32, reflect.Float64:
			// As encoding/json reads the decimal json.Marshal writes.
			f, err := strconv.ParseFloat(strconv.FormatInt(x, 10), v.Type().Bits())
			if err != nil || v.OverflowFloat(f) {
				return false
			}
			v.SetFloat(f)
			return true
		}
	}
	return false
}

// setScalarPtr points v at a new value set by setScalar.
func setScalarPtr(v reflect.Value, x any) bool {
	p := reflect.New(v.Type().Elem())
	if !setScalar(p.Elem(), x) {
		return false
	}
	v.Set(p)
	return true
}

// encodes reports whether json.Marshal accepts x.
func encodes(x any) bool {
	switch x.(type) {
	case nil, string, bool, int64:
		return true
	}
	_, err := json.Marshal(x)
	return err == nil
}

// foldedField returns d.byFold[strings.ToUpper(k)] of an ASCII k, without
// an allocation when k is short.
func (d *inputDecoder) foldedField(k string) *inputField {
	var buf [64]byte
	if len(k) > len(buf) {
		return d.byFold[strings.ToUpper(k)]
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	return d.byFold[string(buf[:len(k)])]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
