package retrievalbench

import "testing"

func TestParseAblations(t *testing.T) {
	all, err := ParseAblations("all")
	if err != nil || len(all) != len(AblationNames()) {
		t.Fatalf("all: %d ablations, %v", len(all), err)
	}
	got, err := ParseAblations("no-merge, pool-75")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "contextlite (no merge)" || !got[0].Tuning.NoMerge ||
		got[1].Name != "contextlite (pool 75)" || got[1].Tuning.CandidatePool != 75 {
		t.Fatalf("ParseAblations = %+v", got)
	}
	for _, bad := range []string{"no-such", "pool-0", "pool-x"} {
		if _, err := ParseAblations(bad); err == nil {
			t.Errorf("ParseAblations(%q) succeeded", bad)
		}
	}
	if none, err := ParseAblations(""); none != nil || err != nil {
		t.Fatalf(`ParseAblations("") = %v, %v`, none, err)
	}
}
