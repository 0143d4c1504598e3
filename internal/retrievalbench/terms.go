package retrievalbench

import "strings"

// queryTerms returns the distinct lowercase [A-Za-z0-9_]+ terms of text
// that are not stop words, in order of first appearance.
func queryTerms(text string) []string {
	var terms []string
	seen := make(map[string]bool)
	for i := 0; i < len(text); {
		if !isTermByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isTermByte(text[j]) {
			j++
		}
		t := strings.ToLower(text[i:j])
		i = j
		if isStopWord(t) || seen[t] {
			continue
		}
		seen[t] = true
		terms = append(terms, t)
	}
	return terms
}

func isTermByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// isStopWord reports whether w is on the benchmark's stop list.
func isStopWord(w string) bool {
	switch w {
	case "a", "an", "the", "and", "or", "not", "no", "of", "to", "in", "on", "at", "by", "for", "from",
		"with", "as", "into", "is", "are", "was", "were", "be", "been", "it", "its", "this", "that", "these", "those",
		"if", "then", "than", "there", "but", "will", "can", "may", "which", "when":
		return true
	}
	return false
}
