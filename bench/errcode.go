package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"nann/serving"

	"google.golang.org/grpc/status"
)

// HTTPError is a non-200 answer from a REST server.
type HTTPError struct {
	Status int
	Msg    string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}

// BadResponseError is an answer that could not be understood (missing or
// malformed top_k, undecodable body).
type BadResponseError struct{ Msg string }

func (e *BadResponseError) Error() string { return "bad response: " + e.Msg }

// Error codes that are not gRPC codes or HTTP statuses.
const (
	CodeBadResponse = "BadResponse"
	// CodeDropped counts open-loop requests dropped because the client's
	// queue was full; they were never sent.
	CodeDropped = "Dropped"
)

// ErrorCode classifies a request error for the report: a gRPC code name
// ("ResourceExhausted"), "HTTP 429" for REST answers, "BadResponse", or
// "Unknown".
func ErrorCode(err error) string {
	var he *HTTPError
	var br *BadResponseError
	switch {
	case err == nil:
		return "OK"
	case errors.As(err, &he):
		return fmt.Sprintf("HTTP %d", he.Status)
	case errors.As(err, &br):
		return CodeBadResponse
	case errors.Is(err, context.DeadlineExceeded):
		return "DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	case errors.Is(err, serving.ErrInvalidInput):
		return "InvalidArgument"
	}
	if st, ok := status.FromError(err); ok {
		return st.Code().String()
	}
	return "Unknown"
}
