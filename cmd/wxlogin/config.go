package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the configuration of `wxlogin serve`. Every setting has a YAML key and an environment
// variable WXLOGIN_<KEY in upper case>; the variable wins. Every variable may also be given as
// WXLOGIN_<KEY>_FILE naming a file that holds the value (for secrets mounted as files).
type Config struct {
	Addr              string        `yaml:"addr" doc:"address to listen on" default:":8080"`
	Database          string        `yaml:"database" doc:"postgres://user:pass@host/db (several instances) or sqlite:PATH (one instance)" default:"sqlite:wxlogin.db" secret:"true"`
	SQLiteSynchronous string        `yaml:"sqlite_synchronous" doc:"FULL: every commit is on disk before it is answered; NORMAL: faster, a process crash loses nothing but a power loss may undo the last commits (replayable refresh tokens, revived sessions)" default:"FULL"`
	RedisURL          string        `yaml:"redis_url" doc:"redis://host:6379/0: shared WeChat token, code de-duplication (required for several instances)" secret:"true"`
	RedisPrefix       string        `yaml:"redis_prefix" doc:"prefix of wxlogin's Redis keys" default:"wxlogin:"`
	MigrateOnStart    bool          `yaml:"migrate_on_start" doc:"apply schema migrations at start" default:"true"`
	Apps              string        `yaml:"apps" doc:"mini programs, comma-separated appid:secret[:open-platform-id]" secret:"true"`
	WeChatBaseURL     string        `yaml:"wechat_base_url" doc:"WeChat API base URL (point it at a simulator in tests)" default:"https://api.weixin.qq.com"`
	OfficialAccounts  string        `yaml:"official_accounts" doc:"official accounts (H5 pages' WeChat login), comma-separated appid:secret[:open-platform-id]" secret:"true"`
	Websites          string        `yaml:"websites" doc:"open-platform website apps (QR login), comma-separated appid:secret[:open-platform-id]" secret:"true"`
	MobileApps        string        `yaml:"mobile_apps" doc:"open-platform mobile apps (the WeChat SDK's login), comma-separated appid:secret[:open-platform-id]" secret:"true"`
	WeChatOpenBaseURL string        `yaml:"wechat_open_base_url" doc:"base URL of WeChat's browser pages (/connect/oauth2/authorize, /connect/qrconnect)" default:"https://open.weixin.qq.com"`
	WebRedirectURIs   string        `yaml:"web_redirect_uris" doc:"where the WeChat browser login may send people back, comma-separated appid=URI (exact match; an official account's or a website's appid)"`
	WebCallbackURL    string        `yaml:"web_callback_url" doc:"this server's /v1/oauth/wechat/callback as browsers reach it (its domain is the one registered on WeChat); empty: built from the request's Host"`
	WebAllowLoopback  bool          `yaml:"web_allow_loopback" doc:"also accept any http://127.0.0.1:PORT/… redirect URI (RFC 8252 §7.3): development only" default:"false"`
	WeChatTimeout     time.Duration `yaml:"wechat_timeout" doc:"timeout of one WeChat API call" default:"5s"`
	Issuer            string        `yaml:"issuer" doc:"iss claim of access tokens" default:"wxlogin"`
	AccessTokenTTL    time.Duration `yaml:"access_token_ttl" doc:"lifetime of access tokens" default:"2h"`
	SessionTTL        time.Duration `yaml:"session_ttl" doc:"idle lifetime of a session (each refresh slides it)" default:"720h"`
	SigningAlgorithm  string        `yaml:"signing_algorithm" doc:"ES256 or EdDSA" default:"ES256"`
	DataKeys          string        `yaml:"data_keys" doc:"keys sealing secrets at rest, comma-separated id:base64(32 bytes); the first seals (make one with 'wxlogin keygen')" secret:"true"`
	Signup            bool          `yaml:"signup" doc:"enable POST /v1/accounts" default:"false"`
	PhoneLogin        bool          `yaml:"phone_login" doc:"enable POST /v1/login/phone (a getPhoneNumber code logs in the user who verified that number)" default:"false"`
	CloudRunLogin     bool          `yaml:"cloud_run_login" doc:"enable POST /v1/login/cloud (only behind WeChat Cloud Run's gateway)" default:"false"`
	SignupPolicy      string        `yaml:"signup_policy" doc:"who a WeChat login may create a user for: open (anyone) or existing_only (nobody: unknown people get no_account and a link_token; operators create users with POST /admin/v1/users)" default:"open"`
	SignupOverrides   string        `yaml:"signup_policy_overrides" doc:"per app and door, comma-separated key=open|existing_only; key is appid, appid/door or */door (doors: wechat, cloudrun, phone)"`
	PhoneSignup       bool          `yaml:"phone_signup" doc:"POST /v1/login/phone creates a user for an unknown verified phone (and binds wx_code's WeChat identity)" default:"false"`
	SignupRiskMax     string        `yaml:"signup_risk_max" doc:"refuse sign-ups WeChat's getuserriskrank ranks above this rank, 0 to 4 (off: no check)" default:"off"`
	AvatarMaxBytes    int64         `yaml:"avatar_max_bytes" doc:"largest avatar upload (POST /v1/me/avatar)" default:"1048576"`
	AvatarDir         string        `yaml:"avatar_dir" doc:"keep avatars as files in this directory (empty: in the database)"`
	AvatarBaseURL     string        `yaml:"avatar_base_url" doc:"public base URL of avatar links, e.g. https://login.example.com (empty: the request's host)"`
	KeyReload         time.Duration `yaml:"key_reload_interval" doc:"how often an instance reloads signing keys rotated by another" default:"1m"`
	IntrospectClients string        `yaml:"introspection_clients" doc:"business services allowed to introspect, comma-separated id:secret" secret:"true"`
	AdminTokens       string        `yaml:"admin_tokens" doc:"operator tokens of the admin API, comma-separated name:token (name is the audit trail's actor admin:<name>; tokens of at least 16 characters)" secret:"true"`
	AuditRetention    time.Duration `yaml:"audit_retention" doc:"how long audit events are kept (0: forever); older ones are pruned hourly" default:"2160h"`
	SessionRetention  time.Duration `yaml:"session_retention" doc:"how long revoked or expired sessions and their refresh tokens are kept (0: forever)" default:"720h"`
	CacheSize         int           `yaml:"cache_size" doc:"entries in each cache of verified tokens, sessions and profiles (0: no caching; several instances cache only with redis_url)" default:"100000"`
	CodeWindow        time.Duration `yaml:"code_window" doc:"how long a code exchange is remembered to de-duplicate retries" default:"5m"`
	QRLoginPage       string        `yaml:"qr_login_page" doc:"mini-program page the QR login code opens (published, unless qr_login_check_path is false); empty: the home page" default:"pages/qr-login/index"`
	QRLoginCheckPath  bool          `yaml:"qr_login_check_path" doc:"WeChat draws codes only of published pages; false for trial and develop builds" default:"true"`
	QRLoginEnvVersion string        `yaml:"qr_login_env_version" doc:"build the QR login code opens: release, trial or develop" default:"release"`
	QRLoginTTL        time.Duration `yaml:"qr_login_ttl" doc:"how long a QR login request may be scanned and confirmed" default:"2m"`
	QRLoginPollWait   time.Duration `yaml:"qr_login_poll_wait" doc:"longest wait of one QR login poll for a change" default:"25s"`
	TrustProxyHeaders bool          `yaml:"trust_proxy_headers" doc:"take the client IP from X-Forwarded-For (only behind a proxy that sets it)" default:"false"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes" doc:"largest accepted request body" default:"65536"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout" doc:"how long SIGTERM waits for in-flight requests" default:"15s"`
	PprofAddr         string        `yaml:"pprof_addr" doc:"address of a separate listener serving Go's /debug/pprof profiles (empty: none; keep it on localhost)"`
	Argon2Memory      uint32        `yaml:"argon2_memory_kib" doc:"argon2id memory cost of new password hashes, KiB" default:"19456"`
	Argon2Time        uint32        `yaml:"argon2_time" doc:"argon2id passes" default:"2"`
	Argon2Threads     uint8         `yaml:"argon2_threads" doc:"argon2id lanes" default:"1"`
	LockoutFailures   int           `yaml:"lockout_failures" doc:"consecutive wrong passwords that lock an account" default:"5"`
	LockoutDuration   time.Duration `yaml:"lockout_duration" doc:"how long a locked account stays locked" default:"15m"`
	OIDCIssuer        string        `yaml:"oidc_issuer" doc:"wxlogin's public base URL as an OpenID Connect provider, e.g. https://login.example.com (the iss of ID tokens; http only on loopback)"`
	OIDCClients       string        `yaml:"oidc_clients" doc:"OpenID Connect clients: a YAML or JSON list of {id, name, secret_hash, public, redirect_uris, post_logout_redirect_uris, scopes, doors, third_party, unionid} (see README; secret_hash is sha256: and the hex SHA-256 of a random secret of 32+ characters); none: the provider is off"`
	LogFormat         string        `yaml:"log_format" doc:"json or text" default:"json"`
	LogLevel          string        `yaml:"log_level" doc:"debug, info, warn or error" default:"info"`

	// Abuse limits (limits.go). Rate limits are COUNT/WINDOW or off.
	RateLimitLoginIP          string        `yaml:"rate_limit_login_ip" doc:"logins and sign-ups per client IP (IPv6: per /64)" default:"300/1m"`
	RateLimitLoginIdentity    string        `yaml:"rate_limit_login_identity" doc:"code, phone and Cloud Run logins per appid + client IP" default:"120/1m"`
	RateLimitPasswordIP       string        `yaml:"rate_limit_password_ip" doc:"password checks (password login, sign-up, code login with credentials) per client IP" default:"30/1m"`
	RateLimitPasswordIdentity string        `yaml:"rate_limit_password_identity" doc:"password checks per username" default:"10/5m"`
	RateLimitRefreshIP        string        `yaml:"rate_limit_refresh_ip" doc:"token refreshes per client IP" default:"300/1m"`
	RateLimitRefreshIdentity  string        `yaml:"rate_limit_refresh_identity" doc:"refreshes per refresh token" default:"5/1m"`
	RateLimitPhoneIP          string        `yaml:"rate_limit_phone_ip" doc:"phone login and phone verification per client IP" default:"30/1m"`
	RateLimitPhoneIdentity    string        `yaml:"rate_limit_phone_identity" doc:"phone verifications per user; phone logins per appid + client IP" default:"10/1h"`
	RateLimitQRLoginIP        string        `yaml:"rate_limit_qr_login_ip" doc:"QR login requests and polls per client IP" default:"120/1m"`
	LockoutIP                 string        `yaml:"lockout_ip" doc:"failed password checks per client IP (COUNT/WINDOW, not off); past COUNT the address gets rate_limited until its window ends (counted by each instance)" default:"30/15m"`
	MaxConcurrentRequests     int           `yaml:"max_concurrent_requests" doc:"requests in flight before others get 503 overloaded (0: no cap; health probes exempt)" default:"1024"`
	MaxInFlightPerClient      int           `yaml:"max_in_flight_per_client" doc:"requests one client address, and one bearer token, may each have in flight, body reading included, before their others get 503 overloaded (0: no bound; behind a proxy set trust_proxy_headers, or every client shares its address)" default:"64"`
	BodyMinRate               int64         `yaml:"body_min_rate" doc:"slowest a request body may arrive, bytes per second, after body_read_grace; slower ones get 400 and their connection closed (0: no minimum). Bodies are read before a request counts against max_concurrent_requests" default:"1024"`
	BodyReadGrace             time.Duration `yaml:"body_read_grace" doc:"time a request body gets on top of its size / body_min_rate" default:"5s"`
	ReadHeaderTimeout         time.Duration `yaml:"read_header_timeout" doc:"time to read a request's headers" default:"5s"`
	ReadTimeout               time.Duration `yaml:"read_timeout" doc:"time to read a whole request" default:"15s"`
	WriteTimeout              time.Duration `yaml:"write_timeout" doc:"time from the end of the request headers to the end of the response" default:"30s"`
	IdleTimeout               time.Duration `yaml:"idle_timeout" doc:"how long an idle keep-alive connection stays open" default:"120s"`
	MaxHeaderBytes            int           `yaml:"max_header_bytes" doc:"largest request header block" default:"16384"`

	// Events to business systems (webhooks.go).
	Webhooks           string        `yaml:"webhooks" doc:"endpoints receiving signed events, separated by ';', each name|URL|secret[|type,type] (no types: every event but login.succeeded)" secret:"true"`
	WebhookRetryWindow time.Duration `yaml:"webhook_retry_window" doc:"how long failed webhook deliveries are retried, with exponential backoff, before they are marked failed" default:"24h"`
	WebhookRetryMin    time.Duration `yaml:"webhook_retry_min" doc:"wait after a first failed webhook delivery; it doubles after each next failure, up to an hour" default:"10s"`
	LookupClients      string        `yaml:"lookup_clients" doc:"introspection clients (ids, comma-separated) allowed to look users up with GET /v1/users (openid per app, unionid, phone)"`
	RateLimitLookup    string        `yaml:"rate_limit_lookup" doc:"user lookups per lookup client" default:"600/1m"`
	DeletionGrace      time.Duration `yaml:"deletion_grace" doc:"how long after DELETE /v1/me an account is deleted (0: at once); its sessions end at once, and a login meanwhile does not cancel it" default:"168h"`
	WebhookTimeout     time.Duration `yaml:"webhook_timeout" doc:"time one webhook delivery may take; a delivery is leased for twice that plus a second, so an instance that dies mid-delivery delays it by at most that much" default:"10s"`
}

// envName returns the environment variable of a YAML key.
func envName(key string) string { return "WXLOGIN_" + strings.ToUpper(key) }

// loadConfig returns the defaults, overlaid by the YAML file at path (if any), overlaid by the
// environment. Errors name the setting at fault and never echo a secret's value.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	cfg := defaultConfig()
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		var raw map[string]yaml.Node
		if err := yaml.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("config file %s: not valid YAML: %v", path, yamlLine(err))
		}
		known := map[string]int{}
		for i := 0; i < t.NumField(); i++ {
			known[t.Field(i).Tag.Get("yaml")] = i
		}
		for key, node := range raw {
			name, isFile := strings.CutSuffix(key, "_file")
			i, ok := known[key]
			if !ok && isFile {
				i, ok = known[name]
			}
			if !ok {
				return nil, fmt.Errorf("config file %s: unknown setting %q", path, key)
			}
			val := node.Value
			if node.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("config file %s: %s must be a single value", path, key)
			}
			if _, exact := known[key]; !exact {
				if val, err = readSecretFile(val); err != nil {
					return nil, fmt.Errorf("%s: %w", key, err)
				}
			}
			if err := setField(v.Field(i), val); err != nil {
				return nil, fmt.Errorf("config file %s: %s: %w", path, key, err)
			}
		}
	}
	for i := 0; i < t.NumField(); i++ {
		key := t.Field(i).Tag.Get("yaml")
		name := envName(key)
		val, set := getenv(name), getenv(name) != ""
		if f := getenv(name + "_FILE"); f != "" {
			if set {
				return nil, fmt.Errorf("both %s and %s_FILE are set: use one", name, name)
			}
			var err error
			if val, err = readSecretFile(f); err != nil {
				return nil, fmt.Errorf("%s_FILE: %w", name, err)
			}
			set = true
		}
		if set {
			if err := setField(v.Field(i), val); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return cfg, cfg.validate()
}

// defaultConfig returns the configuration with every default applied.
func defaultConfig() *Config {
	cfg := &Config{}
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if d, ok := t.Field(i).Tag.Lookup("default"); ok {
			if err := setField(v.Field(i), d); err != nil {
				panic("wxlogin: bad default of " + t.Field(i).Tag.Get("yaml")) // a programming error, caught by tests
			}
		}
	}
	return cfg
}

// readSecretFile returns a file's content without trailing newlines.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func yamlLine(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "yaml: ")
}

// setField parses s into a field of Config; the error never contains s.
func setField(f reflect.Value, s string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(s)
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("must be true or false")
		}
		f.SetBool(b)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return errors.New("must be a duration such as 30s, 5m or 2h")
		}
		f.SetInt(int64(d))
	case int, int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return errors.New("must be a non-negative whole number")
		}
		f.SetInt(n)
	case uint32, uint8:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("must be a whole number below %d", uint64(1)<<f.Type().Bits())
		}
		f.SetUint(n)
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

// validate reports the first setting that cannot work, with a message that says how to fix it.
func (c *Config) validate() error {
	switch {
	case c.Apps == "" && c.OfficialAccounts == "" && c.Websites == "" && c.MobileApps == "":
		return errors.New("no app configured: set WXLOGIN_APPS (or apps:) to appid:secret[:platform] (or official_accounts, websites, mobile_apps)")
	case c.DataKeys == "":
		return errors.New("no data key: set WXLOGIN_DATA_KEYS (or data_keys:); make one with 'wxlogin keygen'")
	case c.SigningAlgorithm != "ES256" && c.SigningAlgorithm != "EdDSA":
		return errors.New("signing_algorithm must be ES256 or EdDSA")
	case c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour:
		return errors.New("access_token_ttl must be between 1m and 24h")
	case c.SessionTTL < c.AccessTokenTTL:
		return errors.New("session_ttl must be at least access_token_ttl")
	case c.SQLiteSynchronous != "FULL" && c.SQLiteSynchronous != "NORMAL":
		return errors.New("sqlite_synchronous must be FULL or NORMAL")
	case c.LogFormat != "json" && c.LogFormat != "text":
		return errors.New("log_format must be json or text")
	case c.Argon2Memory < 8*1024 || c.Argon2Time < 1 || c.Argon2Threads < 1:
		return errors.New("argon2 parameters too weak: memory >= 8192 KiB, time >= 1, threads >= 1")
	case c.MaxBodyBytes < 1024:
		return errors.New("max_body_bytes must be at least 1024")
	case c.LockoutFailures < 1:
		return errors.New("lockout_failures must be at least 1")
	}
	if err := c.validateSignup(); err != nil {
		return err
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if err := c.validateQRLogin(); err != nil {
		return err
	}
	return c.validateLimits()
}

// nonSettingEnv lists the WXLOGIN_* variables that are not settings but are read by wxlogin or its
// tests; checkEnvironment accepts them.
var nonSettingEnv = map[string]bool{
	"WXLOGIN_CONFIG":         true, // the YAML file (commandConfig)
	"WXLOGIN_TEST_POSTGRES":  true, // tests: the PostgreSQL to test against
	"WXLOGIN_TEST_REDIS":     true, // tests: the Redis to test against
	"WXLOGIN_CONTRACT_COUNT": true, // tests: print the contract test's counts
	"WXLOGIN_FAULT_ROUNDS":   true, // tests: rounds of the fault battery
	"WXLOGIN_SCREENSHOTS":    true, // tests: where the browser tests keep their screenshots
	"WXLOGIN_CHROMIUM":       true, // tests: the Chromium binary of the browser tests
}

// checkEnvironment returns an error naming the first WXLOGIN_* variable of environ (KEY=VALUE
// entries, as os.Environ returns them) that is neither a setting, its _FILE form, nor one of
// nonSettingEnv, with the closest real setting: a typo must not pass silently.
func checkEnvironment(environ []string) error {
	t := reflect.TypeOf(Config{})
	known := map[string]bool{}
	var settings []string
	for i := 0; i < t.NumField(); i++ {
		name := envName(t.Field(i).Tag.Get("yaml"))
		known[name], known[name+"_FILE"] = true, true
		settings = append(settings, name)
	}
	var unknown []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "WXLOGIN_") && !known[name] && !nonSettingEnv[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	name := unknown[0]
	base, isFile := strings.CutSuffix(name, "_FILE")
	if !isFile {
		base = name
	}
	best, bestDist := "", -1
	for _, s := range settings {
		if d := editDistance(base, s); bestDist < 0 || d < bestDist {
			best, bestDist = s, d
		}
	}
	if isFile {
		best += "_FILE"
	}
	return fmt.Errorf("environment variable %s is not a setting: did you mean %s? (every setting is listed in docs/config.md)", name, best)
}

// editDistance returns the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
