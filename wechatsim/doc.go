// Package wechatsim is a faithful, in-memory simulator of the WeChat server API used by WeChat Mini
// Program back ends (spec: docs/wechat-api.md §0–§14). A *Sim is an http.Handler; point a WeChat client's base
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
//	POST /wxa/getwxacodeunlimit?access_token {"scene","page"?,"check_path"?,"env_version"?,"width"?}
//	     → the PNG itself (Content-Type image/png); errors as JSON: 40169 41030 40097 48001 (not a mini program)
//	POST /wxa/getuserriskrank?access_token {"appid","openid","scene":0|1,"client_ip",…}
//	     → {"errcode":0,"errmsg":"getuserriskrank succ","risk_rank","unoin_id"}  errors 40013 40003 40097
//	POST /wxa/business/checkencryptedmsg?access_token {"encrypted_msg_hash"} → {"errcode":0,"errmsg":"ok","vaild","create_time"?}
//	GET  /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code
//	     → {"access_token","expires_in":7200,"refresh_token","openid","scope","is_snapshotuser"?,"unionid"?}
//	     errors 40029 40163 41008 40125 40013 40002
//	GET  /sns/oauth2/refresh_token?appid&grant_type=refresh_token&refresh_token → as above  errors 40030 42002
//	GET  /sns/userinfo?access_token&openid&lang → {"openid","nickname","sex","province","city","country",
//	     "headimgurl","privilege":[],"unionid"?}  errors 48001 (snsapi_base or snapshot) 40003 40001 42001 41001
//	GET  /sns/auth?access_token&openid → {"errcode":0,"errmsg":"ok"}  errors 40003 40001 42001 41001
//
// Browser pages of open.weixin.qq.com, served by the same handler (HTML; bad requests get a 4xx error
// page):
//
//	GET  /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope=snsapi_base|snsapi_userinfo&state
//	     official accounts only; a consent page (pick or type a device user, confirm or refuse) posting back
//	     to the same path, which redirects (302) to redirect_uri?code&state, or without code on refusal.
//	     sim_user=NAME consents at once; sim_snapshot=1 makes it a snapshot-page visit (is_snapshotuser 1,
//	     a virtual openid, no unionid, no userinfo).
//	GET  /connect/qrconnect?appid&redirect_uri&response_type=code&scope=snsapi_login&state
//	     websites only; the same page and parameters (no snapshot).
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
//	POST   /sim/login    {"appid","user"} → {"code"}                       what wx.login returns (mobile apps:
//	                                                                         the SDK's SendAuth code, snsapi_userinfo)
//	POST   /sim/userinfo {"appid","user","nickname"?,"avatar_url"?} → {"encryptedData","iv","rawData","signature"}
//	POST   /sim/phone    {"appid","user","phone"?} → {"code"}              a getPhoneNumber button code
//	POST   /sim/phone    {"appid","user","phone"?,"encrypted":true} → {"encryptedData","iv"}   the legacy
//	                     button's data, encrypted with the user's session_key (log in first; 409 otherwise)
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
//	POST   /sim/apps     {…,"kind"} — kind: miniprogram (default), official_account, website, mobile_app
//	POST   /sim/pages    {"appid","pages":[…]} → {}                        a mini program's published pages
//	POST   /sim/scan     {"appid","user","image"} → {"appid","page","scene","env_version"}   scan a
//	                     mini-program code: image is a base64 PNG/JPEG (or data: URL), decoded as a QR
//	                     code for real, or the code's text; scene is URL-encoded as options.scene
//	POST   /sim/risk     {"appid"?,"user","rank":0-4} → {}                  getuserriskrank's answer (no
//	                     appid: every app)
//	POST   /sim/push-config {"appid","url","token","encoding_aes_key"?,"mode":"plain"|"safe"} → {}
//	POST   /sim/push     {"appid","user","event","revoke_info"?} → {"status","attempts","last_status","last_error"?}
//	                     push an authorization event to the app's URL, signed (and encrypted in safe
//	                     mode) as WeChat does; up to 3 retries on an answer other than "success"/empty
//	                     or none within 5 s
//
// A fault applies to one WeChat API path ("*" for all) with probability rate (default 1), for the next
// count triggered calls (default: until cleared): it waits latency_ms, then hijacks and closes the
// connection (reset), or answers a non-JSON body (garbage), or answers {"errcode","errmsg"} (errcode), or,
// with none of these, serves the call normally after the delay.
//
// Apps have a kind (App.Kind: mini program by default, official account, website, mobile app) and
// optionally an open platform; the web OAuth of official accounts, websites and mobile apps is simulated
// too.
//
// Web OAuth rules: codes are 32 characters, valid 5 minutes, usable once (40163), bound to their app
// (40029); user access tokens live 7200 s, refresh tokens 30 days; openids are per app and unionids per
// open platform, so an official account, a website, a mobile app and a mini program on one platform see
// one unionid for a device user; unionid is in the exchange for snsapi_userinfo and snsapi_login, and for
// snsapi_base only once the user authorized the app with one of those.
//
// Mini-program codes: the image encodes WXACodeTextPrefix + "?appid=…&env_version=…&page=…&scene=…"
// (https://sim.wxlogin.invalid/wxacode?…, query-escaped). A mini program's published pages default to
// DefaultPages (pages/index/index, pages/qr-login/index; the first is the home page used when page is
// empty); Options.Pages or POST /sim/pages set them. Widths outside 280–1280 and env_version other than
// release|trial|develop answer 40097. checkencryptedmsg knows the encryptedData of /sim/phone
// (encrypted) for 3 days, by the hex SHA-256 of its base64 text, for the app it was issued to.
//
// Message push (Options.Push, SetPush, POST /sim/push-config): plain mode signs with
// signature = sha1(sort(token, timestamp, nonce)); safe mode adds encrypt_type=aes and msg_signature
// over the Encrypt field (AES-256-CBC, key = EncodingAESKey + "=", IV its first 16 bytes, PKCS#7 over
// 32-byte blocks; plaintext = 16 random bytes, 4-byte big-endian length, message, appid).
//
// The simulator never logs app secrets, session_keys, codes or access tokens, and never logs query
// strings.
package wechatsim
