package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"nann/serving"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// kind classifies a request failure; it maps to one gRPC code and one HTTP
// status. Only this file turns errors into codes.
type kind int

const (
	kindInternal kind = iota
	kindInvalid
	kindNotFound
	kindOverloaded
	kindUnavailable
	kindDeadline
	kindCanceled
	kindUnimplemented
	kindTooLarge
	kindBadMethod
)

// reqError is an error with a kind.
type reqError struct {
	kind kind
	err  error
}

func (e *reqError) Error() string { return e.err.Error() }
func (e *reqError) Unwrap() error { return e.err }

func errorf(k kind, format string, args ...any) error {
	return &reqError{kind: k, err: fmt.Errorf(format, args...)}
}

func invalidf(format string, args ...any) error { return errorf(kindInvalid, format, args...) }

func notFoundf(format string, args ...any) error { return errorf(kindNotFound, format, args...) }

// errOverloaded is returned when the request queue is full.
var errOverloaded = &reqError{kind: kindOverloaded, err: errors.New("server overloaded: too many requests in flight and queued, retry later")}

// kindOf classifies err, including plain errors from lower layers.
func kindOf(err error) kind {
	var re *reqError
	switch {
	case errors.As(err, &re):
		return re.kind
	case errors.Is(err, serving.ErrInvalidInput):
		return kindInvalid
	case errors.Is(err, context.DeadlineExceeded):
		return kindDeadline
	case errors.Is(err, context.Canceled):
		return kindCanceled
	}
	return kindInternal
}

func (k kind) grpcCode() codes.Code {
	switch k {
	case kindInvalid, kindBadMethod:
		return codes.InvalidArgument
	case kindNotFound:
		return codes.NotFound
	case kindOverloaded, kindTooLarge:
		return codes.ResourceExhausted
	case kindUnavailable:
		return codes.Unavailable
	case kindDeadline:
		return codes.DeadlineExceeded
	case kindCanceled:
		return codes.Canceled
	case kindUnimplemented:
		return codes.Unimplemented
	}
	return codes.Internal
}

func (k kind) httpStatus() int {
	switch k {
	case kindInvalid:
		return http.StatusBadRequest
	case kindNotFound:
		return http.StatusNotFound
	case kindOverloaded:
		return http.StatusTooManyRequests
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge
	case kindBadMethod:
		return http.StatusMethodNotAllowed
	case kindUnavailable:
		return http.StatusServiceUnavailable
	case kindDeadline:
		return http.StatusGatewayTimeout
	case kindCanceled:
		return 499 // client closed request (nginx convention)
	case kindUnimplemented:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// grpcError converts err to a gRPC status error.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(kindOf(err).grpcCode(), err.Error())
}
