package wxlogin

import "time"

// LoginCount is how many logins (audit events login.success) one time bucket holds for one login
// method and one app: a row of Tx.LoginCounts.
type LoginCount struct {
	Start  time.Time // the bucket's first instant, in UTC
	Method string    // the event's detail "method" ("wechat", "password", ...); "" when it names none
	AppID  string    // "" for logins without an app
	Count  int64
}

// TimeCount is how many things one time bucket holds: a row of Tx.NewUserCounts.
type TimeCount struct {
	Start time.Time // the bucket's first instant, in UTC
	Count int64
}
