package contextengine

import (
	"errors"
	"fmt"
)

// Errors returned by the engine; match them with errors.Is.
var (
	ErrInvalidTenantID  = errors.New("invalid tenant id")
	ErrTenantNotFound   = errors.New("tenant not found")
	ErrTenantExists     = errors.New("tenant already exists")
	ErrNotFound         = errors.New("document not found")
	ErrWorkspaceExists  = errors.New("workspace already exists")
	ErrWorkspaceMissing = errors.New("workspace not found")
	ErrInvalidInput     = errors.New("invalid input")
	ErrConflict         = errors.New("conflict")
	ErrDocumentTooLarge = errors.New("document too large")
	ErrClosed           = errors.New("engine closed")
	ErrTenantMoving     = errors.New("tenant is moving to another node")
)

// TooLargeError reports a document over the configured size limit.
type TooLargeError struct {
	Size  int
	Limit int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("document is %d bytes, limit is %d", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrDocumentTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrDocumentTooLarge }

// invalid wraps ErrInvalidInput with a message naming the problem.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}
