package contextengine

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestMetadataBounds(t *testing.T) {
	tn := newTestTenant(t)
	ctx := context.Background()
	// levels of objects and arrays, with brackets in strings, which do not nest
	nest := func(levels int) map[string]any {
		m := map[string]any{"leaf": []any{`{[ "\"{[` + strings.Repeat("{", 20)}}
		for range levels - 2 {
			m = map[string]any{"n": m}
		}
		return m
	}
	for _, tc := range []struct {
		name string
		meta map[string]any
		ok   bool
	}{
		{"at the depth limit", nest(MaxMetadataDepth), true},
		{"past the depth limit", nest(MaxMetadataDepth + 1), false},
		{"at the size limit", map[string]any{"p": strings.Repeat("x", MaxMetadataBytes-len(`{"p":""}`))}, true},
		{"past the size limit", map[string]any{"p": strings.Repeat("x", MaxMetadataBytes)}, false},
	} {
		_, err := tn.Add(ctx, NewDocument{Path: "m.md", Content: "x", Metadata: tc.meta})
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrInvalidMetadata) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	for _, id := range []string{".", ".."} {
		if _, err := tn.Add(ctx, NewDocument{ID: id, Content: "x"}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("id %q: %v", id, err)
		}
	}
	if _, err := tn.Add(ctx, NewDocument{Path: "l.md", Content: "x", Language: "go lang"}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("language with a space: %v", err)
	}
}
