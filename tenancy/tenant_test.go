package tenancy

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/contextlite/cloud/contextengine"
)

func TestNewTenantID(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := NewTenantID()
		if !uuid4.MatchString(id) {
			t.Fatalf("NewTenantID() = %q, not a UUID v4", id)
		}
		if err := contextengine.ValidateTenantID(id); err != nil {
			t.Fatalf("the engine refuses %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewTenantID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestSlugify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Acme", "acme"},
		{"Acme Corp.", "acme-corp"},
		{"  --Hello,   World!!  ", "hello-world"},
		{"Joe's Pizza", "joes-pizza"},
		{"Joe’s Pizza", "joes-pizza"},
		{"AT&T", "at-t"},
		{"123 Go", "123-go"},
		{"snake_case_co", "snake-case-co"},
		{"Café Ñandú", "caf-and"},
		{"日本語", ""},
		{"X", "x"},
		{"", ""},
		{strings.Repeat("a", 50), strings.Repeat("a", 40)},
		// Cut at 40 right after a separator: no trailing '-'.
		{strings.Repeat("a", 39) + " b", strings.Repeat("a", 39)},
		{strings.Repeat("ab ", 20), strings.Repeat("ab-", 13) + "a"},
	}
	for _, tt := range tests {
		got := Slugify(tt.in)
		if got != tt.want {
			t.Errorf("Slugify(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) >= 3 && ValidateSlug(got) != nil && !errors.Is(ValidateSlug(got), ErrReservedSlug) {
			t.Errorf("Slugify(%q) = %q fails ValidateSlug: %v", tt.in, got, ValidateSlug(got))
		}
	}
}

func TestValidateSlug(t *testing.T) {
	tests := []struct {
		slug string
		want error
	}{
		{"acme", nil},
		{"abc", nil},
		{"acme-corp-2", nil},
		{"123", nil},
		{strings.Repeat("a", 40), nil},
		{"ab", ErrInvalidSlug},
		{"", ErrInvalidSlug},
		{strings.Repeat("a", 41), ErrInvalidSlug},
		{"Acme", ErrInvalidSlug},
		{"-acme", ErrInvalidSlug},
		{"acme-", ErrInvalidSlug},
		{"xn--acme", ErrInvalidSlug},
		{"acme_corp", ErrInvalidSlug},
		{"acme.corp", ErrInvalidSlug},
		{"acmé", ErrInvalidSlug},
		{"www", ErrReservedSlug},
		{"api", ErrReservedSlug},
		{"admin", ErrReservedSlug},
		{"webhooks", ErrReservedSlug},
		{"admin-2", nil},
		{"3f2504e0-4f89-41d3-9a0c-0305e82c3301", ErrInvalidSlug},
		{"3f2504e04f8941d39a0c0305e82c3301", ErrInvalidSlug},
		{"3f2504e0-4f89-41d3-9a0c-0305e82c330g", nil},
		{"3f2504e0-4f89-41d3-9a0c-0305e82c33", nil},
	}
	for _, tt := range tests {
		err := ValidateSlug(tt.slug)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("ValidateSlug(%q) = %v, want %v", tt.slug, err, tt.want)
		}
	}
}
