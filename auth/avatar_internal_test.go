package auth

import (
	"bytes"
	"encoding/base64"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/wxlogin/wxlogin"
)

// cleanAvatar's rules on crafted inputs: what is accepted comes out re-encoded (WebP and PNG as
// PNG, JPEG as JPEG), scaled down and without metadata; everything else is EINVALID.
func TestCleanAvatar(t *testing.T) {
	webpLossless, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	webpLossy, _ := base64.StdEncoding.DecodeString("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA")
	img := image.NewNRGBA(image.Rect(0, 0, 1000, 10))
	for x := 0; x < 1000; x++ {
		img.Set(x, 5, color.NRGBA{255, 0, 0, 255})
	}
	var pn, jp bytes.Buffer
	png.Encode(&pn, img)
	jpeg.Encode(&jp, img, nil)
	withText := append(append(append([]byte{}, pn.Bytes()[:33]...), pngChunk("tEXt", []byte("Author\x00Someone Private"))...), pn.Bytes()[33:]...)

	for _, c := range []struct {
		name   string
		data   []byte
		wantCT string
		w, h   int
	}{
		{"lossless webp", webpLossless, "image/png", 1, 1},
		{"lossy webp", webpLossy, "image/png", 1, 1},
		{"png, scaled to 512", pn.Bytes(), "image/png", 512, 5},
		{"jpeg, scaled to 512", jp.Bytes(), "image/jpeg", 512, 5},
		{"png with a text chunk", withText, "image/png", 512, 5},
	} {
		out, ct, err := cleanAvatar(c.data)
		if err != nil || ct != c.wantCT {
			t.Errorf("%s: %v %s", c.name, err, ct)
			continue
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(out))
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Errorf("%s: %v %dx%d", c.name, err, cfg.Width, cfg.Height)
		}
		if bytes.Contains(out, []byte("Someone Private")) || bytes.Contains(out, []byte("tEXt")) {
			t.Errorf("%s: metadata survived", c.name)
		}
	}

	badRIFF := append([]byte{}, webpLossless...)
	badRIFF[4]++ // the RIFF size no longer matches the file
	bomb := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", []byte{0, 0, 0x40, 0, 0, 0, 0x40, 0, 8, 6, 0, 0, 0})...)
	bomb = append(append(bomb, pngChunk("IDAT", []byte{0x78, 0x9c, 3, 0, 0, 0, 0, 1})...), pngChunk("IEND", nil)...)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"png with a zip after it", append(append([]byte{}, pn.Bytes()...), "PK\x03\x04"...)},
		{"jpeg with html after it", append(append([]byte{}, jp.Bytes()...), "<html>"...)},
		{"webp with a wrong RIFF size", badRIFF},
		{"webp with bytes after it", append(append([]byte{}, webpLossless...), 0, 0)},
		{"png with a script chunk", append(append(append([]byte{}, pn.Bytes()[:33]...), pngChunk("tEXt", []byte("c\x00<SCRIPT>x</script>"))...), pn.Bytes()[33:]...)},
		{"16384x16384 png (bomb)", bomb},
		{"truncated png", append(append([]byte{}, pn.Bytes()[:60]...), pn.Bytes()[len(pn.Bytes())-12:]...)},
		{"jpeg magic only", []byte("\xff\xd8\xff\xe0garbage\xff\xd9")},
	} {
		if _, _, err := cleanAvatar(c.data); wxlogin.ErrorCode(err) != wxlogin.EINVALID {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if !validAvatarID(hex64("a")+".png") || validAvatarID(hex64("A")+".png") || validAvatarID(hex64("a")+".gif") || validAvatarID("../x.png") {
		t.Error("validAvatarID")
	}
}

func hex64(c string) string { return string(bytes.Repeat([]byte(c), 64)) }

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	n := len(data)
	b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.ChecksumIEEE(append([]byte(typ), data...))
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}
