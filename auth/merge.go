package auth

import (
	"context"
	"strconv"

	"github.com/wxlogin/wxlogin"
)

// The merge policy. A person may reach wxlogin first through one door (a mini program, an account)
// and later through another; when wxlogin learns that two users are one person (a bind with
// credentials, or a unionid), it merges them only when one side is "bare": a user created
// automatically by a WeChat login that has no business account and no verified phone. Its
// identities move to the other user, its sessions end, and it is deleted (no orphan is left).
// Otherwise the answer is ECONFLICT for the app to resolve, and the conflict is audited.
// No unionid ever belongs to two users.

// isBare reports whether the user is a bare auto-created user (see the merge policy).
func isBare(ctx context.Context, tx wxlogin.Tx, u *wxlogin.User) (bool, error) {
	if u.Phone != "" {
		return false, nil
	}
	_, err := tx.AccountByUser(ctx, u.ID)
	switch wxlogin.ErrorCode(err) {
	case wxlogin.ENOTFOUND:
		return true, nil
	case "":
		return false, nil
	default:
		return false, err
	}
}

// mergeInto merges user fromID into user toID when fromID is bare; reason and o go to the audit
// trail. Errors: ECONFLICT (final) when fromID is not bare or the two hold different unionids,
// EFORBIDDEN (final) when either is disabled.
func (c *core) mergeInto(ctx context.Context, tx wxlogin.Tx, fromID, toID, reason string, o origin) error {
	if fromID == toID {
		return nil
	}
	from, err := tx.User(ctx, fromID)
	if err != nil {
		return err
	}
	to, err := tx.User(ctx, toID)
	if err != nil {
		return err
	}
	if from.Disabled || to.Disabled {
		// Merging must not wash a disabled user's flag away (or lend it to another).
		return &final{err: wxlogin.Errorf(wxlogin.EFORBIDDEN, "%s", msgDisabled),
			event: o.finalEvent("merge.refused", toID, detail("other_user", fromID, "reason", "disabled"))}
	}
	bare, err := isBare(ctx, tx, from)
	if err != nil {
		return err
	}
	if !bare || (from.UnionID != "" && to.UnionID != "" && from.UnionID != to.UnionID) {
		return c.mergeConflict(fromID, toID, reason, o)
	}
	ids, err := tx.IdentitiesByUser(ctx, fromID)
	if err != nil {
		return err
	}
	toIDs, err := tx.IdentitiesByUser(ctx, toID)
	if err != nil {
		return err
	}
	for _, a := range ids {
		for _, b := range toIDs {
			if a.AppID == b.AppID && a.OpenID != b.OpenID {
				// One user has at most one identity per app.
				return c.mergeConflict(fromID, toID, reason, o)
			}
		}
	}
	now := c.now()
	for _, id := range ids {
		id.UserID, id.UpdatedAt = toID, now
		if err := tx.UpdateIdentity(ctx, id); err != nil {
			return err
		}
	}
	if _, err := tx.RevokeUserSessions(ctx, fromID, now); err != nil {
		return err
	}
	unionid := from.UnionID
	if err := tx.DeleteUser(ctx, fromID); err != nil { // frees the unionid before `to` takes it
		return err
	}
	changed := false
	if to.UnionID == "" && unionid != "" {
		to.UnionID, changed = unionid, true
	}
	if to.Nickname == "" && from.Nickname != "" {
		to.Nickname, to.AvatarURL, changed = from.Nickname, from.AvatarURL, true
	}
	if changed {
		to.UpdatedAt = now
		if err := tx.UpdateUser(ctx, to); err != nil {
			return err
		}
	}
	e := o.event("user.merge", toID, detail("merged_user", fromID, "reason", reason, "identities", strconv.Itoa(len(ids))))
	if e.ActorID == "" {
		e.ActorID = toID // a login merging before it knows its user: the surviving user acts
	}
	e.Time = now
	return tx.AddAuditEvent(ctx, e)
}

// mergeConflict returns the final ECONFLICT of a refused merge, carrying its audit event.
func (c *core) mergeConflict(fromID, toID, reason string, o origin) error {
	return &final{
		err:   wxlogin.Errorf(wxlogin.ECONFLICT, "this WeChat identity belongs to another user who has their own account or phone; unbind it there first"),
		event: o.finalEvent("merge.conflict", toID, detail("other_user", fromID, "reason", reason)),
	}
}

// linkUnionID records that user has unionid. When another user holds it, the bare one of the two
// is merged into the other, and the surviving user is returned. Errors: ECONFLICT (final) when
// neither is bare, or user already has a different unionid.
func (c *core) linkUnionID(ctx context.Context, tx wxlogin.Tx, user *wxlogin.User, unionid string, o origin) (*wxlogin.User, error) {
	if unionid == "" || user.UnionID == unionid {
		return user, nil
	}
	if user.UnionID != "" {
		return nil, &final{
			err:   wxlogin.Errorf(wxlogin.ECONFLICT, "this user already has another unionid (was the app moved to another open platform account?)"),
			event: o.finalEvent("unionid.mismatch", user.ID, detail("reason", "user holds another unionid")),
		}
	}
	other, err := tx.UserByUnionID(ctx, unionid)
	switch {
	case wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND:
		user.UnionID, user.UpdatedAt = unionid, c.now()
		if err := tx.UpdateUser(ctx, user); err != nil {
			return nil, err
		}
		return user, nil
	case err != nil:
		return nil, err
	}
	// Two users are one person. Merge the bare one into the other.
	if bare, err := isBare(ctx, tx, user); err != nil {
		return nil, err
	} else if bare {
		if err := c.mergeInto(ctx, tx, user.ID, other.ID, "unionid", o); err != nil {
			return nil, err
		}
		return tx.User(ctx, other.ID)
	}
	if err := c.mergeInto(ctx, tx, other.ID, user.ID, "unionid", o); err != nil {
		return nil, err
	}
	return tx.User(ctx, user.ID)
}
