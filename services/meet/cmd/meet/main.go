// Command meet runs the meet service alone.
package main

import (
	"context"

	"bureau/services/meet"
	"bureau/services/platform/service"
)

func main() {
	service.Main("meet", meet.EnvPrefix, meet.Default(),
		func(c *meet.Config) service.Common { return c.Common },
		func(ctx context.Context, c *meet.Config, b *service.Base) (service.Runner, error) {
			return meet.New(ctx, c, b)
		})
}
