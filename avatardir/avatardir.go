// Package avatardir keeps avatars as files in one directory (wxlogin.AvatarStore), for operators
// who would rather serve them from a disk or a shared volume than from the database. A file is
// named by the avatar's id (hex SHA-256 of its bytes and extension), written to a temporary file
// and renamed, so a reader never sees half an avatar.
package avatardir

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// Dir is an avatar directory.
type Dir struct{ path string }

var _ wxlogin.AvatarStore = (*Dir)(nil)

// Open returns the avatar directory at path, creating it (0700) when missing.
func Open(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("avatardir: empty path")
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	return &Dir{path: path}, nil
}

// validID reports whether id is a file name this package writes: hex digits, ".png" or ".jpg".
func validID(id string) bool {
	name, ok := strings.CutSuffix(id, ".png")
	if !ok {
		if name, ok = strings.CutSuffix(id, ".jpg"); !ok {
			return false
		}
	}
	if name == "" || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func contentType(id string) string {
	if strings.HasSuffix(id, ".jpg") {
		return "image/jpeg"
	}
	return "image/png"
}

// PutAvatar writes a's bytes to the file named a.ID (unchanged when it exists).
// Errors: EINVALID (an id this package cannot name a file by), the file system's.
func (d *Dir) PutAvatar(_ context.Context, a *wxlogin.Avatar) error {
	if a == nil || !validID(a.ID) || contentType(a.ID) != a.ContentType {
		return wxlogin.Errorf(wxlogin.EINVALID, "avatar id must be hex digits with .png or .jpg matching its type")
	}
	final := filepath.Join(d.path, a.ID)
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	tmp, err := os.CreateTemp(d.path, ".upload-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(a.Data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}

// Avatar reads the avatar id. Errors: ENOTFOUND (no such file, or an id no file can have).
func (d *Dir) Avatar(_ context.Context, id string) (*wxlogin.Avatar, error) {
	if !validID(id) {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such avatar")
	}
	path := filepath.Join(d.path, id)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such avatar")
	} else if err != nil {
		return nil, err
	}
	a := &wxlogin.Avatar{ID: id, ContentType: contentType(id), Data: data}
	if fi, err := os.Stat(path); err == nil {
		a.CreatedAt = fi.ModTime().UTC()
	}
	return a, nil
}
