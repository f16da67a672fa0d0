package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/wxlogin/wxlogin/keyring/reseal"
)

// runReseal is `wxlogin keys reseal`: it re-encrypts every sealed value under the first data key.
func runReseal(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys reseal", stderr)
	path := fs.String("config", "", "YAML configuration file")
	batch := fs.Int("batch", 500, "identities per transaction (1-10000)")
	dryRun := fs.Bool("dry-run", false, "count what would be resealed, change nothing")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *batch < 1 || *batch > 10000 {
		return errors.New("keys reseal: --batch must be 1 to 10000")
	}
	cfg, err := commandConfig(*path, getenv)
	if err != nil {
		return err
	}
	ring, store, err := openKeysAndStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if ok, err := store.Migrated(ctx); err != nil {
		return err
	} else if !ok {
		return errors.New("keys reseal: the database is not migrated: run 'wxlogin migrate' first")
	}
	rep, err := reseal.Run(ctx, reseal.Options{Store: store, Ring: ring, Batch: *batch, DryRun: *dryRun, Progress: stderr})
	rep.Write(stdout, dataKeyIDs(cfg.DataKeys))
	return err
}

// dataKeyIDs returns the ids of the keys in a data_keys value (already parsed without error).
func dataKeyIDs(s string) []string {
	var ids []string
	for _, entry := range strings.Split(s, ",") {
		id, _, _ := strings.Cut(strings.TrimSpace(entry), ":")
		ids = append(ids, strings.TrimSpace(id))
	}
	return ids
}
