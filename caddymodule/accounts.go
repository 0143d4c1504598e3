package caddymodule

import (
	"context"
	"time"
)

// DeleteTenant deletes a tenant and forgets its cached keys.
func (a accounts) DeleteTenant(ctx context.Context, id string) (time.Time, error) {
	defer a.keys.Forget(id)
	return a.Service.DeleteTenant(ctx, id)
}
