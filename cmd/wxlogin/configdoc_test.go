package main

import (
	"bytes"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/config.md from the Config struct tags")

const configDocPath = "../../docs/config.md"

// TestConfigDoc fails when docs/config.md is not what the Config struct tags generate, so a new
// setting cannot go undocumented. Regenerate: go test ./cmd/wxlogin -run TestConfigDoc -update
func TestConfigDoc(t *testing.T) {
	var buf bytes.Buffer
	writeConfigDoc(&buf)
	if *update {
		if err := os.WriteFile(configDocPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(configDocPath)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./cmd/wxlogin -run TestConfigDoc -update)", err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatal("docs/config.md is out of date with cmd/wxlogin/config.go: run go test ./cmd/wxlogin -run TestConfigDoc -update")
	}
	// Every setting has a doc, and appears with its environment variable.
	ct := reflect.TypeOf(Config{})
	for i := 0; i < ct.NumField(); i++ {
		f := ct.Field(i)
		key := f.Tag.Get("yaml")
		if key == "" || f.Tag.Get("doc") == "" {
			t.Errorf("setting %s lacks a yaml or doc tag", f.Name)
		}
		if !strings.Contains(string(got), "| `"+key+"` | `"+envName(key)+"` |") {
			t.Errorf("docs/config.md lacks %s", key)
		}
	}
}
