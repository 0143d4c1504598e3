// Command contextlite-eval scores the context engine on judged retrieval
// sets against two baselines computed in the same run: SQLite FTS5 and
// Bleve, both over windows of about 2,000 bytes. With -ablations it adds
// one row per switched-off part of assembly.
//
//	go run ./cmd/contextlite-eval -ablations all
//	go run ./cmd/contextlite-eval -set testdata/bench/godoc,path/to/heldback
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/contextlite/cloud/contextengine/tokencount"
	"github.com/contextlite/cloud/internal/retrievalbench"
)

func main() {
	sets := flag.String("set", "testdata/bench/godoc", "comma-separated directories, each with corpus.jsonl.gz and queries.jsonl")
	limit := flag.Int("queries", 0, "score only the first N queries of each set (0: all)")
	ablations := flag.String("ablations", "", "engine ablations as extra rows: all, or a comma list of "+strings.Join(retrievalbench.AblationNames(), ", ")+" (pool-N takes any N)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the engine's query phase to this file")
	flag.Parse()
	abl, err := retrievalbench.ParseAblations(*ablations)
	if err != nil {
		log.Fatal(err)
	}
	for _, dir := range strings.Split(*sets, ",") {
		if err := run(strings.TrimSpace(dir), *limit, abl, *profile); err != nil {
			log.Fatalf("%s: %v", dir, err)
		}
	}
}

func run(setDir string, limit int, ablations []retrievalbench.Ablation, profile string) error {
	set, err := retrievalbench.Load(setDir)
	if err != nil {
		return err
	}
	if limit > 0 && limit < len(set.Queries) {
		set.Queries = set.Queries[:limit]
	}
	tokens, err := tokencount.New()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "contextlite-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rep, err := retrievalbench.Run(context.Background(), set, retrievalbench.Options{
		Dir:       dir,
		Tokens:    tokens,
		Ablations: ablations,
		Profile:   profile,
		Progress:  os.Stderr,
	})
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	fmt.Println()
	return nil
}
