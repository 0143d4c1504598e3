package api

import (
	"net/http"
	"testing"

	"github.com/contextlite/cloud/contextengine/tokencount"
)

type assembleJSON struct {
	Query     string `json:"query"`
	Documents []struct {
		ID              string  `json:"document_id"`
		Path            string  `json:"path"`
		Workspace       string  `json:"workspace"`
		Content         string  `json:"content"`
		StartLine       int     `json:"start_line"`
		EndLine         int     `json:"end_line"`
		Tokens          int     `json:"tokens"`
		RelevanceScore  float64 `json:"relevance_score"`
		RecencyScore    float64 `json:"recency_score"`
		UtilityScore    float64 `json:"utility_score"`
		InclusionReason string  `json:"inclusion_reason"`
	} `json:"documents"`
	TotalDocuments int  `json:"total_documents"`
	TotalTokens    int  `json:"total_tokens"`
	MaxTokens      int  `json:"max_tokens"`
	CacheHit       bool `json:"cache_hit"`
	Timings        struct {
		TotalSeconds float64 `json:"total_seconds"`
	} `json:"timings"`
	Clamped *struct {
		MaxTokens struct {
			Requested int `json:"requested"`
			Applied   int `json:"applied"`
		} `json:"max_tokens"`
	} `json:"clamped"`
}

func TestAssemble(t *testing.T) {
	h := newHandler(t, "acme")
	docs := map[string]string{
		"src/tokenizer.go": goSource("tokenize", 40),
		"src/router.go":    goSource("route", 40),
	}
	ids := map[string]string{}
	for path, content := range docs {
		added := decode[addedJSON](t, do(t, h, caller("acme", "write"), "POST", "/api/v1/documents", map[string]any{"path": path, "content": content}), http.StatusCreated)
		ids[added.ID] = path
	}
	counter, err := tokencount.New()
	if err != nil {
		t.Fatal(err)
	}
	tier := &Principal{TenantID: "acme", Scopes: []string{"read"}, TokensPerQuery: 1000}
	unlimited := caller("acme", "read")

	tests := []struct {
		name        string
		p           *Principal
		body        map[string]any
		wantMax     int
		wantClamped bool
		wantCached  bool
	}{
		{"clamped to tier", tier, map[string]any{"query": "tokenize rule", "max_tokens": 5000}, 1000, true, false},
		{"clamped again from cache", tier, map[string]any{"query": "tokenize rule", "max_tokens": 5000}, 1000, true, true},
		{"cache bypassed", tier, map[string]any{"query": "tokenize rule", "max_tokens": 5000, "use_cache": false}, 1000, true, false},
		{"within tier", tier, map[string]any{"query": "tokenize rule", "max_tokens": 600}, 600, false, false},
		{"at tier", tier, map[string]any{"query": "tokenize rule", "max_tokens": 1000, "use_cache": true}, 1000, false, true},
		{"default under tier", tier, map[string]any{"query": "tokenize rule applies"}, 1000, false, false},
		{"default without tier", unlimited, map[string]any{"query": "tokenize rule applies"}, 4000, false, false},
		{"no tier limit", unlimited, map[string]any{"query": "tokenize rule", "max_tokens": 5000, "max_documents": 2}, 5000, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, tc.p, "POST", "/api/v1/context/assemble", tc.body)
			raw := decode[map[string]any](t, rec, http.StatusOK)
			keys := []string{"object", "query", "documents", "total_documents", "total_tokens", "max_tokens", "cache_hit", "timings"}
			if tc.wantClamped {
				keys = append(keys, "clamped")
			}
			if warning := rec.Header().Get("Warning"); warning != "" {
				t.Errorf("obsolete Warning header %q", warning)
			}
			wantKeys(t, "assemble", raw, keys...)
			wantKeys(t, "timings", raw["timings"].(map[string]any), "search_seconds", "select_seconds", "total_seconds")

			res := decode[assembleJSON](t, rec, http.StatusOK)
			if tc.wantClamped && (res.Clamped.MaxTokens.Requested != 5000 || res.Clamped.MaxTokens.Applied != 1000) {
				t.Errorf("clamped = %+v", res.Clamped.MaxTokens)
			}
			if res.Query != tc.body["query"] || res.MaxTokens != tc.wantMax || res.CacheHit != tc.wantCached {
				t.Errorf("query %q, max_tokens %d, cache_hit %v; want %v, %d, %v", res.Query, res.MaxTokens, res.CacheHit, tc.body["query"], tc.wantMax, tc.wantCached)
			}
			if len(res.Documents) == 0 || res.TotalDocuments != len(res.Documents) {
				t.Fatalf("%d documents, total_documents %d", len(res.Documents), res.TotalDocuments)
			}
			if n, ok := tc.body["max_documents"].(int); ok && len(res.Documents) > n {
				t.Errorf("%d documents, max_documents %d", len(res.Documents), n)
			}
			sum := 0
			for i, d := range res.Documents {
				sum += d.Tokens
				path, ok := ids[d.ID]
				if !ok || d.Path != path || d.Workspace != "default" {
					t.Errorf("document %d: id %q path %q workspace %q", i, d.ID, d.Path, d.Workspace)
				}
				wantLines(t, docs[d.Path], d.StartLine, d.EndLine, d.Content)
				if n := counter.Count(d.Content); d.Tokens != n {
					t.Errorf("document %d: tokens %d, content has %d", i, d.Tokens, n)
				}
				if d.RelevanceScore <= 0 || d.RecencyScore <= 0 || d.UtilityScore <= 0 || d.InclusionReason == "" {
					t.Errorf("document %d: scores %v %v %v, reason %q", i, d.RelevanceScore, d.RecencyScore, d.UtilityScore, d.InclusionReason)
				}
			}
			if res.TotalTokens != sum || sum > res.MaxTokens {
				t.Errorf("total_tokens %d, sum of documents %d, max_tokens %d", res.TotalTokens, sum, res.MaxTokens)
			}
		})
	}
}

func TestTokenBudget(t *testing.T) {
	tests := []struct {
		requested, limit, want int
		clamped                bool
	}{
		{0, 0, 4000, false},
		{0, 1000, 1000, false},
		{0, 8000, 4000, false},
		{500, 0, 500, false},
		{500, 1000, 500, false},
		{1000, 1000, 1000, false},
		{1001, 1000, 1000, true},
		{-5, 1000, -5, false}, // left for the engine to refuse
	}
	for _, tc := range tests {
		got, clamped := tokenBudget(tc.requested, tc.limit)
		if got != tc.want || clamped != tc.clamped {
			t.Errorf("tokenBudget(%d, %d) = %d, %v; want %d, %v", tc.requested, tc.limit, got, clamped, tc.want, tc.clamped)
		}
	}
}
