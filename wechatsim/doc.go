// Package wechatsim is a faithful, in-memory simulator of the WeChat server API used by WeChat Mini
// Program back ends (spec: docs/wechat-api.md §0–§8, §13). A *Sim is an http.Handler; point a WeChat client's base
// URL at it. Answers follow WeChat: HTTP 200 with a JSON body; failures carry a non-zero errcode and an
// errmsg ending with a trace suffix (", rid: 6166f719-6cb5d09c-633ab469"); code2Session success omits
// errcode; the /wxa/* APIs answer errcode 0 and errmsg "ok".
//
// WeChat API paths served:
//
//	GET  /sns/jscode2session?appid&secret&js_code&grant_type=authorization_code
//	     → {"openid","session_key","unionid"?}  errors 40029 40163 40226 45011 40013 40125 40002 41002 41004
//	GET  /cgi-bin/token?grant_type=client_credential&appid&secret → {"access_token","expires_in":7200}
//	POST /cgi-bin/stable_token {"grant_type","appid","secret","force_refresh"} → {"access_token","expires_in"}
//	GET  /wxa/checksession?access_token&signature&openid&sig_method=hmac_sha256 → {"errcode":0,"errmsg":"ok"}
//	GET  /wxa/resetusersessionkey?access_token&signature&openid&sig_method=hmac_sha256
//	     → {"errcode":0,"errmsg":"ok","openid","session_key"}
//	POST /wxa/business/getuserphonenumber?access_token {"code","openid"?} → {"errcode":0,"errmsg":"ok","phone_info":{…}}
//	GET  /wxa/getpaidunionid?access_token&openid&transaction_id → {"unionid","errcode":0,"errmsg":"ok"}
//
// Rules simulated: login codes are 32 characters, valid 5 minutes, usable once (40163 on reuse), bound to
// their appid (40029 elsewhere); one valid session_key per (app, user), replaced by a wx.login when the
// current one is older than Options.SessionKeyMinAge, expiring after Options.SessionKeyTTL; unionid only
// for apps bound to an open platform (same platform and user → same unionid in every app; openid differs
// per app); 100 code2Session calls per user per minute (45011); plain tokens overlap their successor for
// 5 minutes; stable tokens are shared, renewed 5 minutes before expiry, force-refreshed at most 20 times a
// day and 30 seconds apart. A wrong app secret answers 40125 ("invalid appsecret") on every API that takes
// one. Every token-requiring API answers 41001 (missing), 40001 (unknown or superseded) or 42001 (expired).
//
// Control plane, under /sim/ (JSON in and out; bad input gets a 4xx with {"error":"…"}), playing the
// device side and the test harness:
//
//	POST   /sim/login    {"appid","user"} → {"code"}                       what wx.login returns
//	POST   /sim/userinfo {"appid","user","nickname"?,"avatar_url"?} → {"encryptedData","iv","rawData","signature"}
//	POST   /sim/phone    {"appid","user","phone"?} → {"code"}              a getPhoneNumber button code
//	POST   /sim/expire   {"appid","user"} → {}                              expire the user's session_key now
//	POST   /sim/block    {"appid","user","blocked":true} → {}              code2Session then answers 40226
//	POST   /sim/payment  {"appid","user"} → {"transaction_id"}             a payment (getpaidunionid, 5 minutes)
//	POST   /sim/clock    {"advance_seconds"} → {"now"}                     move the simulator's clock
//	GET    /sim/stats    → {"calls":{path:count}}                          requests served per WeChat API path
//	POST   /sim/faults   {"path","latency_ms","errcode","errmsg","rate","reset","garbage","count"} → {}
//	DELETE /sim/faults   → {}                                              clear every fault
//	GET    /sim/apps     → {"apps":[{"appid","platform"}]}                 (secrets are never shown)
//	POST   /sim/apps     {"appid","secret","platform"} → {"appid"}         add an app at run time
//	GET    /sim/users    ?appid&user → {"openid","unionid"?}               the identities WeChat would report
//
// A fault applies to one WeChat API path ("*" for all) with probability rate (default 1), for the next
// count triggered calls (default: until cleared): it waits latency_ms, then hijacks and closes the
// connection (reset), or answers a non-JSON body (garbage), or answers {"errcode","errmsg"} (errcode), or,
// with none of these, serves the call normally after the delay.
//
// The simulator never logs app secrets, session_keys, codes or access tokens, and never logs query
// strings.
package wechatsim
