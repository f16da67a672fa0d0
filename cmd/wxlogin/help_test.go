package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelpDoesNothing runs every command with -h and --help against a configuration under which it
// would act (serve, open or create a database, rotate a key, seed users, write a key file) and
// checks that it printed its usage, succeeded and left nothing behind.
func TestHelpDoesNothing(t *testing.T) {
	commands := [][]string{
		{"dev"}, {"serve"}, {"sim"}, {"migrate"}, {"demo"}, {"keygen"},
		{"keys"}, {"keys", "rotate"}, {"keys", "reseal"}, {"seed"},
	}
	for _, cmd := range commands {
		for _, help := range []string{"--help", "-h"} {
			name := strings.Join(cmd, " ") + " " + help
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				db := filepath.Join(dir, "acted.db")
				env := envFrom(map[string]string{
					"WXLOGIN_APPS": "wx1:s", "WXLOGIN_DATA_KEYS": testDataKey,
					"WXLOGIN_DATABASE": "sqlite:" + db, "WXLOGIN_ADDR": "127.0.0.1:0",
				})
				args := append([]string{"wxlogin"}, cmd...)
				args = append(args, help)
				if cmd[0] == "dev" {
					args = append(args, "--db", db, "--addr", "127.0.0.1:0", "--sim-addr", "127.0.0.1:0")
				}
				if cmd[0] == "sim" {
					args = append(args, "--addr", "127.0.0.1:0")
				}
				// A command that served would run until ctx ends, and say so on stdout.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				var out, errOut syncBuffer
				start := time.Now()
				err := run(ctx, args, env, nil, &out, &errOut)
				if err != nil {
					t.Fatalf("err = %v, want nil (exit 0); stderr %q", err, errOut.String())
				}
				if ctx.Err() != nil {
					t.Fatalf("ran until the deadline (%v): it served", time.Since(start))
				}
				usage := out.String() + errOut.String()
				if !strings.Contains(strings.ToLower(usage), "usage") {
					t.Errorf("no usage printed: %q", usage)
				}
				for _, word := range []string{"listening", "running", "rotated", "seeded", "migrations applied", "k20"} {
					if strings.Contains(out.String(), word) {
						t.Errorf("stdout %q says it acted (%q)", out.String(), word)
					}
				}
				entries, _ := os.ReadDir(dir)
				for _, e := range entries {
					t.Errorf("left %s behind", e.Name())
				}
			})
		}
	}
}

// TestHelpOnBadFlagsStillFails keeps a bad flag an error (exit 1).
func TestHelpOnBadFlagsStillFails(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"wxlogin", "seed", "--nope"}, envFrom(nil), nil, &out, &out); err == nil {
		t.Error("a bad flag succeeded")
	}
}
