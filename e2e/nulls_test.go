package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Every JSON response of every e2e test passes through noNulls: a field
// with no value is left out of a response, never sent as null (AWS's
// responses leave it out; a client that tells absent from null, such as a
// JavaScript app testing `'SubChannelId' in message`, would see the
// difference).

// noNulls serves h and fails t when a JSON response holds a null value. The
// response is held until checked, so that t is told before the client is.
func noNulls(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &heldResponse{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if strings.HasPrefix(w.Header().Get("Content-Type"), "application/") && rec.body.Len() > 0 {
			var v any
			if json.Unmarshal(rec.body.Bytes(), &v) == nil {
				if path := nullIn(v, ""); path != "" {
					t.Errorf("%s %s answered null at %s: %s", r.Method, r.URL.Path, path, rec.body.String())
				}
			}
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	})
}

type heldResponse struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (h *heldResponse) WriteHeader(code int)        { h.status = code }
func (h *heldResponse) Write(b []byte) (int, error) { return h.body.Write(b) }

// nullIn returns the path of the first null in v, or "".
func nullIn(v any, path string) string {
	switch x := v.(type) {
	case nil:
		if path == "" {
			return "the top"
		}
		return path
	case map[string]any:
		for k, e := range x {
			if p := nullIn(e, path+"."+k); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := nullIn(e, path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

// TestNoNulls: the check itself finds a null wherever it is.
func TestNoNulls(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":{"c":[1,{"d":null}]}}`: ".b.c[1].d",
		`{"a":null}`:                       ".a",
		`{"a":[],"b":{},"c":""}`:           "",
	} {
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if got := nullIn(v, ""); got != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
