package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/belfry/belfry/internal/chime"
)

// routeEveryOp is how route chose an operation before byShape: every
// operation in turn. TestRoute holds route to it.
func routeEveryOp(ops []*opSpec, r *http.Request) (*opSpec, map[string]string, error) {
	segs := splitPath(r.URL.EscapedPath())
	query := r.URL.Query()
	pathKnown := false
	for _, op := range ops {
		if labels, ok := op.match(r.Method, segs, query); ok {
			return op, labels, nil
		}
		pathKnown = pathKnown || op.pathMatches(segs)
	}
	if pathKnown {
		return nil, nil, chime.Errorf(chime.KindUnknownOperation, "No operation accepts %s on %s.", r.Method, r.URL.EscapedPath())
	}
	return nil, nil, chime.Errorf(chime.KindUnknownOperation, "No operation matches %s %s.", r.Method, r.URL.EscapedPath())
}

// TestRoute: every operation's path, its labels empty, plain or escaped ARNs,
// with every method and every selecting query value (or none), and paths no
// operation has, route the same as trying every operation in turn.
func TestRoute(t *testing.T) {
	ops, err := loadModels()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ops: ops, byShape: byShape(ops)}
	queries := map[string]bool{"": true, "max-results=5&operation=nothing": true}
	paths := map[string]bool{"/": true, "//": true, "/no/such/path": true, "/channels/": true, "/channels//memberships": true}
	for _, op := range ops {
		for k, v := range op.query {
			queries[k+"="+v] = true
			queries["x=1&"+k+"="+v+"&"+k+"=other"] = true
			queries[k+"=other&"+k+"="+v] = true
		}
		for _, label := range []string{"", "x", esc(fzPub), "a%2Fb"} {
			segs := make([]string, len(op.segs))
			for i, seg := range op.segs {
				if strings.HasPrefix(seg, "{") {
					seg = label
				}
				segs[i] = seg
			}
			p := "/" + strings.Join(segs, "/")
			paths[p], paths[p+"/"], paths[p+"/extra"] = true, true, true
		}
	}
	n := 0
	for p := range paths {
		for q := range queries {
			for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"} {
				r := httptest.NewRequest(method, "http://h"+p+"?"+q, nil)
				op, labels, query, err := s.route(r)
				wop, wlabels, werr := routeEveryOp(ops, r)
				if op != wop || !reflect.DeepEqual(labels, wlabels) || fmt.Sprint(err) != fmt.Sprint(werr) {
					t.Fatalf("%s %s?%s: %v %v %v; every operation in turn: %v %v %v", method, p, q, name(op), labels, err, name(wop), wlabels, werr)
				}
				if err == nil && !reflect.DeepEqual(query, r.URL.Query()) {
					t.Fatalf("%s %s?%s: query %v", method, p, q, query)
				}
				if err == nil {
					n++
				}
			}
		}
	}
	if n < len(ops) {
		t.Errorf("only %d requests routed", n)
	}
}

func name(op *opSpec) string {
	if op == nil {
		return "<none>"
	}
	return op.name
}

// BenchmarkRoute: CreateChannelMembership, a list with a scope= selector
// and query, and a path no operation has.
func BenchmarkRoute(b *testing.B) {
	ops, err := loadModels()
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{ops: ops, byShape: byShape(ops)}
	for _, c := range []struct{ name, method, target string }{
		{"CreateChannelMembership", "POST", "/channels/" + esc(fzPub) + "/memberships"},
		{"ListChannelMembershipsForAppInstanceUser", "GET", "/channels?scope=app-instance-user-memberships&app-instance-user-arn=" + esc(fzU1) + "&max-results=50"},
		{"unknown", "GET", "/no/such/path"},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				s.route(r)
			}
		})
	}
}
