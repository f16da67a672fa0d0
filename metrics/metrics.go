// Package metrics is wxlogin's Prometheus instrumentation: the one package that imports
// client_golang. A *Metrics owns its own registry (never the global default one), serves it at
// GET /metrics through Handler, and is the observer of the HTTP API (http.Config.Observer), of the
// WeChat clients (wechat.Config's observer) and of the store (InstrumentStore).
//
// Every label value is bounded: route patterns (never raw paths), HTTP statuses, login methods,
// wxlogin error codes, configured appids, WeChat API names and errcodes. No user id, openid,
// unionid, token or raw path ever becomes a label.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds wxlogin's collectors and the registry they are registered in.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	logins       *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec

	wechatCalls    *prometheus.CounterVec
	wechatDuration *prometheus.HistogramVec
	wechatRejected *prometheus.CounterVec
	wechatBreaker  *prometheus.GaugeVec
	tokenRefreshes *prometheus.CounterVec

	storeErrors *prometheus.CounterVec

	webhook webhookMetrics // webhook.go
}

// New returns a Metrics with every wxlogin collector, plus the Go runtime and process
// collectors, registered in a registry of its own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_http_requests_total",
		Help: "HTTP requests by route pattern (\"unmatched\" when no route matched) and status.",
	}, []string{"route", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wxlogin_http_request_duration_seconds",
		Help:    "Latency of HTTP requests by route pattern.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_logins_total",
		Help: "Logins by method (wechat, password, phone, cloud, signup) and result (success or the wxlogin error code).",
	}, []string{"method", "result"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_rate_limited_total",
		Help: "Requests refused with 429 rate_limited, by route pattern.",
	}, []string{"route"})
	m.wechatCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_wechat_calls_total",
		Help: "WeChat API calls by appid, api and outcome (the errcode, \"0\" for success, or \"transport\").",
	}, []string{"appid", "api", "outcome"})
	m.wechatDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wxlogin_wechat_call_duration_seconds",
		Help:    "Latency of WeChat API calls by appid and api.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"appid", "api"})
	m.wechatRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_wechat_rejected_total",
		Help: "WeChat API calls refused before being sent, by appid, api and reason (circuit_open, overloaded).",
	}, []string{"appid", "api", "reason"})
	m.wechatBreaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "wxlogin_wechat_breaker_state",
		Help: "Circuit-breaker state of a WeChat API: 0 closed, 1 open, 2 half-open.",
	}, []string{"appid", "api"})
	m.tokenRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_wechat_token_refreshes_total",
		Help: "Refreshes of a WeChat access token by appid and result (ok, error).",
	}, []string{"appid", "result"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_store_errors_total",
		Help: "Store operations that failed with an error other than not_found or conflict, by operation.",
	}, []string{"op"})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.logins, m.rateLimited,
		m.wechatCalls, m.wechatDuration, m.wechatRejected, m.wechatBreaker, m.tokenRefreshes, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry the metrics are registered in (to add collectors of one's own).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the handler of GET /metrics: the registry in the Prometheus text format (or
// OpenMetrics when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest counts one HTTP request of route (a pattern such as "GET /v1/me", or
// "unmatched") answered with status after d.
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveLogin counts one login attempt of method whose result is "success" or a wxlogin error code.
func (m *Metrics) ObserveLogin(method, result string) {
	m.logins.WithLabelValues(method, result).Inc()
}

// ObserveRateLimited counts one request of route refused with 429 rate_limited.
func (m *Metrics) ObserveRateLimited(route string) {
	m.rateLimited.WithLabelValues(route).Inc()
}

// ObserveCall counts one WeChat API call of appid's api that ended with outcome (its errcode as a
// decimal string, or "transport" when no answer came) after d. An outcome that is neither becomes
// "other", so a misbehaving upstream cannot grow the label set without bound.
func (m *Metrics) ObserveCall(appid, api, outcome string, d time.Duration) {
	m.wechatCalls.WithLabelValues(appid, api, boundOutcome(outcome)).Inc()
	m.wechatDuration.WithLabelValues(appid, api).Observe(d.Seconds())
}

// ObserveRejected counts one WeChat API call refused locally; reason is "circuit_open" or
// "overloaded" (anything else is counted as "other").
func (m *Metrics) ObserveRejected(appid, api, reason string) {
	switch reason {
	case "circuit_open", "overloaded":
	default:
		reason = "other"
	}
	m.wechatRejected.WithLabelValues(appid, api, reason).Inc()
}

// Breaker states as the gauge shows them.
const (
	BreakerClosed   = 0
	BreakerOpen     = 1
	BreakerHalfOpen = 2
)

// ObserveBreaker sets the circuit-breaker gauge of appid's api to state: "closed" (0), "open" (1)
// or "half_open" (2). Unknown states are ignored.
func (m *Metrics) ObserveBreaker(appid, api, state string) {
	var v float64
	switch state {
	case "closed":
		v = BreakerClosed
	case "open":
		v = BreakerOpen
	case "half_open":
		v = BreakerHalfOpen
	default:
		return
	}
	m.wechatBreaker.WithLabelValues(appid, api).Set(v)
}

// ObserveTokenRefresh counts one refresh of appid's WeChat access token.
func (m *Metrics) ObserveTokenRefresh(appid string, ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	m.tokenRefreshes.WithLabelValues(appid, result).Inc()
}

// boundOutcome returns outcome when it is "transport" or a decimal errcode of at most 7 digits,
// else "other".
func boundOutcome(outcome string) string {
	if outcome == "transport" {
		return outcome
	}
	s := outcome
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 7 {
		return "other"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "other"
		}
	}
	return outcome
}
