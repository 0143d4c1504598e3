package contextengine

import (
	"encoding/json"
	"fmt"
)

// Bounds of a document's metadata and language.
const (
	MaxMetadataBytes  = 16 << 10 // metadata as JSON
	MaxMetadataDepth  = 8        // nested objects and arrays, the metadata object included
	MaxLanguageLength = 64
)

// ErrInvalidMetadata is returned for metadata past MaxMetadataBytes or
// MaxMetadataDepth; it is also ErrInvalidInput.
var ErrInvalidMetadata = fmt.Errorf("%w: metadata", ErrInvalidInput)

// encodeMetadata returns metadata as stored, JSON, checking its bounds.
func encodeMetadata(metadata map[string]any) (string, error) {
	data, err := json.Marshal(metadata)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidMetadata, err)
	}
	if len(data) > MaxMetadataBytes {
		return "", fmt.Errorf("%w is %d bytes as JSON; the limit is %d", ErrInvalidMetadata, len(data), MaxMetadataBytes)
	}
	if d := jsonDepth(data); d > MaxMetadataDepth {
		return "", fmt.Errorf("%w nests %d levels deep; the limit is %d", ErrInvalidMetadata, d, MaxMetadataDepth)
	}
	return string(data), nil
}

// jsonDepth returns how deeply objects and arrays nest in valid JSON.
func jsonDepth(data []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// validateLanguage reports whether a document's language is usable: empty,
// or 1 to MaxLanguageLength printable ASCII characters without spaces.
func validateLanguage(lang string) error {
	if len(lang) > MaxLanguageLength {
		return invalid("language must be at most %d characters", MaxLanguageLength)
	}
	for i := 0; i < len(lang); i++ {
		if lang[i] <= ' ' || lang[i] > '~' {
			return invalid("language %q: only printable ASCII without spaces", lang)
		}
	}
	return nil
}
