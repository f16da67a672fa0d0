// Command wxlogin is the login and identity server for WeChat Mini Programs.
//
//	wxlogin dev       the whole stack on one machine (server, WeChat simulator, SQLite)
//	wxlogin serve     the production server (YAML config + WXLOGIN_* environment)
//	wxlogin sim       the WeChat simulator alone
//	wxlogin migrate   apply schema migrations
//	wxlogin demo      play a mini program against a running dev stack
//	wxlogin keygen    print a new data key for WXLOGIN_DATA_KEYS
//	wxlogin keys rotate  rotate the access-token signing key without logging anyone out
//	wxlogin keys reseal  re-encrypt sealed secrets under the first data key (after a data-key rotation)
//	wxlogin seed      fill a test database with users and sessions fast (benchmarks)
//	wxlogin version   print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A mistyped WXLOGIN_* variable would otherwise be ignored: refuse it, naming the closest setting.
	if err := checkEnvironment(os.Environ()); err != nil {
		fmt.Fprintln(os.Stderr, "wxlogin:", err)
		os.Exit(1)
	}
	if err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "wxlogin:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// errHelp is returned by a command after it printed its usage for -h or --help, having done nothing
// else; run turns it into success.
var errHelp = errors.New("help")

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "--help", "-help", "help":
		return true
	}
	return false
}

const usage = `wxlogin: login and identity server for WeChat Mini Programs

Usage:
  wxlogin dev      [--addr 127.0.0.1:8080] [--sim-addr 127.0.0.1:8081] [--db wxlogin-dev.db] [--app appid:secret[:platform]]... [--admin-token TOKEN]
  wxlogin serve    [--config wxlogin.yaml]
  wxlogin sim      [--addr 127.0.0.1:8081] [--app appid:secret[:platform]]... [--official-account appid:secret[:platform]]...
                   [--website appid:secret[:platform]]... [--mobile-app appid:secret[:platform]]...
  wxlogin migrate  [--config wxlogin.yaml]
  wxlogin demo     [--server http://127.0.0.1:8080] [--sim http://127.0.0.1:8081] [--appid ID] [--user NAME]
  wxlogin keygen   [--id k1]
  wxlogin keys rotate [--config wxlogin.yaml]
  wxlogin keys reseal [--config wxlogin.yaml] [--batch 500] [--dry-run]
  wxlogin seed     [--config wxlogin.yaml] [--users N] [--sessions N] [--out FILE]   (benchmark data)
  wxlogin version
`

// run runs the wxlogin command line: args[1] names the subcommand. `--help` or `-h` on any command
// prints its usage and does nothing else (nil error: exit status 0).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, getenv, stdin, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// runCommand runs the subcommand args[1]; it returns errHelp when the command only printed its usage.
func runCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	rest := args[2:]
	switch args[1] {
	case "dev":
		return runDev(ctx, rest, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "sim":
		return runSim(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "keys":
		return runKeys(ctx, rest, getenv, stdout, stderr)
	case "keygen":
		return runKeygen(rest, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "wxlogin", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "wxlogin: unknown command %q\n\n%s", args[1], usage)
		return errUsage
	}
}
