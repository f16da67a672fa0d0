package http

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
)

// pathParam returns the path value name of r when it can be an id (1 to 128 printable ASCII
// characters, no space), so that NUL bytes, invalid UTF-8 and megabyte ids never reach a store.
// Errors: EINVALID.
func pathParam(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if v == "" || len(v) > 128 {
		return "", wxlogin.Errorf(wxlogin.EINVALID, "%s in the path must be 1 to 128 characters", name)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return "", wxlogin.Errorf(wxlogin.EINVALID, "%s in the path must be printable ASCII without spaces", name)
		}
	}
	return v, nil
}

// cleanHeaderText returns s (a header value such as User-Agent, stored with sessions and audit
// events) as valid UTF-8 without control characters: PostgreSQL refuses text with NUL or invalid
// UTF-8, and a bad User-Agent must not fail a login.
func cleanHeaderText(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
