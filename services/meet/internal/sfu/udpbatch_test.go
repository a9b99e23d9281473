package sfu

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"
)

// Writes from concurrent writers all arrive, intact and in each writer's
// order, whether they were gathered into one sendmmsg or sent alone, within a
// fan-out (hold/release) or not; a
// closed connection refuses writes.
func TestBatchConn(t *testing.T) {
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	_ = recv.SetReadBuffer(4 << 20)
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := newBatchConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	w := pc
	to := recv.LocalAddr().(*net.UDPAddr).AddrPort()
	const writers, each = 4, 300
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			p := make([]byte, 40)
			for i := range each {
				binary.BigEndian.PutUint32(p[0:], uint32(g))
				binary.BigEndian.PutUint32(p[4:], uint32(i))
				if _, err := w.WriteToAddrPort(p[:8+g*10], to); err != nil {
					t.Error(err)
					return
				}
				switch {
				case i%50 == 0:
					time.Sleep(time.Millisecond) // lone packets too
				case i%20 == 0:
					pc.hold() // a fan-out of 10 packets
				case i%20 == 10:
					pc.release()
				}
			}
		})
	}
	next := make([]int, writers)
	buf := make([]byte, 1500)
	_ = recv.SetReadDeadline(time.Now().Add(10 * time.Second))
	for got := 0; got < writers*each; got++ {
		n, err := recv.Read(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", got, err)
		}
		g, i := int(binary.BigEndian.Uint32(buf)), int(binary.BigEndian.Uint32(buf[4:]))
		if g >= writers || n != 8+g*10 || i != next[g] {
			t.Fatalf("packet %d of writer %d (%d bytes), want %d", i, g, n, next[g])
		}
		next[g]++
	}
	wg.Wait()
	pc.Close()
	if _, err := w.WriteToAddrPort([]byte{1}, to); err == nil {
		t.Fatal("write after close")
	}
}
