package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/token"
	"github.com/wxlogin/wxlogin/wechatsim"
)

// appFlags collects repeated --app values.
type appFlags []string

func (a *appFlags) String() string     { return strings.Join(*a, ",") }
func (a *appFlags) Set(v string) error { *a = append(*a, v); return nil }

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wxlogin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses a command's flags. It returns errHelp after -h or --help (the flag package has
// printed the usage; the command must then do nothing and run makes the exit status 0), errUsage
// for bad flags or extra arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	return nil
}

// runServe runs the production server until ctx ends (SIGINT/SIGTERM).
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	path := fs.String("config", "", "YAML configuration file (WXLOGIN_* environment variables override it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := commandConfig(*path, getenv)
	if err != nil {
		return err
	}
	logs := newLogBuffer(stderr, 100*time.Millisecond)
	defer logs.Close()
	logger, err := newLogger(logs, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	logger = slog.New(flushOnWarn{Handler: logger.Handler(), buf: logs})
	st, err := buildStack(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			return fmt.Errorf("pprof_addr: %w", err)
		}
		go serveUntilDone(ctx, newHTTPServer(pprofHandler(), logger, cfg), pln, time.Second)
	}
	st.startKeyReloader(ctx, cfg.KeyReload, logger)
	go st.svc.Run(ctx)
	go st.runDeliverer(ctx)
	go runDeletions(ctx, st.svc, time.Minute, logger)
	go newPruner(st.svc, cfg, logger).run(ctx, pruneInterval)
	go pruneOIDC(ctx, st.oidc, logger, pruneInterval)
	logger.Info("wxlogin serving", "addr", ln.Addr().String(), "version", version)
	fmt.Fprintf(stdout, "wxlogin listening on http://%s\n", ln.Addr())
	// On SIGTERM: stop accepting, drain in-flight requests within shutdown_timeout, and only then
	// (the deferred Close) stop the key reloader and close Redis and the store.
	err = serveUntilDone(ctx, newHTTPServer(st.handler, logger, cfg), ln, cfg.ShutdownTimeout)
	logger.Info("wxlogin stopped serving; closing the store", "err", err)
	return err
}

// runMigrate applies the schema migrations of the configured database.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	path := fs.String("config", "", "YAML configuration file")
	db := fs.String("database", "", "database URL (overrides the configuration)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	url := *db
	if url == "" {
		cfg, err := commandConfig(*path, getenv)
		if err != nil {
			return err
		}
		url = cfg.Database
	}
	store, err := openStore(ctx, url, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// runSim serves the WeChat simulator alone.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", stderr)
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	var apps appFlags
	fs.Var(&apps, "app", "a mini program, appid:secret[:platform] (repeatable; default: the demo app)")
	var kinds kindFlags
	kinds.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sim, simApps, err := newSimWithKinds(apps, kinds)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "WeChat simulator listening on http://%s\n", ln.Addr())
	for _, a := range simApps {
		fmt.Fprintf(stdout, "  app %s, %s (open platform: %s)\n", a.ID, kindName(a), orNone(a.Platform))
	}
	fmt.Fprintf(stdout, "  try: curl -s -X POST http://%s/sim/login -H 'Content-Type: application/json' -d '{\"appid\":\"%s\",\"user\":\"alice\"}'\n", ln.Addr(), simApps[0].ID)
	logger, _ := newLogger(stderr, "text", "warn")
	return serveUntilDone(ctx, newHTTPServer(sim, logger, defaultConfig()), ln, 5*time.Second)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// The demo app of `wxlogin dev` and `wxlogin sim` when no --app is given (documented in README.md).
const (
	demoAppID    = "wx1234567890abcdef"
	demoSecret   = "0123456789abcdef0123456789abcdef"
	demoPlatform = "demo-platform"
	demoApp      = demoAppID + ":" + demoSecret + ":" + demoPlatform
)

// newSim returns a simulator with the apps (or the demo app).
func newSim(apps []string) (*wechatsim.Sim, []wechatsim.App, error) {
	if len(apps) == 0 {
		apps = []string{demoApp}
	}
	var list []wechatsim.App
	for _, s := range apps {
		a, err := wechatsim.ParseApp(s)
		if err != nil {
			appid, _, _ := strings.Cut(s, ":")
			return nil, nil, fmt.Errorf("--app %q: want appid:secret[:platform]", appid)
		}
		list = append(list, a)
	}
	return wechatsim.New(wechatsim.Options{Apps: list}), list, nil
}

// runKeygen prints a new data key.
func runKeygen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", stderr)
	id := fs.String("id", "k"+time.Now().UTC().Format("20060102"), "key id")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	k, err := keyring.Generate(*id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s:%s\n", k.ID, base64.StdEncoding.EncodeToString(k.Secret))
	return nil
}

// loadOrCreateKeyFile returns the data keys stored at path, creating the file with a new key
// (mode 0600) when it does not exist.
func loadOrCreateKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	k, err := keyring.Generate("dev1")
	if err != nil {
		return "", err
	}
	s := k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

// runKeys manages signing keys: `wxlogin keys rotate` makes a new key sign from now on; tokens of
// the previous key stay valid until they expire, so nobody is logged out. Running instances pick
// the new key up within key_reload_interval.
// `wxlogin keys reseal` re-encrypts sealed secrets under the first data key (see runReseal).
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "reseal" {
		return runReseal(ctx, args[1:], getenv, stdout, stderr)
	}
	const keysUsage = "usage: wxlogin keys rotate [--config wxlogin.yaml]\n       wxlogin keys reseal [--config wxlogin.yaml] [--batch 500] [--dry-run]"
	if len(args) > 0 && isHelpFlag(args[0]) {
		fmt.Fprintln(stdout, keysUsage)
		return errHelp
	}
	if len(args) == 0 || args[0] != "rotate" {
		fmt.Fprintln(stderr, keysUsage)
		return errUsage
	}
	fs := newFlagSet("keys rotate", stderr)
	path := fs.String("config", "", "YAML configuration file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
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
	issuer, err := token.New(ctx, token.Options{Keys: store, Sealer: ring, Issuer: cfg.Issuer, TTL: cfg.AccessTokenTTL, Algorithm: cfg.SigningAlgorithm})
	if err != nil {
		return fmt.Errorf("signing keys: %w", err)
	}
	old := issuer.SigningKeyID()
	if err := issuer.Rotate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signing key rotated: %s signs from now on; %s keeps verifying its tokens until they expire\n", issuer.SigningKeyID(), old)
	return nil
}
