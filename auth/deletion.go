package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/wxlogin/wxlogin"
)

// Account deletion. A user deletes their account with a recent proof of who they are — a fresh
// wx.login code of the app they are signed in at, or their password — and it is scheduled after
// the grace period (Config.DeletionGrace; 0 deletes at once); their sessions end at once. A login
// during the grace period does not cancel it (and its session ends with the account). When it is
// due (RunDeletions), everything personal goes: user, account, identities and their session_keys,
// phone, nickname, avatar, sessions, refresh tokens; the audit trail keeps only a pseudonym
// (Pseudonym) and the outbox a user.deleted event with the user id. Operators delete at once.

// Deletions is the account-deletion concern.
type Deletions struct {
	*core
	accounts *Accounts
	grace    time.Duration
}

// DeletionProof is what DeleteMe requires: a fresh wx.login code of the session's app, or the
// account's password.
type DeletionProof struct {
	Code     string
	Password string
}

// Deletion is a scheduled (or done) deletion.
type Deletion struct {
	DeleteAt time.Time
	Deleted  bool // deleted at once (no grace period)
}

// Pseudonym returns the id that replaces userID in the audit trail once the user is deleted: a
// one-way hash, the same for every event of the user.
func Pseudonym(userID string) string {
	h := sha256.Sum256([]byte("wxlogin deleted user\x00" + userID))
	return "del_" + hex.EncodeToString(h[:13])
}

// DeleteMe schedules the deletion of p's user and ends its sessions. Errors: EINVALID (no proof, or
// a code without an app), ECREDENTIALS (wrong password, or a code of another WeChat user),
// EINVALIDCODE and WeChat's errors (a bad code), ERATELIMITED (password guessing).
func (d *Deletions) DeleteMe(ctx context.Context, p *Principal, proof DeletionProof, meta Meta) (*Deletion, error) {
	if err := d.checkProof(ctx, p, proof, meta); err != nil {
		return nil, err
	}
	now := d.now()
	out := &Deletion{DeleteAt: now.Add(d.grace), Deleted: d.grace <= 0}
	o := principalOrigin(p, meta)
	err := d.store.Update(ctx, func(tx wxlogin.Tx) error {
		if _, err := tx.RevokeUserSessions(ctx, p.UserID, now); err != nil {
			return err
		}
		if out.Deleted {
			return forget(ctx, tx, p.UserID, o, now)
		}
		if err := tx.ScheduleDeletion(ctx, p.UserID, out.DeleteAt); err != nil {
			return err
		}
		e := o.event("user.delete_requested", p.UserID, detail("delete_at", out.DeleteAt.UTC().Format(time.RFC3339)))
		e.Time = now
		return tx.AddAuditEvent(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkProof returns nil when proof shows p's user is at the device now.
func (d *Deletions) checkProof(ctx context.Context, p *Principal, proof DeletionProof, meta Meta) error {
	switch {
	case proof.Password != "":
		acct, err := d.store.AccountByUser(ctx, p.UserID)
		if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
			return wxlogin.Errorf(wxlogin.EINVALID, "this user has no password: prove it with a fresh wx.login code")
		} else if err != nil {
			return err
		}
		_, err = d.accounts.checkPassword(ctx, acct.Username, proof.Password, meta)
		return err
	case proof.Code != "":
		if p.AppID == "" {
			return wxlogin.Errorf(wxlogin.EINVALID, "this session has no app: prove it with the password")
		}
		if err := checkCode(proof.Code); err != nil {
			return err
		}
		app, err := d.app(p.AppID)
		if err != nil {
			return err
		}
		ws, err := app.WeChat.Code2Session(ctx, proof.Code)
		if err != nil {
			return wechatError(callCode2Session, err)
		}
		id, err := d.store.Identity(ctx, p.AppID, ws.OpenID)
		if err != nil && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
			return err
		}
		if id == nil || id.UserID != p.UserID {
			return wxlogin.Errorf(wxlogin.ECREDENTIALS, "this code belongs to another WeChat user")
		}
		return nil
	}
	return wxlogin.Errorf(wxlogin.EINVALID, "deleting the account needs a fresh wx.login code or the password")
}

// DeleteUser deletes user id at once, for an operator. Errors: ENOTFOUND.
func (d *Deletions) DeleteUser(ctx context.Context, a Admin, id string) error {
	now := d.now()
	return d.store.Update(ctx, func(tx wxlogin.Tx) error { return forget(ctx, tx, id, a.origin(), now) })
}

// RunDeletions deletes the users whose grace period is over, and returns how many.
func (d *Deletions) RunDeletions(ctx context.Context) (int, error) {
	n := 0
	for {
		ids, err := d.store.DueDeletions(ctx, d.now(), 100)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		for _, id := range ids {
			err := d.store.Update(ctx, func(tx wxlogin.Tx) error {
				return forget(ctx, tx, id, origin{actor: "system:deletion"}, d.now())
			})
			if err != nil && wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				return n, err
			}
			n++
		}
	}
}

// forget deletes userID with everything personal, in tx, and audits user.delete under its
// pseudonym (the outbox's user.deleted event carries the user id).
func forget(ctx context.Context, tx wxlogin.Tx, userID string, o origin, now time.Time) error {
	pseudo := Pseudonym(userID)
	if err := tx.ForgetUser(ctx, userID, pseudo); err != nil {
		return err
	}
	if o.actor == userID {
		o.actor = pseudo
	}
	o.sessionID = ""
	e := o.event("user.delete", userID, detail("pseudonym", pseudo))
	e.Time, e.IP, e.UserAgent = now, "", ""
	return tx.AddAuditEvent(ctx, e)
}

// ForgetUser invalidates what the forgotten user had cached, as DeleteUser.
func (t *trackingTx) ForgetUser(ctx context.Context, userID, pseudonym string) error {
	err := t.Tx.ForgetUser(ctx, userID, pseudonym)
	if err == nil {
		t.touch(keyDeleted, userID)
	}
	return err
}

// ForgetUser runs as a one-statement transaction, so that it is tracked too.
func (t *cachedStore) ForgetUser(ctx context.Context, userID, pseudonym string) error {
	return t.Update(ctx, func(tx wxlogin.Tx) error { return tx.ForgetUser(ctx, userID, pseudonym) })
}
