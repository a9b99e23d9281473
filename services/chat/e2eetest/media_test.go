//go:build goolm

package e2eetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/attachment"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"bureau/services/chat"
	"bureau/services/platform/testenv"
)

// TestEncryptedAttachment: Alice encrypts a file as Element does
// (AES-CTR, EncryptedFile), uploads the ciphertext through mautrix's
// client, sends an encrypted m.file; Bob decrypts the event, downloads by
// authenticated media and decrypts the same bytes. The antivirus (real
// clamd) passes the upload first; an EICAR upload is refused to Bob.
func TestEncryptedAttachment(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clam := testenv.StartClamAV(t)
	base, signer := server(t, func(c *chat.Config) { c.Media.ClamAV.Address = clam.Addr })
	alice, bob, room := directChat(t, ctx, base, signer)

	plain := bytes.Repeat([]byte("Note de service confidentielle. "), 2000)
	file := attachment.NewEncryptedFile()
	cipher := file.Encrypt(plain)
	up, err := alice.cli.UploadMedia(ctx, mautrix.ReqUploadMedia{ContentBytes: cipher, ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	alice.sendContent(ctx, room, []id.UserID{alice.cli.UserID, bob.cli.UserID}, &event.MessageEventContent{
		MsgType: event.MsgFile, Body: "note.txt",
		Info: &event.FileInfo{MimeType: "text/plain", Size: len(plain)},
		File: &event.EncryptedFileInfo{EncryptedFile: *file, URL: up.ContentURI.CUString()},
	})

	msg := bob.decryptedMessage(ctx, room)
	if msg.MsgType != event.MsgFile || msg.File == nil {
		t.Fatalf("bob got %+v", msg)
	}
	uri, err := msg.File.URL.Parse()
	if err != nil {
		t.Fatal(err)
	}
	data, err := bob.cli.DownloadBytes(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	got, err := msg.File.Decrypt(data)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypted attachment: %d bytes, %v", len(got), err)
	}

	virus, err := alice.cli.UploadBytes(ctx, []byte(testenv.EICAR), "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	_, err = bob.cli.DownloadBytes(ctx, virus.ContentURI)
	var he mautrix.HTTPError
	if !errors.As(err, &he) || he.RespError == nil || he.RespError.ErrCode != "MCS_MEDIA_NOT_CLEAN" {
		t.Fatalf("EICAR download: %v", err)
	}
}
