package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/belfry/belfry/internal/chime"
)

// writeErrorRef is writeError as it was, with Header.Set and an Encoder.
func writeErrorRef(w http.ResponseWriter, log *slog.Logger, requestID string, err error) {
	kind := chime.KindOf(err)
	msg := err.Error()
	if kind == chime.KindInternal {
		log.Error("internal error", "request_id", requestID, "err", err)
		msg = "An internal error occurred; request id " + requestID + "."
	}
	var ce *chime.Error
	if errors.As(err, &ce) {
		msg = ce.Message
	}
	if kind == chime.KindServiceUnavailable { // the cause goes to the log only
		msg = serviceUnavailableMessage + " Request id " + requestID + "."
	}
	we := wireErrors[kind]
	w.Header().Set("x-amzn-ErrorType", we.typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(we.status)
	json.NewEncoder(w).Encode(struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	}{we.code, msg})
}

// TestWriteError: every kind, with messages JSON escapes, is written as
// writeErrorRef writes it: status, headers, body.
func TestWriteError(t *testing.T) {
	var kinds []chime.Kind
	for k := range wireErrors {
		kinds = append(kinds, k)
	}
	log := slog.New(slog.DiscardHandler)
	for _, k := range kinds {
		for _, msg := range jsonStrings() {
			for _, err := range []error{&chime.Error{Kind: k, Message: msg}, errors.New(msg)} {
				got, want := httptest.NewRecorder(), httptest.NewRecorder()
				writeError(got, log, "rid", err)
				writeErrorRef(want, log, "rid", err)
				if got.Code != want.Code || !reflect.DeepEqual(got.Header(), want.Header()) || got.Body.String() != want.Body.String() {
					t.Fatalf("%d %q: %d %v %q; want %d %v %q", k, msg, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
				}
			}
		}
	}
}
