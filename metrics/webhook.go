package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// webhookMetrics are the outbox's: attempts by endpoint and outcome, the backlog and its age.
type webhookMetrics struct {
	once     sync.Once
	attempts *prometheus.CounterVec
	backlog  prometheus.Gauge
	oldest   prometheus.Gauge
}

func (m *Metrics) webhooks() *webhookMetrics {
	w := &m.webhook
	w.once.Do(func() {
		w.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxlogin_webhook_attempts_total",
			Help: "Webhook delivery attempts by endpoint name and result (ok, failed).",
		}, []string{"endpoint", "result"})
		w.backlog = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxlogin_webhook_backlog",
			Help: "Webhook deliveries not delivered yet (pending).",
		})
		w.oldest = prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wxlogin_webhook_backlog_age_seconds",
			Help: "Age of the oldest pending webhook delivery (0 when none).",
		})
		m.reg.MustRegister(w.attempts, w.backlog, w.oldest)
	})
	return w
}

// WebhookAttempt counts one delivery attempt to endpoint (a configured name, never a URL).
func (m *Metrics) WebhookAttempt(endpoint string, ok bool) {
	result := "failed"
	if ok {
		result = "ok"
	}
	m.webhooks().attempts.WithLabelValues(endpoint, result).Inc()
}

// WebhookBacklog sets the number of pending deliveries and the oldest one's age.
func (m *Metrics) WebhookBacklog(pending int64, oldest time.Duration) {
	w := m.webhooks()
	w.backlog.Set(float64(pending))
	w.oldest.Set(oldest.Seconds())
}
