package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// queryInt returns the integer query parameter name, def when it is absent.
// A present value must be an integer from 1 to max.
func queryInt(q url.Values, name string, def, max int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, &Error{http.StatusUnprocessableEntity, "invalid_request",
			fmt.Sprintf("%s must be an integer from 1 to %d", name, max)}
	}
	return n, nil
}
