package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/textproto"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
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

	match func(string) bool // reports whether a string satisfies Pattern; nil when every string does
	names []string          // the names of Members, sorted: the order they are checked in
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

	// The input's required members less those in notRequired, for decodeInput.
	required []string

	// Read from input once, for authorize, ownAccount and limitsFor.
	arnMembers []string         // the input members that name Chime resources (isARNMember), sorted
	resources  []resourceMember // the resource members of the input (resourceMembers), in their order

	// Read from input once, for decodeInput.
	members   []inputMember // the input's members, in input.names order
	bodyNames []string      // the names of the members read from the body, in that order
}

// inputMember is one member of an operation's input and where it is read.
type inputMember struct {
	name     string
	shape    *shape
	location string // as in its ref
	seg      int    // uri: the index of the path segment of its label (the last), -1 if none
	key      string // querystring: its key; header: its name in canonical form
	body     int    // body: its index in bodyNames
}

// inputMembers returns spec's inputMembers and bodyNames.
func inputMembers(spec *opSpec) ([]inputMember, []string) {
	var members []inputMember
	var body []string
	for _, name := range spec.input.names {
		r := spec.input.Members[name]
		m := inputMember{name: name, shape: spec.shapes[r.Shape], location: r.Location, seg: -1}
		switch r.Location {
		case "uri":
			for i, t := range spec.segs {
				if strings.HasPrefix(t, "{") && labelName(t) == r.LocationName {
					m.seg = i
				}
			}
		case "querystring":
			m.key = r.LocationName
		case "header":
			m.key = textproto.CanonicalMIMEHeaderKey(r.LocationName)
		case "":
			m.body = len(body)
			body = append(body, name)
		}
		members = append(members, m)
	}
	return members, body
}

// notRequired names the members the current models require that Belfry
// accepts without, each with what leaving it out means (the handlers apply it):
//   - CreateChannelMembership's Type: DEFAULT. SEMANTICS.md §1: the
//     Developer Guide's own example leaves it out, and the JS SDK v3 does not
//     check required members.
//   - UpdateAppInstance's and UpdateAppInstanceUser's Metadata, and
//     UpdateChannelMessage's Content: unchanged. The legacy chime model,
//     which the v1 SDKs still use on these same paths, makes them optional.
var notRequired = map[string][]string{
	"CreateChannelMembership": {"Type"},
	"UpdateAppInstance":       {"Metadata"},
	"UpdateAppInstanceUser":   {"Metadata"},
	"UpdateChannelMessage":    {"Content"},
}

// alsoRequired names, by shape, the members Belfry requires though the model
// does not: a SendChannelMessage Target without its MemberArn would
// otherwise send to the whole channel a message meant for one member.
var alsoRequired = map[string][]string{
	"Target": {"MemberArn"},
}

// labelName is the name of the label in a path template segment "{x}" or "{x+}".
func labelName(t string) string { return strings.Trim(t, "{}+") }

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
		for name, members := range alsoRequired {
			if s := m.Shapes[name]; s != nil {
				s.Required = append(s.Required, members...)
			}
		}
		for _, s := range m.Shapes {
			if s.Pattern != "" {
				if s.match, err = matcherFor(s.Pattern); err != nil {
					return nil, fmt.Errorf("%s: pattern %q: %w", f, s.Pattern, err)
				}
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
				spec.members, spec.bodyNames = inputMembers(spec)
				for _, r := range spec.input.Required {
					if !slices.Contains(notRequired[name], r) {
						spec.required = append(spec.required, r)
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

func splitPath(p string) []string { return appendSegments(nil, p) }

// appendSegments appends the segments of the path p to dst, as
// strings.Split(p, "/") gives them once every leading '/' is trimmed, and
// none when nothing is left. A trailing '/' leaves an empty last segment:
// an SDK that does not check path labels (the JS SDK v3) sends an empty one
// so, and the operation it meant then answers that its member is too short,
// as it does for an empty label inside the path ("/channels//memberships").
func appendSegments(dst []string, p string) []string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return dst
	}
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return append(dst, p)
		}
		dst = append(dst, p[:i])
		p = p[i+1:]
	}
}

// bigRepeat is a one-character atom (. or a class) repeated up to 1000 times or more.
var bigRepeat = regexp.MustCompile(`(\.|\[[^\]]*\])\{(\d+),(\d{4,})\}`)

// splitRepeat writes X{m,n}, n over RE2's cap of 1000, as X{m,1000}X{0,n-1000}
// (ChimeArn's .{0,1023}); what it cannot split is left for Compile to refuse.
func splitRepeat(r string) string {
	g := bigRepeat.FindStringSubmatch(r)
	lo, _ := strconv.Atoi(g[2])
	hi, err := strconv.Atoi(g[3])
	if err != nil || lo > 1000 || hi > 2000 {
		return r
	}
	return fmt.Sprintf("(?:%s{%d,1000}%s{0,%d})", g[1], lo, g[1], hi-1000)
}

// compilePattern turns a model pattern (Java regex syntax) into an anchored Go regexp.
func compilePattern(p string) (*regexp.Regexp, error) {
	// The XML character class, written with Java's \uXXXX escapes, including a
	// supplementary range that only makes sense as code points.
	p = strings.ReplaceAll(p, `\u10000-\u10FFFF`, `\x{10000}-\x{10FFFF}`)
	p = regexp.MustCompile(`\\u([0-9A-Fa-f]{4})`).ReplaceAllString(p, `\x{$1}`)
	p = bigRepeat.ReplaceAllStringFunc(p, splitRepeat)
	p = strings.TrimPrefix(p, "^")
	p = strings.TrimSuffix(p, "$")
	p = javaSpaces(p)
	// (?s): metadata and names may hold line breaks, as JSON metadata often does.
	return regexp.Compile(`(?s)^(?:` + p + `)$`)
}

// javaSpace is the set Java's \s matches (the models' patterns are Java's):
// Go's \s lacks the vertical tab.
const javaSpace = `\t\n\x0B\f\r `

// javaSpaces rewrites p's \s and \S to mean what they mean in Java. Inside a
// character class only \s is rewritten: a Go \S there also matches the
// vertical tab, which the models' one such class, [\s\S], matches anyway.
func javaSpaces(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			i++
			switch e := p[i]; {
			case e == 's' && inClass:
				b.WriteString(javaSpace)
			case e == 's':
				b.WriteString("[" + javaSpace + "]")
			case e == 'S' && !inClass:
				b.WriteString("[^" + javaSpace + "]")
			default:
				b.WriteByte(c)
				b.WriteByte(e)
			}
			continue
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fastMatchers hold hand-written matchers for the model patterns a request
// checks most: their regexps took ~4% of CreateChannelMembership's CPU. Nil
// stands for a pattern every string satisfies (under (?s)). pattern_test.go
// compares each with its regexp.
var fastMatchers = map[string]func(string) bool{
	`.*`:             nil,
	`[\s\S]*`:        nil,
	`[-_a-zA-Z0-9]*`: isIDChars,
	`arn:[a-z0-9-\.]{1,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[a-z0-9-\.]{0,63}:[^/].{0,1023}`: isChimeARN,
}

// matcherFor returns the matcher for the model pattern p: a fast one, else
// its compiled regexp's.
func matcherFor(p string) (func(string) bool, error) {
	if m, ok := fastMatchers[p]; ok {
		return m, nil
	}
	re, err := compilePattern(p)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

// isIDChars matches [-_a-zA-Z0-9]*.
func isIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isChimeARN matches the ChimeArn pattern: "arn:", four segments of
// [a-z0-9-.] each ended by ':' (the first 1 to 63 long, the others up to 63),
// then 1 to 1024 characters, the first not '/'. An invalid byte is one
// character, as in regexp.
func isChimeARN(s string) bool {
	s, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return false
	}
	for i := range 4 {
		n := 0
		for n < len(s) && (isLowerAlnum(s[n]) || s[n] == '-' || s[n] == '.') {
			n++
		}
		if n > 63 || n == 0 && i == 0 || n == len(s) || s[n] != ':' {
			return false
		}
		s = s[n+1:]
	}
	return s != "" && s[0] != '/' && (len(s) <= 1024 || utf8.RuneCountInString(s) <= 1024)
}

// isLowerAlnum reports whether c is in [a-z0-9].
func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// match reports whether the request's method, escaped path segments and
// query select op; decodeInput reads the path labels from segs.
func (op *opSpec) match(method string, segs []string, query map[string][]string) bool {
	if op.method != method || len(segs) != len(op.segs) {
		return false
	}
	if len(op.query) > 0 { // ranging over an empty map is not free
		for k, v := range op.query {
			if got := query[k]; len(got) == 0 || got[0] != v {
				return false
			}
		}
	}
	return op.pathMatches(segs)
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
