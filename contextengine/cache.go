package contextengine

import (
	"container/list"
	"strconv"
	"strings"
	"sync"
)

// resultCache is a byte-bounded LRU of assembled results, shared by the
// open tenants of a Manager. Keys include the tenant's write generation, so
// a write makes every older entry unreachable; those age out of the LRU.
type resultCache struct {
	mu    sync.Mutex
	max   int
	size  int
	ll    list.List // of *cacheEntry, most recent first
	items map[string]*list.Element
}

type cacheEntry struct {
	key  string
	res  *Result
	size int
}

func newResultCache(maxBytes int) *resultCache {
	return &resultCache{max: maxBytes, items: make(map[string]*list.Element)}
}

// tenantCache is one open tenant database's view of the shared result
// cache. Its prefix is unique to that open database, so entries of a
// closed or deleted tenant never reach one re-created with the same id.
type tenantCache struct {
	c      *resultCache
	prefix string
}

func (tc tenantCache) get(key string) *Result { return tc.c.get(tc.prefix + key) }

func (tc tenantCache) put(key string, res *Result) { tc.c.put(tc.prefix+key, res) }

// cacheKey returns the key of req at write generation gen, within a tenant.
func cacheKey(req Request, gen uint64) string {
	return strings.Join([]string{strconv.FormatUint(gen, 10), strconv.Itoa(req.MaxTokens),
		strconv.Itoa(req.MaxDocuments), req.Workspace, req.Query}, "\x00")
}

// get returns a copy of the cached result for key, or nil.
func (c *resultCache) get(key string) *Result {
	c.mu.Lock()
	el, ok := c.items[key]
	if !ok {
		c.mu.Unlock()
		return nil
	}
	c.ll.MoveToFront(el)
	res := el.Value.(*cacheEntry).res
	c.mu.Unlock()
	return copyResult(res) // cached results are never changed, so copy unlocked
}

// copyResult returns a copy of res that shares nothing mutable with it.
func copyResult(res *Result) *Result {
	out := *res
	out.Items = append([]Item(nil), res.Items...)
	out.Terms = append([]string(nil), res.Terms...)
	return &out
}

func (c *resultCache) put(key string, res *Result) {
	size := len(key) + 256
	for _, it := range res.Items {
		size += len(it.Content) + len(it.Path) + len(it.InclusionReason) + 128
	}
	if size > c.max/4 {
		return // one result may not crowd out the rest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, res: copyResult(res), size: size})
	c.size += size
	for c.size > c.max {
		el := c.ll.Back()
		e := el.Value.(*cacheEntry)
		c.ll.Remove(el)
		delete(c.items, e.key)
		c.size -= e.size
	}
}
