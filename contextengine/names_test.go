package contextengine

import (
	"errors"
	"testing"
)

func TestValidateTenantID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"acme", true},
		{"a", true},
		{"acme-corp-2", true},
		{"0b5c1f5e-8a3d-4f5e-9d7b-2c1e6a4b3f21", true},
		{"", false},
		{"-acme", false},
		{"acme-", false},
		{"Acme", false},
		{"acme_corp", false},
		{"..", false},
		{"../etc", false},
		{"a/b", false},
		{"acme.com", false},
		{"acme\x00", false},
		{"0B5C1F5E-8A3D-4F5E-9D7B-2C1E6A4B3F21", false},
		{string(make([]byte, 64)), false},
		{"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc", true},
		{"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd", false},
	}
	for _, tt := range tests {
		err := ValidateTenantID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateTenantID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidTenantID) {
			t.Errorf("ValidateTenantID(%q) error %v is not ErrInvalidTenantID", tt.id, err)
		}
	}
}

func TestValidateWorkspace(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"Backend_v2.1-x", true},
		{"", false},
		{".hidden", false},
		{"a b", false},
		{"a/b", false},
	}
	for _, tt := range tests {
		if err := ValidateWorkspace(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateWorkspace(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
