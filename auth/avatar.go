package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/jpeg"
	"image/png"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/wxlogin/wxlogin"
)

// Avatars. `<button open-type="chooseAvatar">` hands the mini program a temporary local path;
// wx.uploadFile sends that file here. What is kept is never the upload itself: it is sniffed (PNG,
// JPEG or WebP by their magic bytes, whatever the client claims), its dimensions are read before
// any pixel is decoded (a decompression bomb is refused there), it is checked to be nothing but
// the image (no bytes after its end, no markup inside: a polyglot is refused), decoded, scaled to
// at most AvatarSide pixels a side, and re-encoded — PNG stays PNG and WebP becomes PNG (both
// lossless), JPEG stays JPEG (quality 90) — which drops every metadata chunk (EXIF, GPS, ICC,
// comments). The result is stored under the hex SHA-256 of its bytes, so its URL never changes
// meaning and may be cached for ever.

// Avatar limits.
const (
	DefaultAvatarMaxBytes = 1 << 20 // the largest upload accepted by default
	AvatarSide            = 512     // the largest side of a stored avatar, pixels
	maxAvatarPixels       = 4096 * 4096
	maxAvatarSide         = 8192
)

var errAvatar = wxlogin.Errorf(wxlogin.EINVALID, "the avatar must be a PNG, JPEG or WebP image of at most 4096x4096 pixels and nothing else")

// cleanAvatar returns the re-encoded image of data and its content type. Errors: EINVALID (not
// one of the types, too many pixels, trailing or embedded non-image content, undecodable).
func cleanAvatar(data []byte) ([]byte, string, error) {
	kind := sniffAvatar(data)
	if kind == "" || !onlyTheImage(kind, data) || hasMarkup(data) {
		return nil, "", errAvatar
	}
	var (
		cfg image.Config
		err error
	)
	switch kind {
	case "webp":
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	case "png":
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	default:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide ||
		cfg.Width*cfg.Height > maxAvatarPixels {
		return nil, "", errAvatar
	}
	var img image.Image
	switch kind {
	case "webp":
		img, err = webp.Decode(bytes.NewReader(data))
	case "png":
		img, err = png.Decode(bytes.NewReader(data))
	default:
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, "", errAvatar
	}
	img = fitAvatar(img)
	var out bytes.Buffer
	if kind == "jpeg" {
		if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, "", errAvatar
		}
		return out.Bytes(), "image/jpeg", nil
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		return nil, "", errAvatar
	}
	return out.Bytes(), "image/png", nil
}

// sniffAvatar returns "png", "jpeg" or "webp" by data's magic bytes, "" for anything else.
func sniffAvatar(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "jpeg"
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// onlyTheImage reports whether data ends where its image format says it ends: a PNG with its
// IEND chunk, a JPEG with its EOI marker, a WebP whose RIFF size is the file's. A file that
// carries something after the image (a ZIP, a script) is a polyglot.
func onlyTheImage(kind string, data []byte) bool {
	switch kind {
	case "png":
		return bytes.HasSuffix(data, []byte("\x00\x00\x00\x00IEND\xaeB`\x82"))
	case "jpeg":
		return bytes.HasSuffix(data, []byte("\xff\xd9"))
	default:
		return len(data) >= 12 && int64(binary.LittleEndian.Uint32(data[4:8]))+8 == int64(len(data))
	}
}

// hasMarkup reports whether data holds text a browser or an interpreter would run if the file
// were taken for something else (HTML, SVG, script, PHP): a polyglot hidden in a metadata chunk.
func hasMarkup(data []byte) bool {
	lower := bytes.ToLower(data)
	for _, m := range []string{"<script", "<html", "<svg", "<?php", "<!doctype", "<iframe", "javascript:"} {
		if bytes.Contains(lower, []byte(m)) {
			return true
		}
	}
	return false
}

// fitAvatar returns img scaled down to at most AvatarSide pixels a side (img itself, copied to
// drop any oddity of its decoder's type, when already small enough).
func fitAvatar(img image.Image) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > AvatarSide || h > AvatarSide {
		if w >= h {
			w, h = AvatarSide, max(1, h*AvatarSide/w)
		} else {
			w, h = max(1, w*AvatarSide/h), AvatarSide
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	} else {
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	}
	return dst
}

// validAvatarID reports whether id can name a stored avatar: 64 hex digits, ".png" or ".jpg".
func validAvatarID(id string) bool {
	name, ok := strings.CutSuffix(id, ".png")
	if !ok {
		if name, ok = strings.CutSuffix(id, ".jpg"); !ok {
			return false
		}
	}
	if len(name) != 64 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

// SetAvatar cleans the uploaded image data (see above), stores it and sets the principal's
// avatar_url to baseURL + "/v1/avatars/" + its id. Audited as profile.avatar.
// Errors: ETOOLARGE (over the limit), EINVALID (not an accepted image, a bomb or a polyglot).
func (i *Identities) SetAvatar(ctx context.Context, p *Principal, data []byte, baseURL string, meta Meta) (*Profile, error) {
	if int64(len(data)) > i.avatarMax {
		return nil, wxlogin.Errorf(wxlogin.ETOOLARGE, "the avatar is larger than %d bytes", i.avatarMax)
	}
	clean, ct, err := cleanAvatar(data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(clean)
	id := hex.EncodeToString(sum[:]) + ".png"
	if ct == "image/jpeg" {
		id = hex.EncodeToString(sum[:]) + ".jpg"
	}
	now := i.now()
	if err := i.avatars.PutAvatar(ctx, &wxlogin.Avatar{ID: id, ContentType: ct, Data: clean, CreatedAt: now}); err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(baseURL, "/") + "/v1/avatars/" + id
	check := url // the base is avatar_base_url or the request's own host: plain http only in development
	if rest, ok := strings.CutPrefix(url, "http://"); ok {
		check = "https://" + rest
	}
	if err := validAvatarURL(check); err != nil {
		return nil, err
	}
	err = i.store.Update(ctx, func(tx wxlogin.Tx) error {
		u, err := tx.User(ctx, p.UserID)
		if err != nil {
			return err
		}
		u.AvatarURL, u.UpdatedAt = url, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		e := principalOrigin(p, meta).event("profile.avatar", p.UserID, detail("avatar", id, "content_type", ct))
		e.Time = now
		return tx.AddAuditEvent(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return i.Me(ctx, p)
}

// Avatar returns the stored avatar id. Errors: ENOTFOUND (malformed or unknown id).
func (i *Identities) Avatar(ctx context.Context, id string) (*wxlogin.Avatar, error) {
	if !validAvatarID(id) {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such avatar")
	}
	return i.avatars.Avatar(ctx, id)
}

// AvatarMaxBytes returns the largest avatar upload accepted.
func (i *Identities) AvatarMaxBytes() int64 { return i.avatarMax }

// newIdentities returns the Identities concern of cfg over c.
func newIdentities(c *core, cfg Config) *Identities {
	i := &Identities{core: c, avatars: cfg.Avatars, avatarMax: cfg.AvatarMaxBytes}
	if i.avatars == nil {
		i.avatars = c.store
	}
	if i.avatarMax <= 0 {
		i.avatarMax = DefaultAvatarMaxBytes
	}
	return i
}
