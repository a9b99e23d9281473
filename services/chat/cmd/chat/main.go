// Command chat runs the chat service alone.
package main

import (
	"context"

	"bureau/services/chat"
	"bureau/services/platform/service"
)

func main() {
	service.Main("chat", chat.EnvPrefix, chat.Default(),
		func(c *chat.Config) service.Common { return c.Common },
		func(ctx context.Context, c *chat.Config, b *service.Base) (service.Runner, error) {
			return chat.New(ctx, c, b)
		})
}
