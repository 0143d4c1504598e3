package retrievalbench

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/contextlite/cloud/contextengine"
)

// Ablation is an engine run with some parts of assembly switched off.
type Ablation struct {
	Name   string // row label, e.g. "contextlite (no merge)"
	Tuning contextengine.Tuning
}

// AblationNames lists the ablations "all" selects, in table order.
// "pool-N", "docshare-N", "declshare-N" and "topshare-N" with any N > 0
// are accepted too.
func AblationNames() []string {
	return []string{"naive-packing", "no-merge", "no-expand", "no-doc-score", "no-top", "pool-50", "pool-300"}
}

// ParseAblations parses a comma-separated list of ablation names, or
// "all". An empty list selects none.
func ParseAblations(list string) ([]Ablation, error) {
	var names []string
	switch list = strings.TrimSpace(list); list {
	case "", "none":
		return nil, nil
	case "all":
		names = AblationNames()
	default:
		names = strings.Split(list, ",")
	}
	var out []Ablation
	for _, name := range names {
		a, err := parseAblation(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func parseAblation(name string) (Ablation, error) {
	var t contextengine.Tuning
	switch name {
	case "naive-packing":
		t.NaivePacking = true
	case "no-merge":
		t.NoMerge = true
	case "no-expand":
		t.NoExpand = true
	case "no-doc-score":
		t.NoDocScore = true
	case "no-top":
		t.NoTop = true
	default:
		if n, ok := intParam(name, "docshare-"); ok {
			t.DocShare = n
			return Ablation{Name: fmt.Sprintf("contextlite (doc share 1/%d)", n), Tuning: t}, nil
		}
		if n, ok := intParam(name, "topshare-"); ok {
			t.TopShare = n
			return Ablation{Name: fmt.Sprintf("contextlite (best hit grows within 1/%d)", n), Tuning: t}, nil
		}
		if n, ok := intParam(name, "declshare-"); ok {
			t.DeclShare = n
			return Ablation{Name: fmt.Sprintf("contextlite (declaration share 1/%d)", n), Tuning: t}, nil
		}
		n, err := strconv.Atoi(strings.TrimPrefix(name, "pool-"))
		if !strings.HasPrefix(name, "pool-") || err != nil || n <= 0 {
			return Ablation{}, fmt.Errorf("unknown ablation %q (want all, pool-N, docshare-N, declshare-N, topshare-N or one of %s)", name, strings.Join(AblationNames()[:6], ", "))
		}
		t.CandidatePool = n
		return Ablation{Name: fmt.Sprintf("contextlite (pool %d)", n), Tuning: t}, nil
	}
	return Ablation{Name: "contextlite (" + strings.ReplaceAll(name, "-", " ") + ")", Tuning: t}, nil
}

// intParam parses name as prefix followed by a positive integer.
func intParam(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n > 0
}
