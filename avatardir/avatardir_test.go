package avatardir_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/avatardir"
)

func TestDir(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "avatars")
	d, err := avatardir.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.png"
	a := &wxlogin.Avatar{ID: id, ContentType: "image/png", Data: []byte("png bytes"), CreatedAt: time.Now()}
	if err := d.PutAvatar(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := d.PutAvatar(ctx, &wxlogin.Avatar{ID: id, ContentType: "image/png", Data: []byte("other")}); err != nil {
		t.Fatalf("an id stored again: %v", err)
	}
	got, err := d.Avatar(ctx, id)
	if err != nil || !bytes.Equal(got.Data, a.Data) || got.ContentType != "image/png" {
		t.Fatalf("%v %+v", err, got)
	}
	for _, bad := range []string{"../secret.png", "x.png", "ABCDEF.png", "abc.gif", "abc", ".png", "abc/def.png"} {
		if _, err := d.Avatar(ctx, bad); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			t.Errorf("Avatar(%q): %v", bad, err)
		}
		if err := d.PutAvatar(ctx, &wxlogin.Avatar{ID: bad, ContentType: "image/png"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("PutAvatar(%q): %v", bad, err)
		}
	}
	if _, err := d.Avatar(ctx, "ab.jpg"); wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
		t.Fatalf("unknown: %v", err)
	}
	if err := d.PutAvatar(ctx, &wxlogin.Avatar{ID: "ab.jpg", ContentType: "image/png"}); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
		t.Fatalf("type mismatch: %v", err)
	}
	entries, _ := os.ReadDir(path)
	if len(entries) != 1 {
		t.Fatalf("%d files left (temporary files?)", len(entries))
	}
}
