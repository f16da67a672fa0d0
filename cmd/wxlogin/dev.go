package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/oidc"
)

// Introspection credentials of `wxlogin dev` (documented in README.md; dev only).
const (
	devClientID     = "dev-service"
	devClientSecret = "dev-service-secret"
)

// runDev runs the whole stack on one machine: the WeChat simulator, the server on SQLite, sign-up
// on, and prints the curl commands of the login sequence.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address of the wxlogin server")
	simAddr := fs.String("sim-addr", "127.0.0.1:8081", "address of the WeChat simulator")
	rpAddr := fs.String("rp-addr", "127.0.0.1:8082", "address of the demo website that signs in through wxlogin's OpenID Connect provider")
	db := fs.String("db", "wxlogin-dev.db", "SQLite database file (created if missing; its data key sits beside it in FILE.key)")
	var apps appFlags
	fs.Var(&apps, "app", "a mini program, appid:secret[:platform] (repeatable; default: the demo app)")
	adminToken := fs.String("admin-token", "", "token of the admin API (actor admin:dev), at least 16 characters (default: a random one, printed)")
	signupPolicy := fs.String("signup-policy", "open", "open or existing_only (then the admin token creates users: POST /admin/v1/users)")
	phoneSignup := fs.Bool("phone-signup", false, "POST /v1/login/phone creates a user for an unknown phone number")
	var kinds kindFlags
	kinds.register(fs)
	var hooks appFlags
	fs.Var(&hooks, "webhook", "a URL receiving signed events (repeatable; see docs/operations.md)")
	hookSecret := fs.String("webhook-secret", "", "the webhooks' signing secret (default: a random one, printed)")
	grace := fs.Duration("deletion-grace", 0, "how long after DELETE /v1/me an account is deleted (dev default: at once)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *adminToken == "" {
		*adminToken = strings.TrimPrefix(wxlogin.NewID("adm"), "adm_")
	}
	if _, err := parseAdminTokens("dev:" + *adminToken); err != nil || strings.Contains(*adminToken, ",") {
		return errors.New("--admin-token: want at least 16 characters, no comma")
	}
	if len(apps) == 0 && kinds.empty() {
		kinds = demoKinds() // one demo app of each kind on the demo open platform
	}
	sim, simApps, err := newSimWithKinds(apps, kinds)
	if err != nil {
		return err
	}
	keys, err := loadOrCreateKeyFile(*db + ".key")
	if err != nil {
		return fmt.Errorf("data key file: %w", err)
	}
	simLn, err := net.Listen("tcp", *simAddr)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		simLn.Close()
		return fmt.Errorf("server: %w", err)
	}

	rpLn, err := net.Listen("tcp", *rpAddr)
	if err != nil {
		simLn.Close()
		ln.Close()
		return fmt.Errorf("demo website: %w", err)
	}
	defer rpLn.Close()

	cfg := defaultConfig()
	setDevApps(cfg, simApps, "http://"+ln.Addr().String())
	cfg.DataKeys = keys
	cfg.Database = "sqlite:" + *db
	cfg.WeChatBaseURL = "http://" + simLn.Addr().String()
	cfg.WeChatOpenBaseURL = cfg.WeChatBaseURL
	cfg.Signup = true
	cfg.IntrospectClients = devClientID + ":" + devClientSecret
	cfg.OIDCIssuer, cfg.OIDCClients = "http://"+ln.Addr().String(), devOIDCClients()
	cfg.AdminTokens = "dev:" + *adminToken
	cfg.LookupClients = devClientID
	cfg.LogFormat = "text"
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.generousRateLimits()
	cfg.devSignup(*signupPolicy, *phoneSignup)
	cfg.DeletionGrace = *grace
	if err := devWebhooks(cfg, hooks, *hookSecret, stdout); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	logger, err := newLogger(stderr, "text", "info")
	if err != nil {
		return err
	}
	st, err := buildStack(ctx, cfg, logger, &http.Client{Timeout: cfg.WeChatTimeout})
	if err != nil {
		simLn.Close()
		ln.Close()
		return err
	}
	defer st.Close()
	go st.svc.Run(ctx)
	go st.runDeliverer(ctx)
	go runDeletions(ctx, st.svc, time.Minute, logger)
	go newPruner(st.svc, cfg, logger).run(ctx, pruneInterval)
	go pruneOIDC(ctx, st.oidc, logger, pruneInterval)
	rpURL := "http://" + rpLn.Addr().String()
	go serveUntilDone(ctx, newHTTPServer(oidc.DemoRelyingParty(cfg.OIDCIssuer, rpURL, nil), logger, cfg), rpLn, time.Second)

	printDevGuide(stdout, "http://"+ln.Addr().String(), "http://"+simLn.Addr().String(), simApps[0].ID, *db)
	fmt.Fprintf(stdout, "OpenID Connect: %s/.well-known/openid-configuration (public client %s, PKCE, any loopback port);\n"+
		"  a demo website signs in through it at %s\n", cfg.OIDCIssuer, oidc.DevClientID, rpURL)
	printDevDoors(stdout, "http://"+ln.Addr().String(), "http://"+simLn.Addr().String(), simApps)
	fmt.Fprintf(stdout, "Admin API (dev only): curl -s http://%s/admin/v1/users -H 'Authorization: Bearer %s'\n", ln.Addr(), *adminToken)
	fmt.Fprintf(stdout, "Admin console (dev only): http://%s/admin/ (sign in with the admin token %s)\n", ln.Addr(), *adminToken)
	printSignupGuide(stdout, cfg, "http://"+ln.Addr().String(), *adminToken)
	// The simulator stops only after the server has drained: in-flight logins still call it.
	serverCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	simCtx, stopSim := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSim()
	simErr := make(chan error, 1)
	go func() {
		err := serveUntilDone(simCtx, newHTTPServer(sim, logger, cfg), simLn, cfg.ShutdownTimeout)
		stopServer() // the simulator failed: stop the server too
		simErr <- err
	}()
	err = serveUntilDone(serverCtx, newHTTPServer(withDemoQR(withDemoWeb(st.handler, simApps)), logger, cfg), ln, cfg.ShutdownTimeout)
	stopSim()
	if err2 := <-simErr; err == nil {
		err = err2
	}
	return err
}

// printDevGuide prints what to try against a dev stack.
func printDevGuide(w io.Writer, server, sim, appid, db string) {
	fmt.Fprintf(w, `wxlogin dev is running.
  server            %[1]s   (SQLite: %[4]s, sign-up on)
  WeChat simulator  %[2]s   (app %[3]s)
  introspection     client %[5]s, secret %[6]s

Try the login sequence (needs curl; jq makes it easier to read):

  # 1. The mini program calls wx.login() on device user "alice" (the simulator plays the device):
  CODE=$(curl -s -X POST %[2]s/sim/login -H 'Content-Type: application/json' \
    -d '{"appid":"%[3]s","user":"alice"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')

  # 2. It sends the code to wxlogin and gets wxlogin's own login state:
  curl -s -X POST %[1]s/v1/login/wechat -H 'Content-Type: application/json' \
    -d "{\"appid\":\"%[3]s\",\"code\":\"$CODE\"}" | tee /tmp/wxlogin-login.json
  ACCESS=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' /tmp/wxlogin-login.json)
  REFRESH=$(sed 's/.*"refresh_token":"\([^"]*\)".*/\1/' /tmp/wxlogin-login.json)

  # 3. Later requests carry the access token:
  curl -s %[1]s/v1/me -H "Authorization: Bearer $ACCESS"

  # 4. Refresh (the old refresh token is spent; using it again revokes the session):
  curl -s -X POST %[1]s/v1/token/refresh -H 'Content-Type: application/json' \
    -d "{\"refresh_token\":\"$REFRESH\"}"

  # 5. Log out:
  curl -s -X POST %[1]s/v1/logout -H "Authorization: Bearer $ACCESS" -o /dev/null -w '%%{http_code}\n'

A website logging in by a scanned mini-program code:  open %[1]s/demo/qr

Or let wxlogin play it all:  go run ./cmd/wxlogin demo
Press Ctrl-C to stop.
`, server, sim, appid, db, devClientID, devClientSecret)
}
