package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
)

// The admin API's webhook deliveries (issue 18): the delivery log, one delivery with its attempts,
// redelivering one, replaying a range of events. Events and their signing: package webhook.

// Webhooks is the service's side of these routes; *auth.Service implements it.
type Webhooks interface {
	Deliveries(ctx context.Context, a auth.Admin, f wxlogin.DeliveryFilter) (*auth.DeliveryPage, error)
	Delivery(ctx context.Context, a auth.Admin, id string) (*wxlogin.Delivery, []*wxlogin.DeliveryAttempt, error)
	Redeliver(ctx context.Context, a auth.Admin, id string) error
	Replay(ctx context.Context, a auth.Admin, endpoint string, from, to int64) (int64, error)
}

type deliveryJSON struct {
	ID          string     `json:"id"`
	EventID     string     `json:"event_id"`
	EventSeq    int64      `json:"event_seq"`
	EventType   string     `json:"event_type"`
	Endpoint    string     `json:"endpoint"`
	UserID      string     `json:"user_id"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	NextAt      *time.Time `json:"next_at,omitempty"`
	LastStatus  int        `json:"last_status"`
	LastError   string     `json:"last_error"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

func newDeliveryJSON(d *wxlogin.Delivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID, EventID: d.EventID, EventSeq: d.EventSeq, EventType: d.EventType, Endpoint: d.Endpoint,
		UserID: d.UserID, Status: d.Status, Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError,
		CreatedAt: d.CreatedAt.UTC(), DeliveredAt: optTime(d.DeliveredAt)}
	if d.Status == wxlogin.DeliveryPending {
		out.NextAt = optTime(d.NextAt)
	}
	return out
}

type deliveriesResponse struct {
	Deliveries []deliveryJSON `json:"deliveries"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

type attemptJSON struct {
	Time       time.Time `json:"time"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error"`
	DurationMS int64     `json:"duration_ms"`
}

type deliveryResponse struct {
	Delivery deliveryJSON  `json:"delivery"`
	Attempts []attemptJSON `json:"attempts"`
}

// handleAdminDeliveries: GET /admin/v1/webhooks/deliveries?endpoint=&status=&event_id=&user_id=&cursor=&limit=
func (s *server) handleAdminDeliveries() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := queryParams(r, "endpoint", "status", "event_id", "user_id", "cursor", "limit")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		f := wxlogin.DeliveryFilter{Endpoint: q["endpoint"], Status: q["status"], EventID: q["event_id"], UserID: q["user_id"]}
		if c := q["cursor"]; c != "" {
			if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before < 1 {
				s.writeError(w, r, wxlogin.Errorf(wxlogin.EINVALID, "cursor must be a next_cursor of an earlier page"))
				return
			}
		}
		if f.Limit, err = queryLimit(q["limit"]); err != nil {
			s.writeError(w, r, err)
			return
		}
		page, err := s.svc.Deliveries(r.Context(), adminFrom(r), f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := deliveriesResponse{Deliveries: make([]deliveryJSON, 0, len(page.Deliveries))}
		if page.Next > 0 {
			out.NextCursor = strconv.FormatInt(page.Next, 10)
		}
		for _, d := range page.Deliveries {
			out.Deliveries = append(out.Deliveries, newDeliveryJSON(d))
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAdminDelivery: GET /admin/v1/webhooks/deliveries/{id}
func (s *server) handleAdminDelivery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, atts, err := s.svc.Delivery(r.Context(), adminFrom(r), r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := deliveryResponse{Delivery: newDeliveryJSON(d), Attempts: make([]attemptJSON, 0, len(atts))}
		for _, a := range atts {
			out.Attempts = append(out.Attempts, attemptJSON{Time: a.Time.UTC(), StatusCode: a.StatusCode, Error: a.Error,
				DurationMS: a.Duration.Milliseconds()})
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAdminRedeliver: POST /admin/v1/webhooks/deliveries/{id}/redeliver
func (s *server) handleAdminRedeliver() http.Handler {
	return noContentHandler(s, func(r *http.Request) error {
		return s.svc.Redeliver(r.Context(), adminFrom(r), r.PathValue("id"))
	})
}

type replayRequest struct {
	Endpoint string `json:"endpoint"`
	FromSeq  int64  `json:"from_seq"`
	ToSeq    int64  `json:"to_seq"`
}

// Valid checks the range's shape.
func (q replayRequest) Valid() error {
	if q.FromSeq < 1 || q.ToSeq != 0 && q.ToSeq < q.FromSeq {
		return wxlogin.Errorf(wxlogin.EINVALID, "from_seq must be at least 1 and to_seq, when given, at least from_seq")
	}
	if len(q.Endpoint) > 128 {
		return wxlogin.Errorf(wxlogin.EINVALID, "endpoint must be at most 128 characters")
	}
	return nil
}

type replayResponse struct {
	Queued int64 `json:"queued"`
}

// handleAdminReplay: POST /admin/v1/webhooks/replay {endpoint, from_seq, to_seq}
func (s *server) handleAdminReplay() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decode[replayRequest](w, r, 4<<10)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		n, err := s.svc.Replay(r.Context(), adminFrom(r), in.Endpoint, in.FromSeq, in.ToSeq)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, replayResponse{Queued: n})
	})
}
