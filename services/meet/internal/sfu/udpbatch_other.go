//go:build !linux

package sfu

import "net"

// newBatchConn: writes are gathered on Linux only (sendmmsg).
func newBatchConn(c *net.UDPConn) (net.PacketConn, error) { return c, nil }
