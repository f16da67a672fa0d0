package http

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/http/console"
)

// The admin console (package console, under /admin/) and the admin API routes it needs beyond
// admin.go's: the configured apps and clients (never their secrets) and the overview's statistics.

// handleConsole serves the console's page and assets; like the admin API, it is 404 not_found
// when no admin token is configured.
func (s *server) handleConsole() http.Handler {
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, wxlogin.Errorf(wxlogin.ENOTFOUND, "no such route"))
	})
	h := console.Handler(notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(s.admins) == 0 {
			notFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type adminAppJSON struct {
	AppID    string `json:"appid"`
	Platform string `json:"platform,omitempty"`
	Kind     string `json:"kind"` // miniprogram, official_account, website or mobile_app
}

type adminAppsResponse struct {
	Apps []adminAppJSON `json:"apps"`
}

// handleAdminApps: GET /admin/v1/apps — the configured WeChat apps (appid and open platform).
func (s *server) handleAdminApps() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := adminAppsResponse{Apps: []adminAppJSON{}}
		for _, a := range s.svc.Apps() {
			out.Apps = append(out.Apps, adminAppJSON{AppID: a.ID, Platform: a.Platform, Kind: string(a.AppKind())})
		}
		encode(w, http.StatusOK, out)
	})
}

type adminClientJSON struct {
	ClientID string `json:"client_id"`
}

type adminClientsResponse struct {
	IntrospectionClients []adminClientJSON `json:"introspection_clients"`
	OIDCClients          []OIDCClientInfo  `json:"oidc_clients"`
}

// handleAdminClients: GET /admin/v1/clients — the ids of the introspection clients, sorted, and
// the OpenID Connect clients (by id; no secret hash).
func (s *server) handleAdminClients() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := make([]string, 0, len(s.clients))
		for id := range s.clients {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		out := adminClientsResponse{IntrospectionClients: make([]adminClientJSON, 0, len(ids)), OIDCClients: s.cfg.OIDCClients}
		if out.OIDCClients == nil {
			out.OIDCClients = []OIDCClientInfo{}
		}
		for _, id := range ids {
			out.IntrospectionClients = append(out.IntrospectionClients, adminClientJSON{ClientID: id})
		}
		encode(w, http.StatusOK, out)
	})
}

type loginBucketJSON struct {
	Start    time.Time      `json:"start"`
	Total    int            `json:"total"`
	ByMethod map[string]int `json:"by_method"`
	ByApp    map[string]int `json:"by_app"`
}

type countBucketJSON struct {
	Start time.Time `json:"start"`
	Count int       `json:"count"`
}

type wechatErrorJSON struct {
	AppID   string `json:"appid"`
	API     string `json:"api"`
	ErrCode string `json:"errcode"`
	Count   int64  `json:"count"`
}

type rateLimitedJSON struct {
	Route string `json:"route"`
	Count int64  `json:"count"`
}

type instanceStatsJSON struct {
	WeChatErrors []wechatErrorJSON `json:"wechat_errors"`
	RateLimited  []rateLimitedJSON `json:"rate_limited"`
}

type adminStatsResponse struct {
	GeneratedAt        time.Time          `json:"generated_at"`
	LoginsHourly       []loginBucketJSON  `json:"logins_hourly"`
	LoginsDaily        []loginBucketJSON  `json:"logins_daily"`
	NewUsersDaily      []countBucketJSON  `json:"new_users_daily"`
	ActiveSessions     int                `json:"active_sessions"`
	AuditEventsScanned int                `json:"audit_events_scanned"`
	Truncated          bool               `json:"truncated"`
	Instance           *instanceStatsJSON `json:"instance"`
}

func newLoginBucketsJSON(cs []auth.LoginCount) []loginBucketJSON {
	out := make([]loginBucketJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, loginBucketJSON{Start: c.Start.UTC(), Total: c.Total, ByMethod: c.ByMethod, ByApp: c.ByApp})
	}
	return out
}

// handleAdminStats: GET /admin/v1/stats — the console overview's numbers: logins per hour and
// per day by method and app, new users per day and active sessions (from the store, so for every
// instance), and WeChat API errors by errcode and rate-limit rejections (this instance's metrics
// since it started; instance is null when metrics are not enabled).
func (s *server) handleAdminStats() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := queryParams(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		st, err := s.svc.LoginStats(r.Context(), adminFrom(r))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := adminStatsResponse{GeneratedAt: st.Now.UTC(), LoginsHourly: newLoginBucketsJSON(st.Hourly),
			LoginsDaily: newLoginBucketsJSON(st.Daily), NewUsersDaily: make([]countBucketJSON, 0, len(st.NewUsersDaily)),
			ActiveSessions: st.ActiveSessions}
		for _, b := range st.Daily {
			out.AuditEventsScanned += b.Total // the store counts them all: never truncated
		}
		for i, n := range st.NewUsersDaily {
			out.NewUsersDaily = append(out.NewUsersDaily, countBucketJSON{Start: st.Daily[i].Start.UTC(), Count: n})
		}
		if s.cfg.Metrics != nil {
			out.Instance = s.instanceStats(r)
		}
		encode(w, http.StatusOK, out)
	})
}

// instanceStats reads this instance's WeChat API errors (wxlogin_wechat_calls_total with an
// outcome other than "0") and rate-limit rejections (wxlogin_rate_limited_total) from the metrics
// handler's text exposition, without a dependency on the metrics package. Both lists are sorted
// by count, largest first.
func (s *server) instanceStats(r *http.Request) *instanceStatsJSON {
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	buf := &bufferWriter{header: http.Header{}}
	s.cfg.Metrics.ServeHTTP(buf, req)
	out := &instanceStatsJSON{WeChatErrors: []wechatErrorJSON{}, RateLimited: []rateLimitedJSON{}}
	sc := bufio.NewScanner(&buf.body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, labels, v, ok := parseSample(sc.Text())
		if !ok || v <= 0 {
			continue
		}
		switch name {
		case "wxlogin_wechat_calls_total":
			if labels["outcome"] != "0" {
				out.WeChatErrors = append(out.WeChatErrors, wechatErrorJSON{AppID: labels["appid"], API: labels["api"], ErrCode: labels["outcome"], Count: v})
			}
		case "wxlogin_rate_limited_total":
			out.RateLimited = append(out.RateLimited, rateLimitedJSON{Route: labels["route"], Count: v})
		}
	}
	slices.SortStableFunc(out.WeChatErrors, func(a, b wechatErrorJSON) int { return int(b.Count - a.Count) })
	slices.SortStableFunc(out.RateLimited, func(a, b rateLimitedJSON) int { return int(b.Count - a.Count) })
	return out
}

// parseSample parses one sample line of the Prometheus text format, `name{k="v",…} value`, and
// returns its name, labels and value as a whole number; ok is false for comments and anything
// it cannot parse.
func parseSample(line string) (name string, labels map[string]string, v int64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", nil, 0, false
	}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", nil, 0, false
	}
	name, rest := line[:i], line[i:]
	labels = map[string]string{}
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			if rest == "" {
				return "", nil, 0, false
			}
			if rest[0] == '}' {
				rest = rest[1:]
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return "", nil, 0, false
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var val strings.Builder
			closed := false
			for j := 0; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) {
					j++
					switch rest[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(rest[j])
					}
					continue
				}
				if c == '"' {
					rest, closed = rest[j+1:], true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return "", nil, 0, false
			}
			labels[key] = val.String()
			rest = strings.TrimPrefix(rest, ",")
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, false
	}
	f, err := strconv.ParseFloat(fields[0], 64)
	if err != nil || f != f || f > 1<<62 || f < -(1<<62) {
		return "", nil, 0, false
	}
	return name, labels, int64(f), true
}

// bufferWriter is an in-memory http.ResponseWriter.
type bufferWriter struct {
	header http.Header
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header         { return b.header }
func (b *bufferWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferWriter) WriteHeader(int)             {}
