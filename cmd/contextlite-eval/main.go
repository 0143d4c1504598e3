// Command contextlite-eval scores the context engine on a judged retrieval
// set against a plain FTS5 baseline computed in the same run:
//
//	go run ./cmd/contextlite-eval -set ../shared/bench/godoc
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/contextlite/cloud/contextengine/tokencount"
	"github.com/contextlite/cloud/internal/retrievalbench"
)

func main() {
	setDir := flag.String("set", "../shared/bench/godoc", "directory with corpus.jsonl.gz and queries.jsonl")
	limit := flag.Int("queries", 0, "score only the first N queries (0: all)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the query phase to this file")
	flag.Parse()
	if err := run(*setDir, *limit, *profile); err != nil {
		log.Fatal(err)
	}
}

func run(setDir string, limit int, profile string) error {
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
	rep, err := retrievalbench.Run(context.Background(), set, dir, tokens, profile)
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	fmt.Println()
	return nil
}
