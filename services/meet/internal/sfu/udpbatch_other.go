//go:build !linux

package sfu

import (
	"net"
	"net/netip"
)

// batchConn: writes are gathered on Linux only (sendmmsg); elsewhere
// the socket is written directly.
type batchConn struct{ *net.UDPConn }

func newBatchConn(c *net.UDPConn) (*batchConn, error) { return &batchConn{c}, nil }

func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

func (c *batchConn) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(p, to)
}

func (c *batchConn) hold()    {}
func (c *batchConn) release() {}
