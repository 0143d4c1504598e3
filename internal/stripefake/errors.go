package stripefake

import (
	"fmt"
	"net/http"
)

// Stripe error types.
const (
	typeAPI            = "api_error"
	typeIdempotency    = "idempotency_error"
	typeInvalidRequest = "invalid_request_error"
)

// apiError is a Stripe error, answered as {"error": {...}}.
type apiError struct {
	status  int
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	// validation marks errors found before the endpoint ran, which
	// Stripe does not save for idempotent replay.
	validation bool
	noRetry    bool
}

// reply encodes the error as an answer.
func (e *apiError) reply() reply {
	body := mustJSON(struct {
		Error *apiError `json:"error"`
	}{e})
	return reply{status: e.status, body: body, noRetry: e.noRetry}
}

// invalidParam is a 400 for a parameter that failed validation.
func invalidParam(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest, Param: param,
		Message: fmt.Sprintf(format, args...), validation: true}
}

// missingParam is a 400 for a required parameter left out.
func missingParam(param string) *apiError {
	e := invalidParam(param, "Missing required param: %s.", param)
	e.Code = "parameter_missing"
	return e
}

// noSuch is a resource_missing error for the object of the given kind and id,
// named by param; status is 404 for the object of the URL, 400 for others.
func noSuch(status int, kind, id, param string) *apiError {
	return &apiError{status: status, Type: typeInvalidRequest, Code: "resource_missing", Param: param,
		Message: fmt.Sprintf("No such %s: '%s'", kind, id)}
}

// refused is a 400 for a request that the current state forbids.
func refused(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeInvalidRequest,
		Message: fmt.Sprintf(format, args...)}
}

// idempotencyMismatch refuses a key reused with other parameters.
func idempotencyMismatch(key string) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: typeIdempotency, validation: true,
		Message: fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key)}
}

// injectedFailure is the answer to a request failed by FailNext.
func injectedFailure(status int) *apiError {
	e := &apiError{status: status, Type: typeInvalidRequest, validation: true,
		Message: fmt.Sprintf("stripefake: injected failure (%d %s)", status, http.StatusText(status))}
	switch {
	case status >= 500:
		e.Type = typeAPI
	case status == http.StatusTooManyRequests:
		e.Code = "rate_limit"
	}
	return e
}
