// Package chime holds Belfry's domain: entities, ARNs, callers and the error
// type every layer uses. It does no I/O.
package chime

import (
	"errors"
	"fmt"
)

// Kind classifies an error the client should see. Only the api package knows
// how a Kind is written on the wire.
type Kind int

// The error kinds, one per AWS exception Belfry answers with.
const (
	KindInternal Kind = iota // ServiceFailureException, message hidden from the client
	KindBadRequest
	KindUnauthorized
	KindForbidden
	KindNotFound
	KindConflict
	KindResourceLimitExceeded
	KindThrottled
	KindServiceUnavailable
	KindNotImplemented
	KindUnknownOperation

	// The generic AWS authentication errors (SEMANTICS.md §8): they come
	// from the AWS front end, not from the Chime models.
	KindMissingAuthenticationToken // no signature at all
	KindIncompleteSignature        // a signature with a part missing or malformed
	KindUnrecognizedClient         // an unknown access key id or session token
	KindInvalidSignature           // a signature that does not match, or is expired
)

// Error is an error meant for the client: its Message is sent as is.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of err, KindInternal when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Messages AWS is known to send (SEMANTICS.md §8), kept in one place.
const (
	MsgInvalidBearer = "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header."
	MsgInvalidMember = "An invalid app instance user ARN was supplied for the input parameter."
)
