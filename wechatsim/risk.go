package wechatsim

import (
	"crypto/rand"
	"encoding/binary"
	"net/http"

	"github.com/wxlogin/wxlogin"
)

// PathUserRiskRank is getuserriskrank (the mini program's security risk rank).
const PathUserRiskRank = "/wxa/getuserriskrank"

// MaxRiskRank is the highest risk rank WeChat reports (0 = lowest risk).
const MaxRiskRank = 4

type riskState struct {
	byApp map[string]map[string]int // appid → device user → rank
	all   map[string]int            // device user → rank, in every app without its own
}

func newRiskState() riskState {
	return riskState{byApp: map[string]map[string]int{}, all: map[string]int{}}
}

// SetRisk sets the risk rank (0–4) getuserriskrank reports for device user in appid, or in every
// app when appid is "". Errors: EINVALID (empty user, rank outside 0–4), ENOTFOUND (unknown app).
func (s *Sim) SetRisk(appid, user string, rank int) error {
	if user == "" {
		return wxlogin.Errorf(wxlogin.EINVALID, "user is required")
	}
	if rank < 0 || rank > MaxRiskRank {
		return wxlogin.Errorf(wxlogin.EINVALID, "rank must be between 0 and %d", MaxRiskRank)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if appid == "" {
		s.risk.all[user] = rank
		return nil
	}
	if _, err := s.appLocked(appid); err != nil {
		return err
	}
	if s.risk.byApp[appid] == nil {
		s.risk.byApp[appid] = map[string]int{}
	}
	s.risk.byApp[appid][user] = rank
	return nil
}

func (s *Sim) riskLocked(appid, user string) int {
	if r, ok := s.risk.byApp[appid][user]; ok {
		return r
	}
	return s.risk.all[user]
}

type riskRequest struct {
	AppID    string `json:"appid"`
	OpenID   string `json:"openid"`
	Scene    *int   `json:"scene"`
	ClientIP string `json:"client_ip"`
	MobileNo string `json:"mobile_no"`
	Email    string `json:"email_address"`
	Extended string `json:"extended_info"`
	BankCard string `json:"bank_card_no"`
	CertNo   string `json:"cert_no"`
}

type riskJSON struct {
	okJSON
	RiskRank int    `json:"risk_rank"`
	UnoinID  uint32 `json:"unoin_id"` // WeChat's spelling: the id of this request
}

// userRiskRank serves POST /wxa/getuserriskrank: {"errcode":0,"errmsg":"getuserriskrank succ",
// "risk_rank","unoin_id"}. Errors: token errors, 43002, 44002/47001 body, 40013 appid not the token's
// app, 40003 unknown openid, 40097 scene not 0 or 1 or client_ip missing.
func (s *Sim) userRiskRank(r *http.Request) (any, *wxError) {
	if r.Method != http.MethodPost {
		return nil, errRequirePost
	}
	s.mu.Lock()
	a, e := s.tokenAppLocked(r, s.nowLocked())
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	var req riskRequest
	if e := readJSONBody(r, &req); e != nil {
		return nil, e
	}
	if req.AppID != a.ID {
		return nil, errBadAppID
	}
	if req.Scene == nil || (*req.Scene != 0 && *req.Scene != 1) || req.ClientIP == "" {
		return nil, errBadArgs
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := a.byOpenID[req.OpenID]
	if u == nil {
		return nil, errBadOpenID
	}
	var id [4]byte
	rand.Read(id[:])
	return riskJSON{okJSON: okJSON{Errcode: 0, Errmsg: "getuserriskrank succ"}, RiskRank: s.riskLocked(a.ID, u.name),
		UnoinID: binary.BigEndian.Uint32(id[:])}, nil
}
