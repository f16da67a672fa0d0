package wxlogin

import "testing"

func TestValidUsername(t *testing.T) {
	for u, want := range map[string]bool{
		"kevin": true, "Kevin": true, "a.b-c_d": true, "007": true,
		"\u212aevin": false, // KELVIN SIGN: lowercases to "kevin"
		"ſam":        false, // LATIN SMALL LETTER LONG S: folds to "s"
		"K\u0130":    false, // DOTTED CAPITAL I: lowercases to "i" + a combining dot
		"ｋevin":      false, // fullwidth
		"":           false, ".abc": false, "-abc": false, "_abc": false, "a b": false, "ab@c": false, "名字": false, "a\x00b": false,
	} {
		if got := ValidUsername(u); got != want {
			t.Errorf("ValidUsername(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestValidDisplayText(t *testing.T) {
	for s, want := range map[string]bool{
		"小明": true, "Alice B.": true, "": true, "café": true, "👍🏽": true, "❤️": true,
		"👨\u200d👩\u200d👧":       true,  // a family emoji: ZWJ between symbols
		"👨\u200d❤\ufe0f\u200d👨": true,  // a couple: ZWJ after an emoji presentation selector
		"👩🏽\u200d💻":             true,  // a skin tone before the ZWJ
		"admin\u202egnp.exe":    false, // RIGHT-TO-LEFT OVERRIDE
		"ad\u200bmin":           false, // ZERO WIDTH SPACE
		"ad\u200dmin":           false, // ZWJ between letters
		"\u200d👍":               false,
		"👍\u200d":               false,
		"a\u2066b\u2069":        false, // isolates
		"\ufeffname":            false, // BOM
		"a\u00adb":              false, // SOFT HYPHEN
		"flag\U000E0041":        false, // a tag character
		"a\nb":                  false,
		"a\x7fb":                false,
		"a\u0085b":              false, // C1 control
		"\xff":                  false,
	} {
		if got := ValidDisplayText(s); got != want {
			t.Errorf("ValidDisplayText(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidURL(t *testing.T) {
	for u, want := range map[string]bool{
		"https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132": true,
		"https://x.example/a.png?size=1&v=2#f":          true,
		"https://x.example:8443/a%20b.png":              true,
		"http://x.example/a.png":                        false,
		"https://x.example/a.png\" onerror=\"alert(1)":  false,
		"https://x.example/a.png' onerror='alert(1)":    false,
		"https://ex\u202eample.com/":                    false,
		"https://ex\u200bample.com/":                    false,
		"https://x.example/a b.png":                     false,
		"https://x.example/<script>":                    false,
		"https://x.example/a\\b":                        false,
		"https://x.example/\x00":                        false,
		"https:///nohost":                               false,
		"https://:443/":                                 false,
		"https://user:pw@x.example/":                    false,
		"javascript:alert(1)":                           false,
		"//x.example/a.png":                             false,
		"":                                              false,
		"https://例え.jp/":                                false, // non-ASCII: send it punycoded
		"https://xn--r8jz45g.jp/":                       true,
		"HTTPS://X.EXAMPLE/":                            true,
		"https://x.example/`x`":                         false,
		"https://x.example/%22onerror%3D%22alert(1)%22": true, // percent-encoded: inert
	} {
		if got := ValidURL(u); got != want {
			t.Errorf("ValidURL(%q) = %v, want %v", u, got, want)
		}
	}
}
