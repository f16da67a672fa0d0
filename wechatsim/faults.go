package wechatsim

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Fault is a failure injected on one WeChat API path (or "*" for all of them). A call triggers it with
// probability Rate (nil = 1); a triggered call waits LatencyMS, then the connection is closed without an
// answer (Reset), or a non-JSON body is answered (Garbage), or {"errcode":Errcode,"errmsg":…} is
// answered (Errcode ≠ 0), or else the call is served normally after the delay. Count (nil = no limit)
// limits the fault to that many triggered calls.
type Fault struct {
	Path      string   `json:"path"`
	LatencyMS int      `json:"latency_ms,omitempty"`
	Errcode   int      `json:"errcode,omitempty"`
	Errmsg    string   `json:"errmsg,omitempty"`
	Rate      *float64 `json:"rate,omitempty"`
	Reset     bool     `json:"reset,omitempty"`
	Garbage   bool     `json:"garbage,omitempty"`
	Count     *int     `json:"count,omitempty"`
}

type faultState struct {
	Fault
	remaining int // -1: unlimited
}

// SetFault installs f on f.Path, replacing any fault there. Errors: EINVALID (unknown path, rate outside
// 0..1, negative latency or latency over a minute, count < 1, or a fault that does nothing).
func (s *Sim) SetFault(f Fault) error {
	if _, ok := s.apis()[f.Path]; !ok && f.Path != "*" {
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: fault path %q is not a WeChat API path (or \"*\")", f.Path)
	}
	switch {
	case f.Rate != nil && (*f.Rate < 0 || *f.Rate > 1 || *f.Rate != *f.Rate):
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: fault rate must be between 0 and 1")
	case f.LatencyMS < 0 || f.LatencyMS > 60_000:
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: fault latency_ms must be between 0 and 60000")
	case f.Count != nil && *f.Count < 1:
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: fault count must be at least 1 (leave it out for no limit)")
	case f.Reset && f.Garbage:
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: a fault cannot both reset and answer garbage")
	case f.LatencyMS == 0 && f.Errcode == 0 && !f.Reset && !f.Garbage:
		return wxlogin.Errorf(wxlogin.EINVALID, "wechatsim: fault does nothing: set latency_ms, errcode, reset or garbage")
	}
	st := &faultState{Fault: f, remaining: -1}
	if f.Count != nil {
		st.remaining = *f.Count
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Path] = st
	return nil
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// triggerFaultLocked decides whether this call to path is faulted and returns a copy of the fault.
func (s *Sim) triggerFaultLocked(path string) *Fault {
	key := path
	st := s.faults[key]
	if st == nil {
		key = "*"
		st = s.faults[key]
	}
	if st == nil {
		return nil
	}
	if st.Rate != nil && rand.Float64() >= *st.Rate {
		return nil
	}
	if st.remaining > 0 {
		st.remaining--
		if st.remaining == 0 {
			delete(s.faults, key)
		}
	}
	f := st.Fault
	return &f
}

// applyFault plays f and reports whether the call has been answered (or aborted).
func (s *Sim) applyFault(w http.ResponseWriter, r *http.Request, path, ctype string, f *Fault) bool {
	if f.LatencyMS > 0 {
		t := time.NewTimer(time.Duration(f.LatencyMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case f.Reset:
		s.log.Debug("wechatsim: fault: connection reset", "path", path)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		// HTTP/2 or a wrapped writer: abort the response instead.
		panic(http.ErrAbortHandler)
	case f.Garbage:
		s.log.Debug("wechatsim: fault: garbage", "path", path)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\n"))
		return true
	case f.Errcode != 0:
		msg := f.Errmsg
		if msg == "" {
			msg = errBusy.msg
			if f.Errcode != -1 {
				msg = "simulated error"
			}
		}
		s.log.Debug("wechatsim: fault: error", "path", path, "errcode", f.Errcode)
		writeWX(w, http.StatusOK, ctype, errorBody(&wxError{f.Errcode, msg}, s.now()))
		return true
	}
	return false
}
