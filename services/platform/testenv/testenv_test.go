package testenv_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"bureau/services/platform/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	dsn := pg.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRowContext(ctx(t), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(dsn, "/"+name+"?sslmode=disable") {
		t.Fatalf("connected to %q through %q", name, dsn)
	}
}

func TestSharedPostgresIsolates(t *testing.T) {
	t.Parallel()
	pg := testenv.SharedPostgres(t)
	if testenv.SharedPostgres(t) != pg {
		t.Fatal("SharedPostgres started a second server")
	}
	a, b := pg.NewDatabase(t), pg.NewDatabase(t)
	if a == b {
		t.Fatalf("NewDatabase returned %q twice", a)
	}
	dbA, _ := sql.Open("pgx", a)
	defer dbA.Close()
	dbB, _ := sql.Open("pgx", b)
	defer dbB.Close()
	if _, err := dbA.ExecContext(ctx(t), "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := dbB.ExecContext(ctx(t), "SELECT * FROM only_in_a"); err == nil {
		t.Fatal("a table of one database is visible in another")
	}
}

func TestMinIO(t *testing.T) {
	t.Parallel()
	m := testenv.SharedMinIO(t)
	bucket := m.NewBucket(t)
	data := make([]byte, 1<<20)
	rand.Read(data)
	if _, err := m.Client.PutObject(ctx(t), bucket, "a/b", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := m.Client.GetObject(ctx(t), bucket, "a/b", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("object read back differs")
	}
}

func TestStartMinIO(t *testing.T) {
	t.Parallel()
	m := testenv.StartMinIO(t)
	if _, err := m.Client.ListBuckets(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestClamAVFindsEICAR(t *testing.T) {
	t.Parallel()
	av := testenv.StartClamAV(t)
	conn, err := net.Dial("tcp", av.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// zINSTREAM: length-prefixed chunks, then a zero length.
	var msg bytes.Buffer
	msg.WriteString("zINSTREAM\x00")
	binary.Write(&msg, binary.BigEndian, uint32(len(testenv.EICAR)))
	msg.WriteString(testenv.EICAR)
	binary.Write(&msg, binary.BigEndian, uint32(0))
	if _, err := conn.Write(msg.Bytes()); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(bytes.TrimRight(reply, "\x00")); got != "stream: Eicar-Test-Signature.UNOFFICIAL FOUND" {
		t.Fatalf("clamd answered %q", got)
	}
}

func TestCoturnAnswersSTUN(t *testing.T) {
	t.Parallel()
	turn := testenv.StartCoturn(t)
	conn, err := net.Dial("udp", turn.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A STUN Binding request (RFC 8489): type, length 0, magic cookie, id.
	req := make([]byte, 20)
	binary.BigEndian.PutUint16(req[0:], 0x0001)
	binary.BigEndian.PutUint32(req[4:], 0x2112A442)
	rand.Read(req[8:])
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 1500)
	n, err := conn.Read(resp)
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 || binary.BigEndian.Uint16(resp) != 0x0101 || !bytes.Equal(resp[8:20], req[8:20]) {
		t.Fatalf("not a Binding success response: % x", resp[:n])
	}
	// TCP too: the meet service hands out turn:…?transport=tcp.
	c, err := net.Dial("tcp", turn.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
