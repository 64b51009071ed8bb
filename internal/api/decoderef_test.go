package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/belfry/belfry/internal/chime"
)

// decodeInputRef is decodeInput as it was before it read the body itself
// and the path labels by segment: encoding/json's Decoder (UseNumber) into
// a map, labels by name (opSpec.match's), each header with Header.Get. The
// tests hold decodeInput to it.
func decodeInputRef(op *opSpec, labels map[string]string, query url.Values, r *http.Request, body []byte) (map[string]any, error) {
	in := map[string]any{}
	if op.input == nil {
		return in, nil
	}
	var bodyVals map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		obj, err := decodeBodyRef(body)
		if err != nil {
			return nil, err
		}
		bodyVals = obj
	}
	v := &validator{shapes: op.shapes}
	for _, name := range op.input.names {
		m := op.input.Members[name]
		s := op.shapes[m.Shape]
		var val any
		var present bool
		switch m.Location {
		case "uri":
			raw, ok := labels[m.LocationName]
			if ok {
				un, err := url.PathUnescape(raw)
				if err != nil {
					v.fail(name, "must be a correctly percent-encoded path segment")
					continue
				}
				val, present = un, true
			}
		case "querystring":
			vals, ok := query[m.LocationName]
			if ok && len(vals) > 0 {
				val, present = fromTextRef(v, s, vals), true
			}
		case "header":
			if h := r.Header.Get(m.LocationName); h != "" {
				val, present = fromTextRef(v, s, []string{h}), true
			}
		case "":
			val, present = bodyVals[name]
			if present && val == nil {
				present = false
			}
		}
		if !present || val == nil {
			continue
		}
		if name == bearerMember {
			if str, ok := val.(string); ok {
				val = asJSONString(str)
			}
			in[name] = val
			continue
		}
		if out, ok := v.check(name, s, val); ok {
			in[name] = out
		} else {
			v.sent(name)
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

// decodeBodyRef decodes a body that is not all white space as
// decodeInputRef does: one JSON value with nothing but white space after
// it, an object.
func decodeBodyRef(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, next := dec.Token(); next != io.EOF {
			err = errors.New("data after the value")
		}
	}
	if err != nil {
		return nil, chime.Errorf(chime.KindBadRequest, "The request body is not valid JSON.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, chime.Errorf(chime.KindBadRequest, "The request body must be a JSON object.")
	}
	return obj, nil
}

// fromTextRef is validator.fromText as it was, one []string a value.
func fromTextRef(v *validator, s *shape, vals []string) any {
	switch s.Type {
	case "list":
		out := make([]any, 0, len(vals))
		for _, x := range vals {
			out = append(out, fromTextRef(v, v.shapes[s.Member.Shape], []string{x}))
		}
		return out
	case "integer", "long":
		n, err := strconv.ParseInt(vals[0], 10, 64)
		if err != nil {
			return vals[0]
		}
		return json.Number(strconv.FormatInt(n, 10))
	case "boolean":
		switch vals[0] {
		case "true":
			return true
		case "false":
			return false
		}
		return vals[0]
	case "timestamp":
		return timestampText(vals[0])
	}
	return vals[0]
}

// labelsOf returns the escaped path labels of segs, a path op matches, by
// name, as opSpec.match once returned them (nil when there are none).
func labelsOf(op *opSpec, segs []string) map[string]string {
	var labels map[string]string
	for i, t := range op.segs {
		if strings.HasPrefix(t, "{") {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[strings.Trim(t, "{}+")] = segs[i]
		}
	}
	return labels
}

// pathOf returns the escaped path segments of a request to op with label
// (escaped) in each of its labels.
func pathOf(op *opSpec, label string) []string {
	segs := make([]string, len(op.segs))
	for i, t := range op.segs {
		if strings.HasPrefix(t, "{") {
			t = label
		}
		segs[i] = t
	}
	return segs
}
