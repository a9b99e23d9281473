package sfu

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchConn is the UDP mux's socket with its writes gathered into
// sendmmsg system calls. A forwarded packet goes to every subscriber at
// once: one sendto per subscriber was the SFU's largest single cost (a
// quarter to a third of its CPU). A write copies the packet into the
// batch being filled and returns. The batch is sent
//
//   - by the forwarding loop itself at the end of a fan-out (hold /
//     release around it): no hand-over to another goroutine;
//   - by the writer that finds it full;
//   - otherwise (writes outside a fan-out: RTCP, retransmissions, ICE,
//     DTLS) by a goroutine woken at once: no timer, no added delay.
//
// sendMu orders the sends (batches leave in the order they filled).
// Errors of individual datagrams are not reported (UDP is best effort;
// pion ignores them as well). IPv4 only; anything else is written
// directly.
type batchConn struct {
	*net.UDPConn
	raw syscall.RawConn

	mu      sync.Mutex
	filling *udpBatch
	closed  bool
	held    atomic.Int32 // fan-outs in progress: they send what they wrote
	wake    chan struct{}
	done    chan struct{}

	sendMu sync.Mutex
	// Owned by the holder of sendMu: the batch to fill next, and the
	// call in progress (writeFn is made once, not a closure per call).
	spare   *udpBatch
	cur     *udpBatch
	off     int
	sent    int
	errno   syscall.Errno
	writeFn func(fd uintptr) bool
}

// batchMax datagrams per sendmmsg.
const batchMax = 64

type udpBatch struct {
	n    int
	lens [batchMax]int
	to   [batchMax]netip.AddrPort
	buf  [batchMax * ringMTU]byte
	// sendmmsg's arguments, filled by the sender
	hdrs  [batchMax]unix.Mmsghdr
	iovs  [batchMax]unix.Iovec
	names [batchMax]unix.RawSockaddrInet4
}

func newBatchConn(c *net.UDPConn) (*batchConn, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &batchConn{UDPConn: c, raw: raw, filling: &udpBatch{}, spare: &udpBatch{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.writeFn = b.sendmmsg
	go b.sendLoop()
	return b, nil
}

// ReadFromAddrPort and WriteToAddrPort make pion's UDP mux use the
// allocation-free path (ice.AddrPortReaderWriter).
func (c *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(p)
}

func (c *batchConn) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	if len(p) > ringMTU || !to.Addr().Unmap().Is4() {
		return c.UDPConn.WriteToUDPAddrPort(p, to)
	}
	c.mu.Lock()
	for c.filling.n == batchMax && !c.closed {
		c.mu.Unlock()
		c.flush()
		c.mu.Lock()
	}
	if c.closed {
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	b := c.filling
	i := b.n
	copy(b.buf[i*ringMTU:], p)
	b.lens[i], b.to[i] = len(p), to
	b.n++
	c.mu.Unlock()
	if c.held.Load() == 0 {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// hold marks a fan-out starting: its writes wait for its release, which
// sends them (with whatever else was written meanwhile). nil-safe.
func (c *batchConn) hold() {
	if c != nil {
		c.held.Add(1)
	}
}

func (c *batchConn) release() {
	if c != nil {
		c.held.Add(-1)
		c.flush()
	}
}

// flush sends what was written so far.
func (c *batchConn) flush() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	b := c.filling
	if b.n == 0 || c.closed {
		c.mu.Unlock()
		return
	}
	c.filling, c.spare = c.spare, nil
	c.mu.Unlock()
	c.send(b)
	b.n = 0
	c.spare = b
}

func (c *batchConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	c.mu.Unlock()
	return c.UDPConn.Close()
}

func (c *batchConn) sendLoop() {
	for {
		select {
		case <-c.wake:
			c.flush()
		case <-c.done:
			return
		}
	}
}

// send writes a batch with as few sendmmsg calls as the kernel allows; a
// datagram the kernel refuses (unreachable…) is dropped.
func (c *batchConn) send(b *udpBatch) {
	for i := range b.n {
		a := b.to[i].Addr().Unmap().As4()
		port := b.to[i].Port()
		b.names[i] = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a}
		p := (*[2]byte)(unsafe.Pointer(&b.names[i].Port))
		p[0], p[1] = byte(port>>8), byte(port)
		b.iovs[i] = unix.Iovec{Base: &b.buf[i*ringMTU]}
		b.iovs[i].SetLen(b.lens[i])
		h := &b.hdrs[i].Hdr
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&b.names[i])), Namelen: unix.SizeofSockaddrInet4, Iov: &b.iovs[i]}
		h.SetIovlen(1)
	}
	c.cur = b
	for c.off = 0; c.off < b.n; {
		if err := c.raw.Write(c.writeFn); err != nil {
			return // closed
		}
		if c.errno != 0 || c.sent <= 0 {
			c.off++
			continue
		}
		c.off += c.sent
	}
}

func (c *batchConn) sendmmsg(fd uintptr) bool {
	b := c.cur
	r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[c.off])), uintptr(b.n-c.off), 0, 0, 0)
	if e == unix.EAGAIN {
		return false // wait until writable
	}
	c.sent, c.errno = int(r), e
	return true
}
