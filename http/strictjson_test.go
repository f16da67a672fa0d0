package http

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

type strictInner struct {
	Name string `json:"name"`
}

type strictEmbedded struct {
	Extra string `json:"extra,omitempty"`
}

type strictTarget struct {
	strictEmbedded
	Code   string            `json:"code"`
	AppID  string            `json:"appid"`
	Inner  *strictInner      `json:"inner"`
	List   []strictInner     `json:"list"`
	Labels map[string]string `json:"labels"`
	Raw    json.RawMessage   `json:"raw"`
	Plain  string
	Hidden string `json:"-"`
}

func TestStrictKeys(t *testing.T) {
	typ := reflect.TypeFor[strictTarget]()
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{`{"code":"a","appid":"b"}`, true},
		{`{"code":"a","code":"b"}`, false},
		{`{"appid":"wx0","appid":"wx1"}`, false},
		{`{"APPID":"a","Code":"b"}`, false},
		{`{"\u0063ode":"a","code":"b"}`, false}, // an escaped duplicate
		{`{"appi\u212a":"a"}`, true},            // no field matches it at all: the decoder refuses it as unknown
		{`{"\u212aode":"a"}`, true},
		{`{"inner":{"name":"x","Name":"y"}}`, false},
		{`{"inner":{"name":"x","name":"y"}}`, false},
		{`{"list":[{"name":"x"},{"NAME":"y"}]}`, false},
		{`{"labels":{"a":"1","A":"2"}}`, true}, // map keys are data: only exact duplicates are refused
		{`{"labels":{"a":"1","a":"2"}}`, false},
		{`{"raw":{"x":1,"X":2}}`, true},
		{`{"raw":{"x":1,"x":2}}`, false},
		{`{"extra":"e","EXTRA":"f"}`, false},
		{`{"Plain":"p"}`, true},
		{`{"plain":"p"}`, false},
		{`{"code":`, true}, // syntax errors are the decoder's
		{`[{"a":1,"a":2}]`, false},
	} {
		err := strictKeys([]byte(tc.body), typ)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.body, err, tc.ok)
		}
	}
}

// BenchmarkDecodeBody measures the strict key scan against the decode it precedes, on a typical
// login body: the scan should cost about what the decode does, not more.
func BenchmarkDecodeBody(b *testing.B) {
	body := []byte(`{"appid":"wx1234567890abcdef","code":"0a3Xbc0a3Xbc0a3Xbc0a3Xbc","username":"alice","password":"correct horse battery"}`)
	type req struct {
		AppID    string `json:"appid"`
		Code     string `json:"code"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v req
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("strictKeys", func(b *testing.B) {
		b.ReportAllocs()
		t := reflect.TypeFor[req]()
		for b.Loop() {
			if err := strictKeys(body, t); err != nil {
				b.Fatal(err)
			}
		}
	})
}
