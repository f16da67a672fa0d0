package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// QRCoder is what the QR login door uses of an app's WeChat client to draw a mini-program code;
// *wechat.Client implements it. An app whose client does not cannot start a QR login.
type QRCoder interface {
	GetWXACodeUnlimit(ctx context.Context, req wechat.WXACodeRequest) (image []byte, contentType string, err error)
}

// QRConfig configures the QR login door: a website shows a mini-program code, the person scans it
// in the mini program and confirms there, and the website gets a session of the same user
// (docs/wechat-api.md §10).
type QRConfig struct {
	// Page is the mini-program page the code opens (published, unless CheckPath is false); "" = the
	// home page.
	Page string
	// CheckPath false lets WeChat draw codes of pages not yet published (trial and develop builds).
	CheckPath bool
	// EnvVersion is the build the code opens: release (default), trial or develop.
	EnvVersion string
	// Width of the code in pixels (0: WeChat's default 430).
	Width int
	// TTL is how long a request may be scanned and decided (default 2 minutes).
	TTL time.Duration
	// PollWait is the longest a poll waits for a change (default 25 s).
	PollWait time.Duration
	// Notifier wakes the polls of a request when it changes; several instances share one (package
	// redis). Default: NewMemoryNotifier (one instance).
	Notifier wxlogin.Notifier
}

// QRDoor is the website's door by a scanned mini-program code.
type QRDoor struct {
	*core
	cfg QRConfig
}

func newQRDoor(c *core, cfg QRConfig) *QRDoor {
	if cfg.TTL <= 0 {
		cfg.TTL = 2 * time.Minute
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 25 * time.Second
	}
	if cfg.EnvVersion == "" {
		cfg.EnvVersion = "release"
	}
	if cfg.Notifier == nil {
		cfg.Notifier = NewMemoryNotifier()
	}
	return &QRDoor{core: c, cfg: cfg}
}

// QRStart is a new QR login request as the website receives it. PollToken is its secret: only
// its holder polls the request.
type QRStart struct {
	ID          string
	Image       []byte
	ContentType string
	ExpiresIn   time.Duration
	PollToken   wxlogin.Secret
}

// QRPoll is what a poll learns: the status (wxlogin.QRPending, QRScanned, QRConfirmed or
// QRDenied) and, with QRConfirmed, the website's login (given once).
type QRPoll struct {
	Status string
	Login  *Login
}

// QRRequester is where a QR login request came from, shown to the user who scanned it.
type QRRequester struct {
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// sceneAlphabet is the part of WeChat's scene alphabet a random scene uses (§10).
const sceneAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newScene returns 32 random characters of sceneAlphabet (190 bits).
func newScene() string {
	b := make([]byte, 32)
	for i := range b {
		b[i] = sceneAlphabet[int(randByte(len(sceneAlphabet)))]
	}
	return string(b)
}

// randByte returns a uniform random number in [0, n), n ≤ 256.
func randByte(n int) byte {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return b[0] % byte(n)
		}
	}
}

// validScene reports whether scene can be one of ours: 1–32 characters of sceneAlphabet.
func validScene(scene string) bool {
	if scene == "" || len(scene) > 32 {
		return false
	}
	for i := 0; i < len(scene); i++ {
		c := scene[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

func pollHash(token string) string {
	sum := sha256.Sum256([]byte("qr-poll\x00" + token))
	return hex.EncodeToString(sum[:])
}

// StartQRLogin creates a QR login request at appid ("" with one app) for the browser of meta and
// draws its code. Errors: EINVALID (unknown app, or one that cannot draw codes), EUPSTREAMUNAVAIL
// (with RetryAfter), EUPSTREAM.
func (d *QRDoor) StartQRLogin(ctx context.Context, appid string, meta Meta) (*QRStart, error) {
	app, err := d.app(appid)
	if err != nil {
		return nil, err
	}
	coder, ok := app.WeChat.(QRCoder)
	if !ok {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "app %s cannot draw mini-program codes", app.App.ID)
	}
	scene := newScene()
	check := d.cfg.CheckPath
	img, ctype, err := coder.GetWXACodeUnlimit(ctx, wechat.WXACodeRequest{Scene: scene, Page: d.cfg.Page,
		CheckPath: &check, EnvVersion: d.cfg.EnvVersion, Width: d.cfg.Width})
	if err != nil {
		werr := wechatError(callWXACode, err)
		d.audit(ctx, &wxlogin.AuditEvent{Type: "qr.failure", AppID: app.App.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("step", "create", "reason", wxlogin.ErrorCode(werr))})
		return nil, werr
	}
	poll := rand.Text() + rand.Text() // 256 bits
	now := d.now()
	q := &wxlogin.QRLogin{ID: wxlogin.NewID("qrl"), AppID: app.App.ID, Scene: scene, PollHash: pollHash(poll),
		Status: wxlogin.QRPending, IP: meta.IP, UserAgent: truncate(meta.UserAgent, 256), CreatedAt: now, ExpiresAt: now.Add(d.cfg.TTL)}
	err = d.update(ctx, func(tx wxlogin.Tx) error {
		if err := tx.CreateQRLogin(ctx, q); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: now, Type: "qr.create", AppID: q.AppID, IP: meta.IP,
			UserAgent: meta.UserAgent, Detail: detail("qr", q.ID)})
	})
	if err != nil {
		return nil, err
	}
	return &QRStart{ID: q.ID, Image: img, ContentType: ctype, ExpiresIn: d.cfg.TTL, PollToken: wxlogin.Secret(poll)}, nil
}

var (
	errQRNotFound = wxlogin.Errorf(wxlogin.ENOTFOUND, "no such QR login request")
	errQRExpired  = wxlogin.Errorf(wxlogin.EEXPIRED, "this QR login request expired: show a new code")
	errQRUsed     = wxlogin.Errorf(wxlogin.EEXPIRED, "this QR login request was already used: show a new code")
)

// PollQRLogin returns the status of request id for the holder of its poll token. While the status
// is still since ("" = pending), it waits up to the configured PollWait (or ctx's end) for a change.
// A confirmed request gives its login once, as a new session of the user who confirmed it (method
// "qr", at the request's app), and is then spent. Errors: ENOTFOUND (unknown id or wrong token),
// EEXPIRED (expired, or spent), EFORBIDDEN (the user was disabled).
func (d *QRDoor) PollQRLogin(ctx context.Context, id, pollToken, since string, meta Meta) (*QRPoll, error) {
	if since == "" {
		since = wxlogin.QRPending
	}
	wake, cancel := d.cfg.Notifier.Subscribe(id)
	defer cancel()
	timer := time.NewTimer(d.cfg.PollWait)
	defer timer.Stop()
	for {
		q, err := d.readQR(ctx, id, pollToken)
		if err != nil {
			return nil, err
		}
		status := q.Status
		if q.Expired(d.now()) {
			status = wxlogin.QRExpired
		}
		switch status {
		case wxlogin.QRExpired:
			return nil, errQRExpired
		case wxlogin.QRSpent:
			return nil, errQRUsed
		case wxlogin.QRConfirmed:
			return d.collect(ctx, id, meta)
		}
		if status != since {
			return &QRPoll{Status: status}, nil
		}
		select {
		case <-wake:
		case <-timer.C:
			return &QRPoll{Status: status}, nil
		case <-ctx.Done():
			return &QRPoll{Status: status}, nil
		}
	}
}

// readQR returns request id when pollToken is its token. Errors: ENOTFOUND.
func (d *QRDoor) readQR(ctx context.Context, id, pollToken string) (*wxlogin.QRLogin, error) {
	if id == "" || len(id) > 64 || pollToken == "" || len(pollToken) > 128 {
		return nil, errQRNotFound
	}
	q, err := d.store.QRLogin(ctx, id)
	if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
		return nil, errQRNotFound
	} else if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(q.PollHash), []byte(pollHash(pollToken))) != 1 {
		return nil, errQRNotFound
	}
	return q, nil
}

// collect spends confirmed request id and starts the website's session, in one transaction: of
// two polls racing, one gets the login and the other EEXPIRED.
func (d *QRDoor) collect(ctx context.Context, id string, meta Meta) (*QRPoll, error) {
	var login *Login
	err := d.update(ctx, func(tx wxlogin.Tx) error {
		login = nil
		q, err := tx.QRLogin(ctx, id)
		if err != nil {
			return err
		}
		if q.Status != wxlogin.QRConfirmed {
			return errQRUsed
		}
		user, err := tx.User(ctx, q.UserID)
		if err != nil {
			return err
		}
		o := loginOrigin(q.AppID, meta)
		if user.Disabled {
			return disabledLogin(user, "qr", o)
		}
		if login, err = d.startSession(ctx, tx, user, "qr", o); err != nil {
			return err
		}
		q.Status, q.SessionID = wxlogin.QRSpent, login.Session.ID
		if err := tx.UpdateQRLogin(ctx, q); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "login.success", ActorID: user.ID, UserID: user.ID,
			AppID: q.AppID, SessionID: login.Session.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: detail("method", "qr", "qr", q.ID)})
	})
	if err != nil {
		return nil, err
	}
	if login, err = d.signAccess(login); err != nil {
		return nil, err
	}
	return &QRPoll{Status: wxlogin.QRConfirmed, Login: login}, nil
}

// ScanQRLogin records that p's user scanned the code of scene in p's mini program and returns
// where the request came from. Scanning again by the same user answers the same. Errors: EINVALID
// (malformed scene), EFORBIDDEN (not a mini-program session), ENOTFOUND, ECONFLICT (another user
// scanned it), EEXPIRED (expired or already decided).
func (d *QRDoor) ScanQRLogin(ctx context.Context, p *Principal, scene string, meta Meta) (*QRRequester, error) {
	var out *QRRequester
	err := d.decide(ctx, p, scene, "scan", meta, func(q *wxlogin.QRLogin) (bool, error) {
		out = &QRRequester{IP: q.IP, UserAgent: q.UserAgent, CreatedAt: q.CreatedAt}
		switch {
		case q.Status == wxlogin.QRPending:
			q.Status, q.UserID, q.ScannedAt = wxlogin.QRScanned, p.UserID, d.now()
			return true, nil
		case q.Status == wxlogin.QRScanned && q.UserID == p.UserID:
			return false, nil
		case q.Status == wxlogin.QRScanned:
			return false, conflictf("another user already scanned this code")
		}
		return false, errQRUsed
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ConfirmQRLogin lets the website log in as p's user, who scanned scene. Errors: EINVALID,
// EFORBIDDEN (not a mini-program session, or another user scanned it), ENOTFOUND, ECONFLICT (not
// scanned yet, or already decided), EEXPIRED.
func (d *QRDoor) ConfirmQRLogin(ctx context.Context, p *Principal, scene string, meta Meta) error {
	return d.decide(ctx, p, scene, "confirm", meta, func(q *wxlogin.QRLogin) (bool, error) {
		return d.settle(q, p, wxlogin.QRConfirmed)
	})
}

// DenyQRLogin refuses the website's request of scene, scanned by p's user. Errors: as
// ConfirmQRLogin.
func (d *QRDoor) DenyQRLogin(ctx context.Context, p *Principal, scene string, meta Meta) error {
	return d.decide(ctx, p, scene, "deny", meta, func(q *wxlogin.QRLogin) (bool, error) {
		return d.settle(q, p, wxlogin.QRDenied)
	})
}

// settle moves a request scanned by p's user to status.
func (d *QRDoor) settle(q *wxlogin.QRLogin, p *Principal, status string) (bool, error) {
	switch q.Status {
	case wxlogin.QRPending:
		return false, conflictf("scan the code before deciding")
	case wxlogin.QRScanned:
		if q.UserID != p.UserID {
			return false, &final{err: wxlogin.Errorf(wxlogin.EFORBIDDEN, "another user scanned this code")}
		}
		q.Status, q.DecidedAt = status, d.now()
		return true, nil
	}
	if q.UserID != p.UserID {
		return false, &final{err: wxlogin.Errorf(wxlogin.EFORBIDDEN, "another user scanned this code")}
	}
	return false, conflictf("this request was already %s", decided(q.Status))
}

func decided(status string) string {
	if status == wxlogin.QRDenied {
		return "denied"
	}
	return "confirmed"
}

// decide runs one mini-program step on the request of scene at p's app in a transaction: change
// reports whether it changed q (then stored, audited and notified).
func (d *QRDoor) decide(ctx context.Context, p *Principal, scene, step string, meta Meta, change func(q *wxlogin.QRLogin) (bool, error)) error {
	if !validScene(scene) {
		return wxlogin.Errorf(wxlogin.EINVALID, "scene must be 1 to 32 letters or digits")
	}
	if p.AppID == "" {
		return wxlogin.Errorf(wxlogin.EFORBIDDEN, "scan with a mini-program session")
	}
	var id string
	changed := false
	err := d.update(ctx, func(tx wxlogin.Tx) error {
		changed = false
		q, err := tx.QRLoginByScene(ctx, p.AppID, scene)
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
			return &final{err: errQRNotFound}
		} else if err != nil {
			return err
		}
		id = q.ID
		if q.Expired(d.now()) {
			return &final{err: errQRExpired, event: &wxlogin.AuditEvent{Type: "qr.failure", ActorID: p.UserID, UserID: p.UserID,
				AppID: q.AppID, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent,
				Detail: detail("qr", q.ID, "step", step, "reason", "expired")}}
		}
		if changed, err = change(q); err != nil || !changed {
			return err
		}
		if err := tx.UpdateQRLogin(ctx, q); err != nil {
			return err
		}
		return tx.AddAuditEvent(ctx, &wxlogin.AuditEvent{Time: d.now(), Type: "qr." + step, ActorID: p.UserID, UserID: p.UserID,
			AppID: q.AppID, SessionID: p.SessionID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail("qr", q.ID)})
	})
	if err != nil || !changed {
		return err
	}
	if err := d.cfg.Notifier.Notify(context.WithoutCancel(ctx), id); err != nil {
		// The poll still sees the change when its wait ends.
		d.log.WarnContext(ctx, "QR login notification lost", "err", err)
	}
	return nil
}

// run starts the notifier's subscription, if it has one, until ctx ends.
func (d *QRDoor) run(ctx context.Context) {
	if r, ok := d.cfg.Notifier.(interface{ Run(context.Context) error }); ok {
		go func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "QR login notifications stopped; polls wait their full time", "err", err)
			}
		}()
	}
}

// PruneQRLogins deletes the QR login requests that expired before before and returns how many.
func (d *QRDoor) PruneQRLogins(ctx context.Context, before time.Time) (int64, error) {
	return d.store.PruneQRLogins(ctx, before)
}
