package api

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// Option configures a Server.
type Option func(*Server)

// WithSessionEndpoint sets what GetMessagingSessionEndpoint answers: f
// receives the Host the client addressed and returns the bare host:port of
// the messaging session listener (SEMANTICS.md §10). Without it the answer
// is the Host itself: /connect is served where the API is.
func WithSessionEndpoint(f func(requestHost string) string) Option {
	return func(s *Server) { s.sessionEndpoint = f }
}

// requestHostKey keys the request's Host in the context of an operation
// routed withHost (ServeHTTP sets it for those only).
type requestHostKey struct{}

type getMessagingSessionEndpointIn struct {
	NetworkType string
}

// getMessagingSessionEndpoint returns a bare host:port, no scheme and no
// path: amazon-chime-sdk-js builds wss://<Url>/connect from it.
func (s *Server) getMessagingSessionEndpoint(ctx context.Context, c chime.Caller, in *getMessagingSessionEndpointIn) (any, error) {
	host, _ := ctx.Value(requestHostKey{}).(string)
	if s.sessionEndpoint != nil {
		host = s.sessionEndpoint(host)
	}
	return map[string]any{"Endpoint": map[string]string{"Url": host}}, nil
}

// PresignSkew is the clock skew allowed on either side of a presigned URL's
// validity window.
const PresignSkew = 5 * time.Minute

// CheckPresignWindow checks the validity window of a request presigned in
// its query, as amazon-chime-sdk-js signs the messaging session URL
// (X-Amz-Date=yyyymmddTHHMMSSZ, X-Amz-Expires=seconds): it is valid from
// X-Amz-Date to X-Amz-Date + X-Amz-Expires, widened by PresignSkew on both
// sides. A query without X-Amz-Date and X-Amz-Expires is not presigned and
// passes. Errors: Forbidden.
func CheckPresignWindow(q url.Values, now time.Time) error {
	date, expires := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires")
	if date == "" && expires == "" {
		return nil
	}
	signed, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return chime.Errorf(chime.KindForbidden, "X-Amz-Date %q is not a yyyymmddTHHMMSSZ timestamp.", date)
	}
	secs, err := strconv.Atoi(expires)
	if err != nil || secs < 1 || secs > 604800 {
		return chime.Errorf(chime.KindForbidden, "X-Amz-Expires %q must be a number of seconds from 1 to 604800.", expires)
	}
	if now.Before(signed.Add(-PresignSkew)) {
		return chime.Errorf(chime.KindForbidden, "Request is not yet valid: X-Amz-Date %s is in the future.", date)
	}
	if now.After(signed.Add(time.Duration(secs)*time.Second + PresignSkew)) {
		return chime.Errorf(chime.KindForbidden, "Request has expired: X-Amz-Date %s plus X-Amz-Expires %d seconds has passed.", date, secs)
	}
	return nil
}
