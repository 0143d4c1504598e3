package console

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPreviewCutsAtACharacter(t *testing.T) {
	if got := preview("short"); got != "short" {
		t.Errorf("preview of a short text = %q", got)
	}
	long := strings.Repeat("a", previewBytes-1) + "é and more"
	got := preview(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > previewBytes+len("…") {
		t.Errorf("preview of %d bytes = %q", len(long), got)
	}
	if want := strings.Repeat("a", previewBytes-1) + "…"; got != want {
		t.Errorf("preview cut inside é: %q", got)
	}
}
