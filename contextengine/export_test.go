package contextengine

import (
	"context"
	"fmt"
	"maps"
	"testing"
)

func TestExportStreamsEveryDocument(t *testing.T) {
	tn := newTestTenant(t)
	want := map[string]string{}
	for i := range exportBatch + 5 {
		doc := NewDocument{Path: fmt.Sprintf("f%03d.go", i), Content: fmt.Sprintf("package f\n// %d\n", i)}
		mustAdd(t, tn, doc)
		want[doc.Path] = doc.Content
	}
	got := map[string]string{}
	err := tn.Export(context.Background(), func(d *Document) error {
		got[d.Path] = d.Content
		return nil
	})
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("exported %d documents (%v), want %d", len(got), err, len(want))
	}
}
