package contextengine

import "fmt"

// ValidateTenantID reports whether id may name a tenant: 1 to 63 lowercase
// letters, digits and hyphens, starting and ending with a letter or digit
// (so a canonical lowercase UUID is valid). Only a valid id is ever joined
// into a file path.
func ValidateTenantID(id string) error {
	if !isSlug(id, 63, false) {
		return fmt.Errorf("%w: %q: use 1-63 lowercase letters, digits or '-', not starting or ending with '-'", ErrInvalidTenantID, id)
	}
	return nil
}

// ValidateWorkspace reports whether name may name a workspace: 1 to 64
// letters, digits, '-', '_' or '.', starting with a letter or digit.
func ValidateWorkspace(name string) error {
	if !isSlug(name, 64, true) {
		return invalid("workspace %q: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", name)
	}
	return nil
}

func isSlug(s string, max int, loose bool) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || loose && c >= 'A' && c <= 'Z'
		switch {
		case alnum:
		case i == 0:
			return false
		case c == '-':
			if !loose && i == len(s)-1 {
				return false
			}
		case loose && (c == '_' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// validateDocumentID reports whether a client-chosen document id is usable:
// 1 to 128 printable ASCII characters without spaces, and not "." or ".."
// (a URL path cleans those away, so the document could never be read or
// deleted).
func validateDocumentID(id string) error {
	if len(id) == 0 || len(id) > 128 {
		return invalid("document id must be 1-128 characters")
	}
	if id == "." || id == ".." {
		return invalid("document id %q is reserved: a URL cannot name it", id)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return invalid("document id %q: only printable ASCII without spaces", id)
		}
	}
	return nil
}
