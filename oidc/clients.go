package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// Scopes the provider grants.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopePhone         = "phone"
	ScopeOfflineAccess = "offline_access"
)

// SupportedScopes are the scopes a client may be allowed.
var SupportedScopes = []string{ScopeOpenID, ScopeProfile, ScopePhone, ScopeOfflineAccess}

// Doors the hosted login page can offer.
const (
	DoorPassword        = "password"         // username and password (business accounts)
	DoorOfficialAccount = "official_account" // WeChat web OAuth inside WeChat
	DoorWebsiteQR       = "website_qr"       // the open platform's QR login (qrconnect)
	DoorMiniProgramQR   = "miniprogram_qr"   // scan a mini-program code, confirm in the mini program
)

var knownDoors = []string{DoorPassword, DoorOfficialAccount, DoorWebsiteQR, DoorMiniProgramQR}

// secretPrefix marks a client secret hash: "sha256:" + hex(sha256(secret)). Client secrets are
// generated (NewClientSecret: 256 random bits), never chosen by people, so a fast hash is as safe
// as a slow one and keeps the token endpoint cheap; MinSecretLen refuses a short secret.
const secretPrefix = "sha256:"

// MinSecretLen is the shortest client secret accepted (43 characters = 256 bits in base64url).
const MinSecretLen = 32

// ClientConfig is one relying party as configured (YAML or env).
type ClientConfig struct {
	ID         string `yaml:"id" json:"id"`
	Name       string `yaml:"name" json:"name"`               // shown on the login and consent pages
	SecretHash string `yaml:"secret_hash" json:"secret_hash"` // "sha256:<hex>"; empty for a public client
	Public     bool   `yaml:"public" json:"public"`           // no secret; PKCE S256 required
	// RedirectURIs are matched exactly; http is allowed only on loopback hosts.
	RedirectURIs           []string `yaml:"redirect_uris" json:"redirect_uris"`
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris" json:"post_logout_redirect_uris"`
	// LoopbackAnyPort accepts a loopback redirect URI on any port (RFC 8252 §7.3) when it matches
	// a registered loopback URI but for the port. For native apps and `wxlogin dev` only.
	LoopbackAnyPort bool     `yaml:"loopback_any_port" json:"loopback_any_port"`
	Scopes          []string `yaml:"scopes" json:"scopes"` // allowed; default "openid profile"
	Doors           []string `yaml:"doors" json:"doors"`   // offered by the login page; default all
	ThirdParty      bool     `yaml:"third_party" json:"third_party"`
	UnionID         bool     `yaml:"unionid" json:"unionid"` // may see the unionid claim
}

// Client is a validated relying party.
type Client struct {
	ID                     string
	Name                   string
	SecretHash             string // "" for a public client
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	LoopbackAnyPort        bool
	Scopes                 []string
	Doors                  []string
	ThirdParty             bool
	UnionID                bool
}

// AllowsScope reports whether the client may be granted scope.
func (c *Client) AllowsScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

// OffersDoor reports whether the login page offers door to the client's users.
func (c *Client) OffersDoor(door string) bool { return slices.Contains(c.Doors, door) }

// CheckSecret reports whether secret is the client's (constant time); always false for a public
// client.
func (c *Client) CheckSecret(secret string) bool {
	if c.Public || c.SecretHash == "" || secret == "" {
		return false
	}
	got := HashClientSecret(secret)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.SecretHash)) == 1
}

// HashClientSecret returns the form a client secret is configured in: "sha256:" + hex.
func HashClientSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return secretPrefix + hex.EncodeToString(h[:])
}

// NewClientSecret returns a new client secret (256 random bits, base64url) and its hash.
func NewClientSecret() (secret wxlogin.Secret, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("oidc: crypto/rand failed: " + err.Error())
	}
	s := base64.RawURLEncoding.EncodeToString(b[:])
	return wxlogin.Secret(s), HashClientSecret(s)
}

// Clients finds relying parties. Moves to the root when wired (the admin API lists them).
type Clients interface {
	// Client returns the client with id. Errors: ENOTFOUND.
	Client(ctx context.Context, id string) (*Client, error)
}

// StaticClients is the configured set of clients.
type StaticClients struct {
	byID map[string]*Client
}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseClients validates configured clients and returns them. It returns an error naming the
// first bad client: a bad or duplicate id, a public client with a secret or a confidential one
// without, a malformed secret hash, no redirect URI, a redirect URI that is not absolute, has a
// fragment or uses http off loopback, an unknown scope or door.
func ParseClients(configs []ClientConfig) (*StaticClients, error) {
	s := &StaticClients{byID: make(map[string]*Client, len(configs))}
	for i, cc := range configs {
		c, err := parseClient(cc)
		if err != nil {
			return nil, fmt.Errorf("oidc: client %d (%q): %w", i, cc.ID, err)
		}
		if _, dup := s.byID[c.ID]; dup {
			return nil, fmt.Errorf("oidc: client %q is configured twice", c.ID)
		}
		s.byID[c.ID] = c
	}
	return s, nil
}

func parseClient(cc ClientConfig) (*Client, error) {
	if !clientIDPattern.MatchString(cc.ID) {
		return nil, fmt.Errorf("id must be 1-64 characters of A-Z a-z 0-9 . _ -")
	}
	c := &Client{ID: cc.ID, Name: cc.Name, Public: cc.Public, LoopbackAnyPort: cc.LoopbackAnyPort,
		ThirdParty: cc.ThirdParty, UnionID: cc.UnionID}
	if c.Name == "" {
		c.Name = c.ID
	}
	switch {
	case cc.Public && cc.SecretHash != "":
		return nil, fmt.Errorf("a public client has no secret_hash")
	case !cc.Public && cc.SecretHash == "":
		return nil, fmt.Errorf("a confidential client needs secret_hash (or set public: true)")
	case !cc.Public:
		hexPart, ok := strings.CutPrefix(cc.SecretHash, secretPrefix)
		if b, err := hex.DecodeString(hexPart); !ok || err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("secret_hash must be sha256:<64 hex digits>")
		}
		c.SecretHash = secretPrefix + strings.ToLower(hexPart)
	}
	if len(cc.RedirectURIs) == 0 {
		return nil, fmt.Errorf("redirect_uris is empty")
	}
	for _, u := range cc.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, fmt.Errorf("redirect_uri %q: %w", u, err)
		}
	}
	for _, u := range cc.PostLogoutRedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, fmt.Errorf("post_logout_redirect_uri %q: %w", u, err)
		}
	}
	if cc.LoopbackAnyPort {
		for _, u := range cc.RedirectURIs {
			if !isLoopbackURI(u) && strings.HasPrefix(u, "http") {
				return nil, fmt.Errorf("loopback_any_port: redirect_uri %q is neither loopback nor a custom scheme", u)
			}
		}
	}
	c.RedirectURIs = slices.Clone(cc.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(cc.PostLogoutRedirectURIs)
	c.Scopes = cc.Scopes
	if len(c.Scopes) == 0 {
		c.Scopes = []string{ScopeOpenID, ScopeProfile}
	}
	for _, sc := range c.Scopes {
		if !slices.Contains(SupportedScopes, sc) {
			return nil, fmt.Errorf("unknown scope %q (supported: %s)", sc, strings.Join(SupportedScopes, " "))
		}
	}
	if !slices.Contains(c.Scopes, ScopeOpenID) {
		return nil, fmt.Errorf("scopes must include openid")
	}
	c.Scopes = slices.Clone(c.Scopes)
	c.Doors = cc.Doors
	if len(c.Doors) == 0 {
		c.Doors = knownDoors
	}
	for _, d := range c.Doors {
		if !slices.Contains(knownDoors, d) {
			return nil, fmt.Errorf("unknown door %q (known: %s)", d, strings.Join(knownDoors, " "))
		}
	}
	c.Doors = slices.Clone(c.Doors)
	return c, nil
}

// checkRedirectURI accepts an absolute URI without fragment: https anywhere, http on loopback
// hosts only, or a private-use scheme (native apps, RFC 8252 §7.1).
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("must be an absolute URI without fragment")
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("has no host")
		}
	case "http":
		if !isLoopbackURI(raw) {
			return fmt.Errorf("http is allowed only on loopback hosts (localhost, 127.0.0.1, [::1])")
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("a private-use scheme must be a reversed domain name (RFC 8252 §7.1)")
		}
	}
	return nil
}

// isLoopbackURI reports whether raw is an http(s) URI on a loopback host.
func isLoopbackURI(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || net.ParseIP(h).IsLoopback()
}

// Client returns the client with id. Errors: ENOTFOUND.
func (s *StaticClients) Client(_ context.Context, id string) (*Client, error) {
	c, ok := s.byID[id]
	if !ok {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such client")
	}
	return c, nil
}

// List returns every client ordered by id (for the admin API; it holds no secret, only hashes).
func (s *StaticClients) List() []*Client {
	out := make([]*Client, 0, len(s.byID))
	for _, c := range s.byID {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// DevClientID is the demo public client `wxlogin dev` registers.
const DevClientID = "dev-web"

// DevClient returns the demo public client of `wxlogin dev`: PKCE, every scope, loopback redirect
// URIs on any port under the path "/callback" (RFC 8252 §7.3).
func DevClient() ClientConfig {
	return ClientConfig{
		ID: DevClientID, Name: "wxlogin dev demo", Public: true, LoopbackAnyPort: true,
		RedirectURIs:           []string{"http://127.0.0.1/callback", "http://localhost/callback"},
		PostLogoutRedirectURIs: []string{"http://127.0.0.1/", "http://localhost/"},
		Scopes:                 slices.Clone(SupportedScopes),
	}
}
