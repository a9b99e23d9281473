package httpx

import (
	"io"
	"net/http"
	"sync/atomic"
)

// copyBufferSize is the buffer large response bodies are copied with.
// Loopback TCP on a virtual machine costs per system call and per wake-up
// more than per byte: with 32 KiB (io.Copy's and httputil.ReverseProxy's
// default) a 1 GiB download is 32 768 reads and as many writes in each
// process it crosses; with 1 MiB the reads return what has arrived, about
// 500 KiB each in `make bench-files`, and the gateway and files service
// spend about a third less CPU per byte.
const copyBufferSize = 1 << 20

// Buffers recycles body copy buffers. At most 32 large buffers ever
// exist (32 MiB), kept across garbage collections in a free list; when all
// are in use a copy gets an ordinary 32 KiB one instead of a fresh 1 MiB
// that would be garbage once the response is done (the gateway takes one
// for every proxied response, tiny JSON ones included). It is an
// httputil.BufferPool.
var Buffers = newBufferPool(32)

// smallBufferSize is io.Copy's and httputil.ReverseProxy's own size.
const smallBufferSize = 32 << 10

type bufferPool struct {
	free chan []byte
	made atomic.Int32 // large buffers allocated, at most cap(free)
}

func newBufferPool(n int) *bufferPool {
	return &bufferPool{free: make(chan []byte, n)}
}

// Get returns a buffer of copyBufferSize bytes, or of smallBufferSize when
// all the large ones are in use.
func (p *bufferPool) Get() []byte {
	select {
	case b := <-p.free:
		return b
	default:
	}
	if p.made.Add(1) <= int32(cap(p.free)) {
		return make([]byte, copyBufferSize)
	}
	p.made.Add(-1)
	return make([]byte, smallBufferSize)
}

// Put gives b back; small buffers are left to the garbage collector.
func (p *bufferPool) Put(b []byte) {
	if len(b) != copyBufferSize {
		return
	}
	select {
	case p.free <- b:
	default:
	}
}

// CopyBody copies src to the response w with a pooled large buffer.
func CopyBody(w io.Writer, src io.Reader) (int64, error) {
	buf := Buffers.Get()
	defer Buffers.Put(buf)
	// writerOnly: w's own ReadFrom (net/http's) would copy with 32 KiB.
	return io.CopyBuffer(writerOnly{w}, src, buf)
}

type writerOnly struct{ io.Writer }

var _ io.ReaderFrom = (*statusWriter)(nil)
var _ http.Flusher = (*statusWriter)(nil)
