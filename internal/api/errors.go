package api

import (
	"errors"
	"log/slog"
	"net/http"
	"net/textproto"

	"github.com/belfry/belfry/internal/chime"
)

// wireError is how one error kind is written: status, x-amzn-ErrorType (the
// exception shape name) and the body's Code (the short ErrorCode value).
type wireError struct {
	status int
	typ    string
	code   string
}

// wireErrors is the catalogue of SEMANTICS.md §8. Only this file knows it.
var wireErrors = map[chime.Kind]wireError{
	chime.KindInternal:              {500, "ServiceFailureException", "ServiceFailure"},
	chime.KindBadRequest:            {400, "BadRequestException", "BadRequest"},
	chime.KindUnauthorized:          {401, "UnauthorizedClientException", "Unauthorized"},
	chime.KindForbidden:             {403, "ForbiddenException", "Forbidden"},
	chime.KindNotFound:              {404, "NotFoundException", "NotFound"},
	chime.KindConflict:              {409, "ConflictException", "Conflict"},
	chime.KindResourceLimitExceeded: {400, "ResourceLimitExceededException", "ResourceLimitExceeded"},
	chime.KindThrottled:             {429, "ThrottledClientException", "Throttled"},
	chime.KindServiceUnavailable:    {503, "ServiceUnavailableException", "ServiceUnavailable"},
	chime.KindNotImplemented:        {501, "NotImplementedException", "NotImplemented"},
	chime.KindUnknownOperation:      {404, "UnknownOperationException", "UnknownOperation"},
	// The AWS front end's authentication errors have no ErrorCode value in
	// the models; their Code is the exception name, as in AWS's __type.
	chime.KindMissingAuthenticationToken: {403, "MissingAuthenticationTokenException", "MissingAuthenticationTokenException"},
	chime.KindIncompleteSignature:        {403, "IncompleteSignatureException", "IncompleteSignatureException"},
	chime.KindUnrecognizedClient:         {403, "UnrecognizedClientException", "UnrecognizedClientException"},
	chime.KindInvalidSignature:           {403, "InvalidSignatureException", "InvalidSignatureException"},
}

// writeError writes err the way the AWS SDKs read it. Errors that are not a
// *chime.Error are logged and answered with a generic 500.
func writeError(w http.ResponseWriter, log *slog.Logger, requestID string, err error) {
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
	if kind == chime.KindServiceUnavailable {
		// The cause (a database address and user, a disk error) is the
		// operator's to read, in the log; the caller only needs to retry.
		log.Warn("service unavailable", "request_id", requestID, "err", err)
		msg = serviceUnavailableMessage + " Request id " + requestID + "."
	}
	we := wireErrors[kind]
	// As Header.Set("x-amzn-ErrorType", we.typ) and Set("Content-Type", ...).
	typ := errorTypeValues[we.typ]
	if typ == nil {
		typ = []string{we.typ}
	}
	h := w.Header()
	h[errorTypeKey] = typ
	h["Content-Type"] = contentTypeJSON
	w.WriteHeader(we.status)
	// What json.NewEncoder(w).Encode writes of struct{Code, Message string}.
	bp := outputBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"Code":`...)
	b = appendJSONString(b, we.code)
	b = append(b, `,"Message":`...)
	b = appendJSONString(b, msg)
	b = append(b, "}\n"...)
	w.Write(b)
	if cap(b) <= maxPooledOutput {
		*bp = b
		outputBuffers.Put(bp)
	}
}

// serviceUnavailableMessage begins every 503's message.
const serviceUnavailableMessage = "The service is unavailable for a moment; retry later."

// errorTypeKey is x-amzn-ErrorType in canonical form, as Header.Set keys it.
var errorTypeKey = textproto.CanonicalMIMEHeaderKey("x-amzn-ErrorType")

// errorTypeValues holds the x-amzn-ErrorType header's values of each
// wireError's type, shared (net/http never changes them).
var errorTypeValues = func() map[string][]string {
	m := map[string][]string{}
	for _, we := range wireErrors {
		m[we.typ] = []string{we.typ}
	}
	return m
}()
