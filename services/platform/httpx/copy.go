package httpx

import (
	"io"
	"net/http"
)

// copyBufferSize is the buffer large response bodies are copied with.
// Loopback TCP on a virtual machine costs per system call and per wake-up
// more than per byte: with 32 KiB (io.Copy's and httputil.ReverseProxy's
// default) a 1 GiB download is 32 768 reads and as many writes in each
// process it crosses; with 1 MiB the reads return what has arrived, about
// 500 KiB each in `make bench-files`, and the gateway and files service
// spend about a third less CPU per byte.
const copyBufferSize = 1 << 20

// Buffers recycles body copy buffers through a bounded free list: unlike a
// sync.Pool it keeps them across garbage collections, and it holds at most
// 32 MiB when idle. It is an httputil.BufferPool.
var Buffers = bufferPool(make(chan []byte, 32))

type bufferPool chan []byte

// Get returns a buffer of copyBufferSize bytes.
func (p bufferPool) Get() []byte {
	select {
	case b := <-p:
		return b
	default:
		return make([]byte, copyBufferSize)
	}
}

// Put gives b back.
func (p bufferPool) Put(b []byte) {
	select {
	case p <- b:
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
