package wxlogin

import "time"

// WebTicket is one single-use step of a browser flow, kept in the store so that any instance can
// finish what another began: the state of a WeChat redirect (purpose "wechat_state") or the
// one-time login_code it ends in (purpose "login_code"). Hash is the hex SHA-256 of the random
// value the browser carries; the value itself is never stored. Data is the flow's own JSON.
type WebTicket struct {
	Hash      string
	Purpose   string
	AppID     string
	Data      string
	CreatedAt time.Time
	ExpiresAt time.Time
}
