package wechatsim

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/wxlogin/wxlogin"
)

// controlRoutes registers the /sim/ control plane. A wrong method gets a JSON 405.
func (s *Sim) controlRoutes(mux *http.ServeMux) {
	routes := map[string]map[string]controlHandler{
		"/sim/login":    {http.MethodPost: s.simLogin},
		"/sim/userinfo": {http.MethodPost: s.simUserInfo},
		"/sim/phone":    {http.MethodPost: s.simPhone},
		"/sim/expire":   {http.MethodPost: s.simExpire},
		"/sim/block":    {http.MethodPost: s.simBlock},
		"/sim/payment":  {http.MethodPost: s.simPayment},
		"/sim/clock":    {http.MethodPost: s.simClock},
		"/sim/stats":    {http.MethodGet: s.simStats},
		"/sim/faults":   {http.MethodPost: s.simSetFault, http.MethodDelete: s.simClearFaults},
		"/sim/apps":     {http.MethodGet: s.simListApps, http.MethodPost: s.simAddApp},
		"/sim/users":    {http.MethodGet: s.simUser},

		"/sim/scan":        {http.MethodPost: s.simScan},
		"/sim/risk":        {http.MethodPost: s.simRisk},
		"/sim/push":        {http.MethodPost: s.simPush},
		"/sim/push-config": {http.MethodPost: s.simPushConfig},
		"/sim/pages":       {http.MethodPost: s.simPages},
	}
	for path, methods := range routes {
		mux.Handle(path, s.control(methods))
	}
}

type controlHandler func(r *http.Request) (any, error)

// control serves one control-plane path: JSON out; a *wxlogin.Error becomes a 4xx {"error": message}.
func (s *Sim) control(methods map[string]controlHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := methods[r.Method]
		if h == nil {
			allowed := make([]string, 0, len(methods))
			for m := range methods {
				allowed = append(allowed, m)
			}
			sort.Strings(allowed)
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeSimJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed on " + r.URL.Path})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		out, err := h(r)
		if err != nil {
			status := http.StatusInternalServerError
			switch wxlogin.ErrorCode(err) {
			case wxlogin.EINVALID:
				status = http.StatusBadRequest
			case wxlogin.ENOTFOUND:
				status = http.StatusNotFound
			case wxlogin.ECONFLICT:
				status = http.StatusConflict
			}
			msg := wxlogin.ErrorMessage(err)
			if status == http.StatusInternalServerError {
				s.log.Error("wechatsim: control plane", "path", r.URL.Path, "err", err)
			}
			writeSimJSON(w, status, map[string]string{"error": msg})
			return
		}
		status := http.StatusOK
		if r.Method == http.MethodPost && r.URL.Path == "/sim/apps" {
			status = http.StatusCreated
		}
		writeSimJSON(w, status, out)
	})
}

func writeSimJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalNoEscape(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// decode reads a JSON object into v, rejecting unknown fields and trailing data (EINVALID).
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return wxlogin.Errorf(wxlogin.EINVALID, "request body too large")
		}
		return wxlogin.Errorf(wxlogin.EINVALID, "invalid JSON body: %v", err)
	}
	if dec.More() {
		return wxlogin.Errorf(wxlogin.EINVALID, "invalid JSON body: trailing data")
	}
	return nil
}

type appUser struct {
	AppID string `json:"appid"`
	User  string `json:"user"`
}

func (u appUser) check() error {
	if u.AppID == "" || u.User == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "appid and user are required")
	}
	return nil
}

func decodeAppUser(r *http.Request) (appUser, error) {
	var req appUser
	if err := decode(r, &req); err != nil {
		return req, err
	}
	return req, req.check()
}

func (s *Sim) simLogin(r *http.Request) (any, error) {
	req, err := decodeAppUser(r)
	if err != nil {
		return nil, err
	}
	if s.appKind(req.AppID) == wxlogin.KindMobileApp {
		// What the WeChat SDK's SendAuth hands a mobile app.
		code, err := s.OAuthCode(req.AppID, req.User, ScopeUserInfo, false)
		if err != nil {
			return nil, err
		}
		return map[string]string{"code": code}, nil
	}
	code, err := s.Login(req.AppID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"code": code}, nil
}

// appKind returns the kind of appid, "" when unknown.
func (s *Sim) appKind(appid string) wxlogin.AppKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appid]; a != nil {
		return a.kind()
	}
	return ""
}

func (s *Sim) simUserInfo(r *http.Request) (any, error) {
	var req struct {
		appUser
		Nickname  string `json:"nickname"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	res, err := s.UserInfoWith(req.AppID, req.User, req.Nickname, req.AvatarURL)
	if err != nil {
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND && s.hasApp(req.AppID) {
			// The app exists but the user has no valid key: a state conflict, not a missing resource.
			return nil, &wxlogin.Error{Code: wxlogin.ECONFLICT, Message: wxlogin.ErrorMessage(err)}
		}
		return nil, err
	}
	return res, nil
}

func (s *Sim) hasApp(appid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apps[appid] != nil
}

func (s *Sim) simPhone(r *http.Request) (any, error) {
	var req struct {
		appUser
		Phone     string `json:"phone"`
		Encrypted bool   `json:"encrypted"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.Encrypted {
		res, err := s.EncryptedPhone(req.AppID, req.User, req.Phone)
		if err != nil && wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND && s.hasApp(req.AppID) {
			return nil, &wxlogin.Error{Code: wxlogin.ECONFLICT, Message: wxlogin.ErrorMessage(err)}
		}
		return res, err
	}
	code, err := s.PhoneCode(req.AppID, req.User, req.Phone)
	if err != nil {
		return nil, err
	}
	return map[string]string{"code": code}, nil
}

func (s *Sim) simExpire(r *http.Request) (any, error) {
	req, err := decodeAppUser(r)
	if err != nil {
		return nil, err
	}
	return struct{}{}, s.ExpireSessionKey(req.AppID, req.User)
}

func (s *Sim) simBlock(r *http.Request) (any, error) {
	var req struct {
		appUser
		Blocked *bool `json:"blocked"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.Blocked == nil {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "blocked (true or false) is required")
	}
	return struct{}{}, s.Block(req.AppID, req.User, *req.Blocked)
}

func (s *Sim) simPayment(r *http.Request) (any, error) {
	req, err := decodeAppUser(r)
	if err != nil {
		return nil, err
	}
	id, err := s.Payment(req.AppID, req.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"transaction_id": id}, nil
}

func (s *Sim) simClock(r *http.Request) (any, error) {
	var req struct {
		AdvanceSeconds *float64 `json:"advance_seconds"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.AdvanceSeconds == nil {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "advance_seconds is required")
	}
	// Bound it so the Duration cannot overflow: ±100 years.
	if *req.AdvanceSeconds > 100*365*86400 || *req.AdvanceSeconds < -100*365*86400 {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "advance_seconds is out of range")
	}
	s.Advance(time.Duration(*req.AdvanceSeconds * float64(time.Second)))
	return map[string]int64{"now": s.now().Unix()}, nil
}

func (s *Sim) simClearFaults(*http.Request) (any, error) {
	s.ClearFaults()
	return struct{}{}, nil
}

func (s *Sim) simStats(*http.Request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		calls[k] = v
	}
	return map[string]any{"calls": calls}, nil
}

func (s *Sim) simSetFault(r *http.Request) (any, error) {
	var f Fault
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	return struct{}{}, s.SetFault(f)
}

type appJSON struct {
	AppID    string          `json:"appid"`
	Secret   string          `json:"secret,omitempty"`
	Platform string          `json:"platform,omitempty"`
	Kind     wxlogin.AppKind `json:"kind,omitempty"`
}

func (s *Sim) simListApps(*http.Request) (any, error) {
	apps := s.Apps()
	sort.Slice(apps, func(i, j int) bool { return apps[i].ID < apps[j].ID })
	out := make([]appJSON, 0, len(apps))
	for _, a := range apps {
		out = append(out, appJSON{AppID: a.ID, Platform: a.Platform, Kind: a.kind()})
	}
	return map[string]any{"apps": out}, nil
}

func (s *Sim) simAddApp(r *http.Request) (any, error) {
	var req appJSON
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := s.AddApp(App{ID: req.AppID, Secret: req.Secret, Platform: req.Platform, Kind: req.Kind}); err != nil {
		return nil, err
	}
	return map[string]string{"appid": req.AppID}, nil
}

func (s *Sim) simUser(r *http.Request) (any, error) {
	q := r.URL.Query()
	appid, user := q.Get("appid"), q.Get("user")
	if appid == "" || user == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "appid and user are required")
	}
	s.mu.Lock()
	a := s.apps[appid]
	s.mu.Unlock()
	if a == nil {
		return nil, wxlogin.Errorf(wxlogin.ENOTFOUND, "no app %q", appid)
	}
	out := map[string]string{"openid": OpenID(appid, user)}
	if a.Platform != "" {
		out["unionid"] = UnionID(a.Platform, user)
	}
	return out, nil
}

func (s *Sim) simScan(r *http.Request) (any, error) {
	var req struct {
		appUser
		Image string `json:"image"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.Image == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "image is required")
	}
	return s.Scan(req.AppID, req.User, req.Image)
}

func (s *Sim) simRisk(r *http.Request) (any, error) {
	var req struct {
		AppID string `json:"appid"`
		User  string `json:"user"`
		Rank  *int   `json:"rank"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Rank == nil {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "rank is required")
	}
	return struct{}{}, s.SetRisk(req.AppID, req.User, *req.Rank)
}

func (s *Sim) simPush(r *http.Request) (any, error) {
	var req struct {
		appUser
		Event      string `json:"event"`
		RevokeInfo string `json:"revoke_info"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if err := req.check(); err != nil {
		return nil, err
	}
	return s.Push(r.Context(), req.AppID, req.User, req.Event, req.RevokeInfo)
}

func (s *Sim) simPushConfig(r *http.Request) (any, error) {
	var req struct {
		AppID string `json:"appid"`
		PushConfig
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.AppID == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "appid is required")
	}
	return struct{}{}, s.SetPush(req.AppID, req.PushConfig)
}

func (s *Sim) simPages(r *http.Request) (any, error) {
	var req struct {
		AppID string   `json:"appid"`
		Pages []string `json:"pages"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.AppID == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "appid is required")
	}
	return struct{}{}, s.SetPages(req.AppID, req.Pages)
}
