// Command files runs the files service alone.
package main

import (
	"context"

	"bureau/services/files"
	"bureau/services/platform/service"
)

func main() {
	service.Main("files", files.EnvPrefix, files.Default(),
		func(c *files.Config) service.Common { return c.Common },
		func(ctx context.Context, c *files.Config, b *service.Base) (service.Runner, error) {
			return files.New(ctx, c, b)
		})
}
