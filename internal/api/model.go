package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// The API models the AWS SDKs are generated from. Routing, success codes and
// input validation are read from them, so every constraint they state is
// checked in one place.
//
//go:embed models/*.json
var modelFiles embed.FS

type ref struct {
	Shape            string `json:"shape"`
	Location         string `json:"location"`
	LocationName     string `json:"locationName"`
	IdempotencyToken bool   `json:"idempotencyToken"`
}

type shape struct {
	Type            string         `json:"type"`
	Members         map[string]ref `json:"members"`
	Member          *ref           `json:"member"`
	Key             *ref           `json:"key"`
	Value           *ref           `json:"value"`
	Required        []string       `json:"required"`
	Min             *float64       `json:"min"`
	Max             *float64       `json:"max"`
	Pattern         string         `json:"pattern"`
	Enum            []string       `json:"enum"`
	TimestampFormat string         `json:"timestampFormat"`

	re    *regexp.Regexp // Pattern, compiled
	names []string       // the names of Members, sorted: the order they are checked in
}

type operation struct {
	Name string `json:"name"`
	HTTP struct {
		Method       string `json:"method"`
		RequestURI   string `json:"requestUri"`
		ResponseCode int    `json:"responseCode"`
	} `json:"http"`
	Input *ref `json:"input"`
}

type model struct {
	Metadata struct {
		ServiceID string `json:"serviceId"`
	} `json:"metadata"`
	Operations map[string]operation `json:"operations"`
	Shapes     map[string]*shape    `json:"shapes"`
}

func readModel(f string) (*model, error) {
	b, err := modelFiles.ReadFile(f)
	if err != nil {
		return nil, err
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	return &m, nil
}

// opSpec is one operation as the router and decoder see it.
type opSpec struct {
	name    string
	service string
	method  string
	segs    []string          // path template segments; "{x}" is a label
	query   map[string]string // literal query values that select this operation
	status  int
	input   *shape
	shapes  map[string]*shape

	// Read from input once, for authorize, ownAccount and limitsFor.
	arnMembers []string         // the input members that name Chime resources (isARNMember), sorted
	resources  []resourceMember // the resource members of the input (resourceMembers), in their order
}

// loadModels reads both models and returns every operation, each name once
// (the tag operations both services share have the same shape in each).
func loadModels() ([]*opSpec, error) {
	var ops []*opSpec
	seen := map[string]bool{}
	for _, f := range []string{"models/chime-sdk-messaging.json", "models/chime-sdk-identity.json"} {
		m, err := readModel(f)
		if err != nil {
			return nil, err
		}
		for _, s := range m.Shapes {
			if s.Pattern != "" {
				re, err := compilePattern(s.Pattern)
				if err != nil {
					return nil, fmt.Errorf("%s: pattern %q: %w", f, s.Pattern, err)
				}
				s.re = re
			}
			s.names = sortedKeys(s.Members)
		}
		for name, o := range m.Operations {
			if seen[name] {
				continue
			}
			seen[name] = true
			spec := &opSpec{name: name, service: m.Metadata.ServiceID, method: o.HTTP.Method, status: o.HTTP.ResponseCode, shapes: m.Shapes, query: map[string]string{}}
			if spec.status == 0 {
				spec.status = 200
			}
			path, q, _ := strings.Cut(o.HTTP.RequestURI, "?")
			spec.segs = splitPath(path)
			for _, kv := range strings.Split(q, "&") {
				if k, v, ok := strings.Cut(kv, "="); ok {
					spec.query[k] = v
				}
			}
			if o.Input != nil {
				spec.input = m.Shapes[o.Input.Shape]
				for _, name := range spec.input.names {
					if isARNMember(spec, name, spec.input.Members[name]) {
						spec.arnMembers = append(spec.arnMembers, name)
					}
				}
				for _, r := range resourceMembers(spec) {
					if hasMember(spec, r.member) {
						spec.resources = append(spec.resources, r)
					}
				}
			}
			ops = append(ops, spec)
		}
	}
	// Operations selected by a query value are tried before those that are not.
	sort.SliceStable(ops, func(i, j int) bool {
		if len(ops[i].query) != len(ops[j].query) {
			return len(ops[i].query) > len(ops[j].query)
		}
		return ops[i].name < ops[j].name
	})
	return ops, nil
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

var bigRepeat = regexp.MustCompile(`\{(\d+),\d{4,}\}`)

// compilePattern turns a model pattern (Java regex syntax) into an anchored Go regexp.
func compilePattern(p string) (*regexp.Regexp, error) {
	// The XML character class, written with Java's \uXXXX escapes, including a
	// supplementary range that only makes sense as code points.
	p = strings.ReplaceAll(p, `\u10000-\u10FFFF`, `\x{10000}-\x{10FFFF}`)
	p = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`).ReplaceAllString(p, `\x{$1}`)
	// RE2 caps repeat counts at 1000; the shape's length limit bounds these anyway.
	p = bigRepeat.ReplaceAllString(p, "{$1,}")
	p = strings.TrimPrefix(p, "^")
	p = strings.TrimSuffix(p, "$")
	// (?s): metadata and names may hold line breaks, as JSON metadata often does.
	return regexp.Compile(`(?s)^(?:` + p + `)$`)
}

// match reports whether the request's method, escaped path segments and
// query select op; labels receives the unescaped path labels.
func (op *opSpec) match(method string, segs []string, query map[string][]string) (map[string]string, bool) {
	if op.method != method || len(segs) != len(op.segs) {
		return nil, false
	}
	for k, v := range op.query {
		if got := query[k]; len(got) == 0 || got[0] != v {
			return nil, false
		}
	}
	if !op.pathMatches(segs) {
		return nil, false
	}
	// Labels are gathered only once the path matches: most candidates do not.
	var labels map[string]string
	for i, t := range op.segs {
		if strings.HasPrefix(t, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if labels == nil {
				labels = map[string]string{}
			}
			labels[strings.Trim(t, "{}+")] = segs[i]
		}
	}
	return labels, true
}

// pathMatches reports whether the path alone matches op, whatever the method.
func (op *opSpec) pathMatches(segs []string) bool {
	if len(segs) != len(op.segs) {
		return false
	}
	for i, t := range op.segs {
		if !strings.HasPrefix(t, "{") && t != segs[i] {
			return false
		}
	}
	return true
}
