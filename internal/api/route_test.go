package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
		if op.match(r.Method, segs, query) {
			return op, labelsOf(op, segs), nil
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
				op, path, query, err := s.route(r, nil, nil)
				var labels map[string]string
				if op != nil {
					labels = labelsOf(op, path.segs)
				}
				wop, wlabels, werr := routeEveryOp(ops, r)
				if op != wop || !reflect.DeepEqual(labels, wlabels) || fmt.Sprint(err) != fmt.Sprint(werr) {
					t.Fatalf("%s %s?%s: %v %v %v; every operation in turn: %v %v %v", method, p, q, name(op), labels, err, name(wop), wlabels, werr)
				}
				if err == nil {
					checkRequestPath(t, r.URL, path)
				}
				// The parsed query, nil when there is none.
				if want := r.URL.Query(); err == nil && !(reflect.DeepEqual(query, want) || query == nil && len(want) == 0 && r.URL.RawQuery == "") {
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

// checkRequestPath fails t unless path is what splitRequestPath must give
// of u: u.EscapedPath() split, and each segment's plain form, when known,
// what url.PathUnescape gives.
func checkRequestPath(t testing.TB, u *url.URL, path requestPath) {
	t.Helper()
	if want := splitPath(u.EscapedPath()); !reflect.DeepEqual(path.segs, want) && len(path.segs)+len(want) > 0 {
		t.Fatalf("%q (RawPath %q): segments %q, want %q", u.Path, u.RawPath, path.segs, want)
	}
	if path.plain == nil {
		return
	}
	if len(path.plain) != len(path.segs) {
		t.Fatalf("%q (RawPath %q): %d segments, %d unescaped", u.Path, u.RawPath, len(path.segs), len(path.plain))
	}
	for i, seg := range path.segs {
		if want, err := url.PathUnescape(seg); err != nil || path.plain[i] != want {
			t.Fatalf("%q (RawPath %q): segment %q unescaped as %q; PathUnescape: %q, %v", u.Path, u.RawPath, seg, path.plain[i], want, err)
		}
	}
}

// TestSplitRequestPath: paths as the SDKs send them (ARNs escaped in a
// segment), with every kind of byte, raw or escaped, split as
// u.EscapedPath() is, and their segments unescaped as url.PathUnescape does.
func TestSplitRequestPath(t *testing.T) {
	paths := []string{"/", "", "//", "/channels", "/channels/" + esc(fzPub) + "/memberships", "/channels/" + url.PathEscape(fzPub),
		"/a%2Fb/c/", "/a//b", "//a%2F%2F/", "/%2F", "/a%2fb%3a", "/a%25b", "/a%252F", "/%zz", "/a%2", "/a b", "/a%20b", "/é%C3%A9",
		"/%FF%00", "/a;b=c/@:!$&'()*+,", "/[x]", "/a%5Bx%5D", "/~a._-", "/a%7E", "/a?b", "/a%3Fb", "/a%23b", "/%2F%2F%2F"}
	for _, p := range paths {
		for _, prefix := range []string{"", "/x"} {
			u, err := url.Parse("http://h" + prefix + p)
			if err != nil {
				continue
			}
			var segBuf, plainBuf [maxSegments]string
			checkRequestPath(t, u, splitRequestPath(u, segBuf[:0], plainBuf[:0]))
			checkRequestPath(t, u, splitRequestPath(u, nil, nil))
			// RawPath as set by hand, valid for Path or not.
			for _, raw := range []string{p, strings.ToUpper(p), strings.ReplaceAll(p, "%2F", "/")} {
				v := *u
				v.RawPath = raw
				checkRequestPath(t, &v, splitRequestPath(&v, nil, nil))
			}
		}
	}
}

// FuzzSplitRequestPath: any path, parsed as net/http parses a request's,
// or with any RawPath.
func FuzzSplitRequestPath(f *testing.F) {
	f.Add("/channels/"+esc(fzPub)+"/memberships", "")
	f.Add("/a%2Fb//c/", "/a%2fb//c/")
	f.Add("/%zz", "/x")
	f.Fuzz(func(t *testing.T, p, raw string) {
		u, err := url.ParseRequestURI(p)
		if err != nil {
			return
		}
		checkRequestPath(t, u, splitRequestPath(u, nil, nil))
		u.RawPath = raw
		checkRequestPath(t, u, splitRequestPath(u, nil, nil))
	})
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
			var segBuf, plainBuf [maxSegments]string
			for range b.N {
				s.route(r, segBuf[:0], plainBuf[:0])
			}
		})
	}
}
