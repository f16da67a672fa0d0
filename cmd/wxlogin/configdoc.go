package main

import (
	"fmt"
	"io"
	"reflect"
	"strings"
)

// writeConfigDoc writes docs/config.md: every setting of Config with its YAML key, environment
// variable, default and meaning, generated from the struct tags (TestConfigDoc keeps the file in
// step; regenerate it with `go test ./cmd/wxlogin -run TestConfigDoc -update`).
func writeConfigDoc(w io.Writer) {
	fmt.Fprint(w, `# Configuration reference

<!-- Generated from the struct tags of Config in cmd/wxlogin/config.go. Do not edit by hand:
     run `+"`go test ./cmd/wxlogin -run TestConfigDoc -update`"+` after changing a setting. -->

`+"`wxlogin serve`"+` (and `+"`migrate`"+`, `+"`keys rotate`"+`) read their settings from, in order:

1. the defaults below;
2. the YAML file given by `+"`--config FILE`"+` or `+"`WXLOGIN_CONFIG`"+` (one `+"`key: value`"+` per line; unknown keys are an error);
3. environment variables `+"`WXLOGIN_<KEY>`"+` (the key in upper case), which win. A `+"`WXLOGIN_*`"+`
   variable that is not a setting stops every command with the name of the closest setting (only
   `+"`WXLOGIN_CONFIG`"+` and the test variables `+"`WXLOGIN_TEST_POSTGRES`, `WXLOGIN_TEST_REDIS`"+`,
   `+"`WXLOGIN_CONTRACT_COUNT`, `WXLOGIN_FAULT_ROUNDS`, `WXLOGIN_SCREENSHOTS`, `WXLOGIN_CHROMIUM`"+` are allowed besides the settings).

Every setting may instead be read from a file: the environment variable `+"`WXLOGIN_<KEY>_FILE`"+` or
the YAML key `+"`<key>_file`"+` names a file holding the value (trailing newlines are dropped). Use
this for the settings marked **secret**, e.g. with Docker or Kubernetes secrets mounted as files.
A bad setting stops `+"`serve`"+` with a message naming the setting, never its value.

Durations are Go durations (`+"`90s`, `5m`, `2h`, `720h`"+`); booleans are `+"`true`/`false`"+`.

| key | environment variable | default | secret | meaning |
|---|---|---|---|---|
`)
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("yaml")
		def := "—"
		if d, ok := f.Tag.Lookup("default"); ok {
			def = "`" + d + "`"
		}
		secret := ""
		if f.Tag.Get("secret") == "true" {
			secret = "**secret**"
		}
		fmt.Fprintf(w, "| `%s` | `%s` | %s | %s | %s |\n", key, envName(key), def, secret, mdCell(f.Tag.Get("doc")))
	}
	fmt.Fprint(w, `
Required: `+"`apps`"+` and `+"`data_keys`"+`. See [operations.md](operations.md) for how the settings are used
in a deployment.
`)
}

// mdCell escapes s for a Markdown table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
