package wxlogin

import (
	"net/url"
	"unicode"
	"unicode/utf8"
)

// The text rules of issue 14 (item 5). Names that identify someone are checked against a small
// ASCII alphabet before any case mapping, so nothing outside it can fold into another name
// ("\u212aevin", with the Kelvin sign, lowercases to "kevin"). Display text may be any printable
// Unicode except control and format characters (bidi overrides, zero-width characters): they are
// refused, not stripped, so what is stored is what the user sent. URLs shown to others are
// https only, ASCII only and free of anything that could break out of an HTML attribute.

// ValidUsername reports whether u, as sent (before any case mapping), holds only the username
// alphabet: ASCII letters (either case), digits, '_', '.', '-', starting with a letter or digit.
// Lengths are the caller's rule.
func ValidUsername(u string) bool {
	if u == "" {
		return false
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '_' || c == '.' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// ValidDisplayText reports whether s is valid UTF-8 without control characters (Unicode Cc) and
// without format characters (Unicode Cf: bidi overrides and isolates, zero-width space and
// joiners, the byte-order mark, tag characters, …). One exception keeps emoji sequences such as
// 👨‍👩‍👧 working: ZERO WIDTH JOINER (U+200D) after a symbol (Unicode So, or its skin tone or
// U+FE0F) and before a symbol.
func ValidDisplayText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	prev := rune(-1)
	for i, r := range s {
		switch {
		case unicode.IsControl(r):
			return false
		case r == '\u200d':
			next, size := utf8.DecodeRuneInString(s[i+len("\u200d"):])
			emojiEnd := unicode.Is(unicode.So, prev) || unicode.Is(unicode.Sk, prev) || prev == '\ufe0f' // a symbol, a skin tone, an emoji presentation selector
			if size == 0 || !emojiEnd || !unicode.Is(unicode.So, next) {
				return false
			}
		case unicode.Is(unicode.Cf, r):
			return false
		}
		prev = r
	}
	return true
}

// ValidURL reports whether u is an absolute https URL with a host, written in printable ASCII
// without spaces, quotes (" ' `), angle brackets or backslashes; control and format characters
// are thereby refused too, as is user information before the host. Lengths are the caller's rule.
func ValidURL(u string) bool {
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>' || c == '\\' {
			return false
		}
	}
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "https" && p.Host != "" && p.Hostname() != "" && p.User == nil && p.Opaque == ""
}
