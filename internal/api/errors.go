package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

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
	we := wireErrors[kind]
	w.Header().Set("x-amzn-ErrorType", we.typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(we.status)
	json.NewEncoder(w).Encode(struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	}{we.code, msg})
}
