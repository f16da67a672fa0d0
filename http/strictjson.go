package http

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/wxlogin/wxlogin"
)

// strictKeys returns an EINVALID error when an object in body repeats a key, or has a key that
// names a field of the target type t only by case. encoding/json would take the last duplicate
// and match keys case-insensitively (Unicode folding included: "\u212a" matches "k"), so
// {"code":"x","code":"VALID"} and {"APPID":...} would be accepted and mean something other than
// what a reader, a proxy or the rate limiter sees. Syntax errors are left to the decoder (nil).
func strictKeys(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return strictValue(dec, t)
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// strictValue walks one JSON value of dec whose target is t (nil: unknown, no field names known).
func strictValue(dec *json.Decoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return nil // the decoder reports it
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && (reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		t = nil // decodes itself: field names unknown, duplicates still refused
	}
	switch d {
	case '{':
		var fields map[string]reflect.Type
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = structFields(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := make(map[string]struct{}, 8)
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			k, _ := kt.(string)
			if _, dup := seen[k]; dup {
				return wxlogin.Errorf(wxlogin.EINVALID, "field %q appears twice", k)
			}
			seen[k] = struct{}{}
			next := elem
			if fields != nil {
				ft, exact := fields[k]
				if !exact {
					for name := range fields {
						if strings.EqualFold(name, k) {
							return wxlogin.Errorf(wxlogin.EINVALID, "unknown field %q (field names are case-sensitive: %q)", k, name)
						}
					}
				}
				next = ft
			}
			if err := strictValue(dec, next); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // '}'
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := strictValue(dec, elem); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // ']'
	}
	return nil
}

// fieldCache maps a struct type to its JSON field names and their types (a pure function of the
// type, like encoding/json's own cache).
var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// structFields returns the JSON names of t's fields (embedded structs flattened) with their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	addStructFields(t, out, 0)
	fieldCache.Store(t, out)
	return out
}

func addStructFields(t reflect.Type, out map[string]reflect.Type, depth int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && depth < 8 {
				addStructFields(et, out, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := out[name]; !taken {
			out[name] = ft
		}
	}
}
