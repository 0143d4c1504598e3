package caddymodule

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestJSONConfigDurations checks that durations in the JSON config are
// Caddy durations: strings such as "30d" and "45s".
func TestJSONConfigDurations(t *testing.T) {
	raw := `{"usage_ship_interval": "3s",
		"tiers": {"gold": {"tokens_per_query": 100, "rate_per_second": 5, "retention": "30d"}},
		"jwt_issuers": [{"issuer": "https://auth.example.com/", "jwks_file": "jwks.json", "leeway": "45s"}],
		"backups": {"dir": "/backups", "every": "6h", "keep": 3},
		"stripe": {"grace_period": "72h", "interval": "1m"}}`
	var a App
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatal(err)
	}
	if got := mergeTiers(a.Tiers)["gold"]; got.Retention != 30*24*time.Hour || got.Name != "gold" || got.RatePerSecond != 5 {
		t.Errorf("gold tier = %+v", got)
	}
	if got := issuers(a.JWTIssuers); len(got) != 1 || got[0].Leeway != 45*time.Second || got[0].Issuer != "https://auth.example.com/" || got[0].JWKSFile != "jwks.json" {
		t.Errorf("issuers = %+v", got)
	}
	if time.Duration(a.UsageShipInterval) != 3*time.Second || time.Duration(a.Backups.Every) != 6*time.Hour || time.Duration(a.Stripe.GracePeriod) != 72*time.Hour {
		t.Errorf("durations: usage_ship_interval %v, backups.every %v, stripe.grace_period %v", a.UsageShipInterval, a.Backups.Every, a.Stripe.GracePeriod)
	}
}

// TestConfigFieldsDocumented checks that every field of the JSON config
// types has a doc comment.
func TestConfigFieldsDocumented(t *testing.T) {
	configTypes := []string{"App", "StripeConfig", "BackupConfig", "ClusterConfig", "TierConfig", "JWTIssuer"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || !slices.Contains(configTypes, ts.Name.Name) {
				return true
			}
			found++
			for _, field := range ts.Type.(*ast.StructType).Fields.List {
				exported := len(field.Names) > 0 && field.Names[0].IsExported()
				if exported && field.Doc == nil {
					t.Errorf("%s.%s has no doc comment", ts.Name.Name, field.Names[0].Name)
				}
			}
			return false
		})
	}
	if found != len(configTypes) {
		t.Fatalf("found %d of the config types %v", found, configTypes)
	}
}
