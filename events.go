package wxlogin

import "time"

// Event is a change business systems learn of through webhooks (user.created, user.merged,
// identity.bound, …; see auth/outbox.go). It is written to the outbox in the transaction that makes
// the change, with one pending Delivery per webhook endpoint that wants it.
type Event struct {
	Seq    int64  // set by the store: increasing in the order events are written
	ID     string // "evt_…", the idempotency id receivers de-duplicate on
	Type   string
	UserID string // the subject ("" for none)
	Time   time.Time
	Data   string // JSON object of non-secret facts
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // not delivered yet; attempted again at NextAt
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // given up after the retry window; redeliver to try again
)

// Delivery is one event on its way to one webhook endpoint (named by its configured name). Per
// (Endpoint, UserID) deliveries go out one at a time in event order; a worker holds a lease on a
// delivery (LeaseOwner until LeaseUntil) while it sends it, so that of several instances one sends it.
type Delivery struct {
	ID          string // "dlv_…"
	EventID     string
	EventSeq    int64
	EventType   string
	Endpoint    string
	UserID      string
	Status      string
	Attempts    int
	NextAt      time.Time
	LeaseOwner  string
	LeaseUntil  time.Time
	LastStatus  int    // the endpoint's last HTTP status (0: no answer)
	LastError   string // the last failure, without secrets ("" when none)
	CreatedAt   time.Time
	DeliveredAt time.Time
}

// DeliveryAttempt is one logged try of a delivery.
type DeliveryAttempt struct {
	ID         int64
	DeliveryID string
	Time       time.Time
	StatusCode int    // 0: no answer
	Error      string // "" on success
	Duration   time.Duration
}

// DeliveryFilter selects deliveries; zero fields match everything. Deliveries come newest first.
type DeliveryFilter struct {
	DeliveryID string
	Endpoint   string
	Status     string
	EventID    string
	UserID     string
	Before     int64 // cursor: only deliveries of events with Seq < Before (0: no cursor)
	Limit      int   // 0 means 100
}

// Redelivery selects deliveries to send again: the one with DeliveryID, or those of Endpoint
// ("" : every endpoint) whose events' Seq lies in [FromSeq, ToSeq] (ToSeq 0: no upper bound).
type Redelivery struct {
	DeliveryID string
	Endpoint   string
	FromSeq    int64
	ToSeq      int64
}

// DeliveryBacklog is the outbox's state for the metrics: pending deliveries and the oldest one's
// event time (zero when none is pending).
type DeliveryBacklog struct {
	Pending int64
	Oldest  time.Time
}
