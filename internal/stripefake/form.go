package stripefake

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Stripe's metadata limits.
const (
	maxMetadataKeys     = 50
	maxMetadataKeyLen   = 40
	maxMetadataValueLen = 500
)

// nested returns the parameters written prefix[name], keyed by name:
// nested(form, "metadata") maps metadata[tenant_id]=t1 to tenant_id: t1.
func nested(form url.Values, prefix string) map[string]string {
	out := make(map[string]string)
	for k, vs := range form {
		rest, ok := strings.CutPrefix(k, prefix+"[")
		name, ok2 := strings.CutSuffix(rest, "]")
		if ok && ok2 && len(vs) > 0 {
			out[name] = vs[0]
		}
	}
	return out
}

// indexed returns the objects written prefix[i][field], in index order:
// indexed(form, "items") maps items[0][price]=p to [{price: [p]}].
func indexed(form url.Values, prefix string) []url.Values {
	byIndex := make(map[int]url.Values)
	for k, vs := range form {
		rest, ok := strings.CutPrefix(k, prefix+"[")
		index, field, ok2 := strings.Cut(rest, "][")
		field, ok3 := strings.CutSuffix(field, "]")
		i, err := strconv.Atoi(index)
		if !ok || !ok2 || !ok3 || err != nil {
			continue
		}
		if byIndex[i] == nil {
			byIndex[i] = make(url.Values)
		}
		byIndex[i][field] = vs
	}
	out := make([]url.Values, 0, len(byIndex))
	for _, i := range slices.Sorted(maps.Keys(byIndex)) {
		out = append(out, byIndex[i])
	}
	return out
}

// formBool parses the boolean parameter name, reporting whether it was set.
func formBool(form url.Values, name string) (value, set bool, err *apiError) {
	if !form.Has(name) {
		return false, false, nil
	}
	switch form.Get(name) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, invalidParam(name, "Invalid boolean: %s", form.Get(name))
}

// formInt parses the integer parameter name, or returns def if it is unset.
func formInt(form url.Values, name string, def int64) (int64, *apiError) {
	if !form.Has(name) {
		return def, nil
	}
	n, err := strconv.ParseInt(form.Get(name), 10, 64)
	if err != nil {
		return 0, invalidParam(name, "Invalid integer: %s", form.Get(name))
	}
	return n, nil
}

// checkEnum fails if the parameter name is set to none of the allowed values.
func checkEnum(form url.Values, name string, allowed ...string) *apiError {
	if v := form.Get(name); form.Has(name) && !slices.Contains(allowed, v) {
		return invalidParam(name, "Invalid %s: must be one of %s", name, strings.Join(allowed, ", "))
	}
	return nil
}

// updateMetadata returns md updated by the metadata parameters, as Stripe
// does: metadata[k]=v sets k, metadata[k]= unsets it, metadata= clears all.
func updateMetadata(md map[string]string, form url.Values) (map[string]string, *apiError) {
	out := maps.Clone(md)
	if out == nil || form.Has("metadata") && form.Get("metadata") == "" {
		out = make(map[string]string)
	}
	for k, v := range nested(form, "metadata") {
		if v == "" {
			delete(out, k)
			continue
		}
		if utf8.RuneCountInString(k) > maxMetadataKeyLen || utf8.RuneCountInString(v) > maxMetadataValueLen {
			return nil, invalidParam("metadata["+k+"]", "Metadata keys can be at most %d characters and values at most %d characters.", maxMetadataKeyLen, maxMetadataValueLen)
		}
		out[k] = v
	}
	if len(out) > maxMetadataKeys {
		return nil, invalidParam("metadata", "Metadata can have at most %d keys.", maxMetadataKeys)
	}
	return out, nil
}
