package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBody: readBody gives what io.ReadAll through MaxBytesReader gives,
// bytes and error, whatever the announced length and however the body is
// cut into reads (an error comes at a place in the stream, as net/http's
// do, not at the nth read).
func TestReadBody(t *testing.T) {
	readers := map[string]func(string) io.Reader{
		"plain":   func(s string) io.Reader { return strings.NewReader(s) },
		"one":     func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":    func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
		"dataErr": func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) },
		"broken": func(s string) io.Reader {
			return io.MultiReader(strings.NewReader(s), iotest.ErrReader(io.ErrUnexpectedEOF))
		},
	}
	for _, announced := range []int64{-1, 0} {
		r := httptest.NewRequest("GET", "/", nil)
		r.ContentLength, r.Body = announced, http.NoBody
		if got, err := readBody(httptest.NewRecorder(), r); got == nil || len(got) != 0 || err != nil {
			t.Errorf("no body, Content-Length %d: %q (nil: %v), %v; want an empty body", announced, got, got == nil, err)
		}
	}
	big := strings.Repeat("x", MaxBodyBytes)
	for _, body := range []string{"", "{}", `{"MemberArn":"` + fzErin + `","Type":"DEFAULT"}`, strings.Repeat("é", 3000), big, big + "y"} {
		for _, announced := range []int64{-1, 0, 1, int64(len(body)) - 1, int64(len(body)), int64(len(body)) + 1, MaxBodyBytes, MaxBodyBytes + 1} {
			for name, reader := range readers {
				r := httptest.NewRequest("POST", "/", nil)
				r.ContentLength = announced
				r.Body = io.NopCloser(reader(body))
				got, gerr := readBody(httptest.NewRecorder(), r)
				r.Body = io.NopCloser(reader(body))
				want, werr := io.ReadAll(http.MaxBytesReader(httptest.NewRecorder(), r.Body, MaxBodyBytes))
				if !bytes.Equal(got, want) || (got == nil) != (want == nil) || (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
					t.Errorf("%d-byte body, Content-Length %d, %s reader: %d bytes, error %v; io.ReadAll: %d bytes, error %v",
						len(body), announced, name, len(got), gerr, len(want), werr)
				}
			}
		}
	}
}

// BenchmarkReadBody: a CreateChannelMembership body and a 4 KB message,
// through io.ReadAll and readBody.
func BenchmarkReadBody(b *testing.B) {
	for _, body := range []string{`{"MemberArn":"` + fzErin + `","Type":"DEFAULT"}`, `{"Content":"` + strings.Repeat("x", 4096) + `","Type":"STANDARD","Persistence":"PERSISTENT"}`} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		w := httptest.NewRecorder()
		src := strings.NewReader(body)
		r.Body = io.NopCloser(src)
		b.Run(fmt.Sprintf("ReadAll/%d", len(body)), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				src.Reset(body)
				io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
			}
		})
		b.Run(fmt.Sprintf("readBody/%d", len(body)), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				src.Reset(body)
				readBody(w, r)
			}
		})
	}
}
