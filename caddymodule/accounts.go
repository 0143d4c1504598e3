package caddymodule

import (
	"context"
	"time"
)

// DeleteTenant deletes a tenant and forgets what is cached of it.
func (a accounts) DeleteTenant(ctx context.Context, id string) (time.Time, error) {
	defer a.forget(id)
	return a.Service.DeleteTenant(ctx, id)
}
