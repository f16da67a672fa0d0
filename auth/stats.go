package auth

import (
	"context"
	"encoding/json"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Apps returns the configured apps in configuration order, without their secrets.
func (s *Administration) Apps() []wxlogin.App {
	out := make([]wxlogin.App, 0, len(s.appOrder))
	for _, id := range s.appOrder {
		a := s.apps[id].App
		out = append(out, wxlogin.App{ID: a.ID, Platform: a.Platform, Kind: a.Kind})
	}
	return out
}

// The windows and bound of LoginStats.
const (
	StatsHours    = 48      // hourly buckets, the last one holding the current hour
	StatsDays     = 30      // daily buckets (UTC days), the last one holding today
	MaxStatsScan  = 100_000 // audit events read at most; past it the oldest are left out (Truncated)
	statsPageSize = 1000
)

// LoginCount is the number of logins in one time bucket, in total and by login method ("wechat",
// "password", "phone", "cloudrun") and by appid ("" for logins without an app).
type LoginCount struct {
	Start    time.Time
	Total    int
	ByMethod map[string]int
	ByApp    map[string]int
}

// LoginStats is what the console's overview charts, computed from the audit trail.
type LoginStats struct {
	Now            time.Time
	Hourly         []LoginCount // StatsHours buckets, oldest first
	Daily          []LoginCount // StatsDays buckets, oldest first
	NewUsersDaily  []int        // users created per day, aligned with Daily
	ActiveSessions int          // sessions started by a login in the window that are still active
	Scanned        int          // audit events read
	Truncated      bool         // more than MaxStatsScan events: the oldest days are undercounted
}

// LoginStats counts the logins (audit events login.success) of the last StatsDays days by hour
// (the last StatsHours hours), by day, by method and by app; the users created per day (logins
// with new_user, and account.create); and the sessions such logins started that are still active.
// It reads at most MaxStatsScan events of each type, newest first, so its cost is bounded; a
// session older than the window (kept alive by refreshes) is not counted. The read is audited
// (admin.stats.read).
//
// TODO(sqlstore): replace the scan with a store aggregate once the SQL lives in one package.
func (s *Administration) LoginStats(ctx context.Context, a Admin) (*LoginStats, error) {
	return s.loginStats(ctx, a, MaxStatsScan, statsPageSize)
}

// loginStats is LoginStats reading at most maxScan events of each type, pageSize at a time.
func (s *Administration) loginStats(ctx context.Context, a Admin, maxScan, pageSize int) (*LoginStats, error) {
	now := s.now().UTC()
	hour0 := now.Truncate(time.Hour).Add(-(StatsHours - 1) * time.Hour)
	day0 := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(StatsDays - 1))
	st := &LoginStats{Now: now, Hourly: make([]LoginCount, StatsHours), Daily: make([]LoginCount, StatsDays), NewUsersDaily: make([]int, StatsDays)}
	for i := range st.Hourly {
		st.Hourly[i] = LoginCount{Start: hour0.Add(time.Duration(i) * time.Hour), ByMethod: map[string]int{}, ByApp: map[string]int{}}
	}
	for i := range st.Daily {
		st.Daily[i] = LoginCount{Start: day0.AddDate(0, 0, i), ByMethod: map[string]int{}, ByApp: map[string]int{}}
	}
	dayIndex := func(t time.Time) int {
		t = t.UTC()
		return int(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Sub(day0) / (24 * time.Hour))
	}
	sessions := map[string]bool{}
	err := s.scanEvents(ctx, "login.success", day0, maxScan, pageSize, st, func(e *wxlogin.AuditEvent) error {
		var d struct {
			Method  string `json:"method"`
			NewUser string `json:"new_user"`
		}
		_ = json.Unmarshal([]byte(e.Detail), &d)
		if d.Method == "" {
			d.Method = "unknown"
		}
		count := func(c *LoginCount) {
			c.Total++
			c.ByMethod[d.Method]++
			c.ByApp[e.AppID]++
		}
		if i := dayIndex(e.Time); i >= 0 && i < StatsDays {
			count(&st.Daily[i])
			if d.NewUser == "true" {
				st.NewUsersDaily[i]++
			}
		}
		if i := int(e.Time.UTC().Sub(hour0) / time.Hour); !e.Time.Before(hour0) && i < StatsHours {
			count(&st.Hourly[i])
		}
		if e.SessionID != "" && !sessions[e.SessionID] {
			sessions[e.SessionID] = true
			switch sess, err := s.store.Session(ctx, e.SessionID); wxlogin.ErrorCode(err) {
			case "":
				if sess.Active(now) {
					st.ActiveSessions++
				}
			case wxlogin.ENOTFOUND: // pruned, or its user deleted
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = s.scanEvents(ctx, "account.create", day0, maxScan, pageSize, st, func(e *wxlogin.AuditEvent) error {
		if i := dayIndex(e.Time); i >= 0 && i < StatsDays {
			st.NewUsersDaily[i]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, a.origin().event("admin.stats.read", "", ""))
	return st, nil
}

// scanEvents calls fn for each audit event of type typ since since, newest first, reading them
// pageSize at a time and at most maxScan of them (setting st.Truncated when more exist), and
// counting them in st.Scanned.
func (s *Administration) scanEvents(ctx context.Context, typ string, since time.Time, maxScan, pageSize int, st *LoginStats, fn func(*wxlogin.AuditEvent) error) error {
	var before int64
	for read := 0; ; {
		events, err := s.store.AuditEvents(ctx, wxlogin.AuditFilter{Type: typ, Since: since, Before: before, Limit: pageSize})
		if err != nil {
			return err
		}
		for _, e := range events {
			if read == maxScan {
				st.Truncated = true
				return nil
			}
			read++
			st.Scanned++
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(events) < pageSize {
			return nil
		}
		before = events[len(events)-1].ID
	}
}
