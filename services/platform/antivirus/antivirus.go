// Package antivirus scans uploaded content with ClamAV's clamd over TCP,
// streaming it with the zINSTREAM command: nothing is written to disk on
// this side, and clamd needs no access to the services' files.
package antivirus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ErrTooLarge: the stream exceeds clamd's StreamMaxLength; clamd stops
// reading and scans nothing, so the content is not known to be clean.
var ErrTooLarge = errors.New("antivirus: content larger than clamd's StreamMaxLength (raise it in clamd.conf)")

// Result is the verdict on one stream.
type Result struct {
	Infected  bool
	Signature string // e.g. "Eicar-Test-Signature.UNOFFICIAL"; empty when clean
}

// Client talks to one clamd. It is safe for concurrent use: each call has a
// connection of its own, as clamd serves one command per connection.
type Client struct {
	addr    string
	timeout time.Duration
}

// chunkSize is the size of the INSTREAM chunks: large enough to keep the
// per-chunk overhead negligible, far below any sane StreamMaxLength.
const chunkSize = 64 << 10

// New returns a client for clamd at addr (host:port). timeout bounds
// connecting and each wait on clamd — sending a chunk, the verdict after
// the last one — rather than the whole scan, whose length grows with the
// content; a context deadline bounds the whole.
func New(addr string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &Client{addr: addr, timeout: timeout}
}

func (c *Client) dial(ctx context.Context) (net.Conn, func() bool, error) {
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("antivirus: clamd at %s: %w", c.addr, err)
	}
	// Cancelling ctx unblocks any read or write in progress.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	return conn, stop, nil
}

// Ping checks that clamd answers.
func (c *Client) Ping(ctx context.Context) error {
	conn, stop, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer stop()
	conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return c.ioErr(ctx, "ping", err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return c.ioErr(ctx, "ping", err)
	}
	if reply != "PONG" {
		return fmt.Errorf("antivirus: clamd at %s answered PING with %q", c.addr, reply)
	}
	return nil
}

// Scan sends r to clamd and returns its verdict. An error means no
// verdict: the content must then be treated as not scanned.
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	conn, stop, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	defer stop()

	buf := make([]byte, 4+chunkSize)
	copy(buf, "zINSTREAM\x00")
	if err := c.write(ctx, conn, buf[:len("zINSTREAM\x00")]); err != nil {
		return Result{}, c.ioErr(ctx, "scan", err)
	}
	for {
		n, rerr := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if err := c.write(ctx, conn, buf[:4+n]); err != nil {
				// clamd closes the connection when the stream exceeds
				// its limit, after saying so: read why.
				if _, verr := c.verdict(ctx, conn); errors.Is(verr, ErrTooLarge) {
					return Result{}, verr
				}
				return Result{}, c.ioErr(ctx, "scan", err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Result{}, fmt.Errorf("antivirus: reading the content to scan: %w", rerr)
		}
	}
	if err := c.write(ctx, conn, []byte{0, 0, 0, 0}); err != nil { // end of stream
		if _, verr := c.verdict(ctx, conn); errors.Is(verr, ErrTooLarge) {
			return Result{}, verr
		}
		return Result{}, c.ioErr(ctx, "scan", err)
	}
	return c.verdict(ctx, conn)
}

// write sends b. The context is checked first because setting a deadline
// would undo the one its cancellation set.
func (c *Client) write(ctx context.Context, conn net.Conn, b []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := conn.Write(b)
	return err
}

// verdict reads and parses clamd's reply to INSTREAM.
func (c *Client) verdict(ctx context.Context, conn net.Conn) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, c.ioErr(ctx, "scan", err)
	}
	conn.SetReadDeadline(time.Now().Add(c.timeout))
	reply, err := readReply(conn)
	if err != nil {
		return Result{}, c.ioErr(ctx, "scan", err)
	}
	msg, ok := strings.CutPrefix(reply, "stream: ")
	switch {
	case strings.Contains(reply, "size limit exceeded"):
		return Result{}, ErrTooLarge
	case ok && msg == "OK":
		return Result{}, nil
	case ok && strings.HasSuffix(msg, " FOUND"):
		return Result{Infected: true, Signature: strings.TrimSuffix(msg, " FOUND")}, nil
	}
	return Result{}, fmt.Errorf("antivirus: clamd at %s: %s", c.addr, reply)
}

// readReply reads one NUL-terminated reply (the z-commands' framing).
func readReply(conn net.Conn) (string, error) {
	reply, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadBytes(0)
	if err != nil && !(err == io.EOF && len(reply) > 0) {
		return "", err
	}
	return string(bytes.TrimRight(reply, "\x00\n")), nil
}

// ioErr names the cause of a failed exchange: the context, or the I/O.
func (c *Client) ioErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("antivirus: %s: %w", op, ctx.Err())
	}
	return fmt.Errorf("antivirus: %s with clamd at %s: %w", op, c.addr, err)
}
