package auth

import (
	"context"
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

// The windows of LoginStats.
const (
	StatsHours = 48 // hourly buckets, the last one holding the current hour
	StatsDays  = 30 // daily buckets (UTC days), the last one holding today
)

// LoginCount is the number of logins in one time bucket, in total and by login method ("wechat",
// "password", "phone", "cloudrun", ...; "unknown" when the event names none) and by appid (""
// for logins without an app).
type LoginCount struct {
	Start    time.Time
	Total    int
	ByMethod map[string]int
	ByApp    map[string]int
}

// LoginStats is what the console's overview charts, computed by the store's aggregates.
type LoginStats struct {
	Now            time.Time
	Hourly         []LoginCount // StatsHours buckets, oldest first
	Daily          []LoginCount // StatsDays buckets, oldest first
	NewUsersDaily  []int        // users created per day, aligned with Daily
	ActiveSessions int          // sessions neither revoked nor expired now
}

// LoginStats counts the logins (audit events login.success, which outlive deleted and merged
// users and pruned sessions) of the last StatsHours hours by hour and of the last StatsDays UTC
// days by day, each by method and by app; the users created per day (those not deleted since);
// and the sessions active now. The store computes each as one aggregate, so nothing is left out
// however many logins there were. The read is audited (admin.stats.read). Errors: the store's.
func (s *Administration) LoginStats(ctx context.Context, a Admin) (*LoginStats, error) {
	now := s.now().UTC()
	hour0 := now.Truncate(time.Hour).Add(-(StatsHours - 1) * time.Hour)
	day0 := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(StatsDays - 1))
	st := &LoginStats{Now: now, NewUsersDaily: make([]int, StatsDays)}
	var err error
	if st.Hourly, err = s.loginBuckets(ctx, hour0, time.Hour, StatsHours); err != nil {
		return nil, err
	}
	if st.Daily, err = s.loginBuckets(ctx, day0, 24*time.Hour, StatsDays); err != nil {
		return nil, err
	}
	users, err := s.store.NewUserCounts(ctx, day0, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	for _, c := range users {
		if i := bucketIndex(c.Start, day0, 24*time.Hour, StatsDays); i >= 0 {
			st.NewUsersDaily[i] += int(c.Count)
		}
	}
	active, err := s.store.ActiveSessionCount(ctx, now)
	if err != nil {
		return nil, err
	}
	st.ActiveSessions = int(active)
	s.audit(ctx, a.origin().event("admin.stats.read", "", ""))
	return st, nil
}

// loginBuckets returns n buckets of the logins since start, each size long, oldest first.
func (s *Administration) loginBuckets(ctx context.Context, start time.Time, size time.Duration, n int) ([]LoginCount, error) {
	out := make([]LoginCount, n)
	for i := range out {
		out[i] = LoginCount{Start: start.Add(time.Duration(i) * size), ByMethod: map[string]int{}, ByApp: map[string]int{}}
	}
	counts, err := s.store.LoginCounts(ctx, start, size)
	if err != nil {
		return nil, err
	}
	for _, c := range counts {
		i := bucketIndex(c.Start, start, size, n)
		if i < 0 {
			continue // a login stamped after now (another instance's clock)
		}
		method := c.Method
		if method == "" {
			method = "unknown"
		}
		b := &out[i]
		b.Total += int(c.Count)
		b.ByMethod[method] += int(c.Count)
		b.ByApp[c.AppID] += int(c.Count)
	}
	return out, nil
}

// bucketIndex returns the index of the bucket starting at t among n buckets of size from start,
// or -1 when there is none.
func bucketIndex(t, start time.Time, size time.Duration, n int) int {
	d := t.Sub(start)
	if d < 0 || d%size != 0 || d/size >= time.Duration(n) {
		return -1
	}
	return int(d / size)
}
