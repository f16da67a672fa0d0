// Package reseal rotates the data keys' ciphertexts: it re-encrypts, under a keyring's primary key,
// every value sealed with one of its older keys (the session_keys of WeChat identities and the
// private halves of signing keys), while servers keep running. `wxlogin keys reseal` runs it.
package reseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/auth"
	"github.com/wxlogin/wxlogin/keyring"
	"github.com/wxlogin/wxlogin/token"
)

// Counts counts what a reseal found in one kind of sealed value. Scanned is the sum of the
// others.
type Counts struct {
	Scanned    int
	Resealed   int            // re-encrypted under the primary key (with --dry-run: would be)
	Current    int            // already sealed with the primary key
	Empty      int            // nothing sealed (an identity WeChat never gave a session_key)
	Changed    int            // rewritten or deleted by someone else meanwhile: left as they are
	Unreadable int            // sealed with a key not in data_keys, or damaged: reported, never touched
	Unknown    map[string]int // unreadable values by the key id they name ("?": not in the sealed format)
}

// unreadable counts one value that cannot be opened.
func (c *Counts) unreadable(sealed []byte) {
	c.Unreadable++
	id, ok := keyring.KeyID(sealed)
	if !ok {
		id = "?"
	}
	if c.Unknown == nil {
		c.Unknown = map[string]int{}
	}
	c.Unknown[id]++
}

// Report is the outcome of a reseal.
type Report struct {
	Primary       string
	DryRun        bool
	SessionKeys   Counts
	SigningKeys   Counts
	UnreadableIDs []string // signing keys that cannot be opened
}

// resealer re-encrypts, under the keyring's primary key, every sealed value made with one of its
// older keys: the session_keys of WeChat identities and the private halves of signing keys. It
// works while serve instances run: each batch is rewritten in its own short transaction, which
// re-reads every row and rewrites it only if it still holds the very bytes that were resealed, so
// a session_key a login stored meanwhile is never overwritten. Running it again is harmless.
type resealer struct {
	store    wxlogin.Store
	ring     *keyring.Keyring
	batch    int       // identities per transaction
	dryRun   bool      // count only
	progress io.Writer // a line every 100 batches; nil: none
}

// Options configure Run.
type Options struct {
	Store    wxlogin.Store
	Ring     *keyring.Keyring
	Batch    int       // identities per transaction (at least 1)
	DryRun   bool      // count only, change nothing
	Progress io.Writer // a line every 100 batches; nil: none
}

// Run reseals the signing keys, then the session_keys, under o.Ring's primary key. It returns the
// counts, and an error (with the counts so far) when the store fails or ctx ends; what was
// committed stays committed. Running it again is harmless.
func Run(ctx context.Context, o Options) (*Report, error) {
	r := &resealer{store: o.Store, ring: o.Ring, batch: o.Batch, dryRun: o.DryRun, progress: o.Progress}
	return r.run(ctx)
}

// run is Run.
func (r *resealer) run(ctx context.Context) (*Report, error) {
	rep := &Report{Primary: r.ring.PrimaryID(), DryRun: r.dryRun}
	if r.batch < 1 {
		return rep, errors.New("reseal: batch must be at least 1")
	}
	if err := r.signingKeys(ctx, rep); err != nil {
		return rep, err
	}
	return rep, r.sessionKeys(ctx, rep)
}

// resealJob is one value to rewrite: old is what was read, sealed its replacement.
type resealJob struct {
	appid, openid string // identity; for a signing key, appid holds the key id
	old, sealed   []byte
}

// classify counts sealed in c unless it needs resealing, and then returns the replacement sealed
// under the primary key (nil with --dry-run, after counting it as resealed).
func (r *resealer) classify(c *Counts, sealed, ad []byte) ([]byte, error) {
	c.Scanned++
	switch {
	case len(sealed) == 0:
		c.Empty++
		return nil, nil
	case !r.ring.NeedsReseal(sealed):
		if id, ok := keyring.KeyID(sealed); ok && id == r.ring.PrimaryID() {
			c.Current++
		} else {
			c.unreadable(sealed)
		}
		return nil, nil
	}
	plain, err := r.ring.Open(sealed, ad)
	if err != nil {
		c.unreadable(sealed) // a known key, but damaged data or data moved to another row
		return nil, nil
	}
	defer clear(plain)
	if r.dryRun {
		c.Resealed++
		return nil, nil
	}
	return r.ring.Seal(plain, ad)
}

// signingKeys reseals the private halves of the signing keys, in one transaction.
func (r *resealer) signingKeys(ctx context.Context, rep *Report) error {
	keys, err := r.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("reseal: signing keys: %w", err)
	}
	c := &rep.SigningKeys
	var jobs []resealJob
	for _, k := range keys {
		before := c.Unreadable
		sealed, err := r.classify(c, k.Private, token.PrivateKeyAD(k.ID))
		if err != nil {
			return err
		}
		if c.Unreadable > before {
			rep.UnreadableIDs = append(rep.UnreadableIDs, k.ID)
		}
		if sealed != nil {
			jobs = append(jobs, resealJob{appid: k.ID, old: k.Private, sealed: sealed})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	var done, changed int
	err = r.store.Update(ctx, func(tx wxlogin.Tx) error {
		done, changed = 0, 0
		keys, err := tx.SigningKeys(ctx)
		if err != nil {
			return err
		}
		byID := make(map[string]*wxlogin.SigningKey, len(keys))
		for _, k := range keys {
			byID[k.ID] = k
		}
		for _, j := range jobs {
			k := byID[j.appid]
			if k == nil || !bytes.Equal(k.Private, j.old) {
				changed++
				continue
			}
			k.Private = j.sealed // the row as it is now (RetiredAt included), only re-encrypted
			if err := tx.UpdateSigningKey(ctx, k); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reseal: signing keys: %w", err)
	}
	c.Resealed += done
	c.Changed += changed
	return nil
}

// sessionKeys pages through the identities in (appid, openid) order and reseals their
// session_keys, one transaction per batch.
func (r *resealer) sessionKeys(ctx context.Context, rep *Report) error {
	c := &rep.SessionKeys
	appid, openid := "", ""
	for n := 1; ; n++ {
		page, err := r.store.IdentitiesAfter(ctx, appid, openid, r.batch)
		if err != nil {
			return fmt.Errorf("reseal: reading identities: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		last := page[len(page)-1]
		appid, openid = last.AppID, last.OpenID
		var jobs []resealJob
		for _, id := range page {
			sealed, err := r.classify(c, id.SessionKey, auth.SessionKeyAD(id.AppID, id.OpenID))
			if err != nil {
				return err
			}
			if sealed != nil {
				jobs = append(jobs, resealJob{appid: id.AppID, openid: id.OpenID, old: id.SessionKey, sealed: sealed})
			}
		}
		if len(jobs) > 0 {
			done, changed, err := r.rewriteIdentities(ctx, jobs)
			if err != nil {
				return fmt.Errorf("reseal: session_keys: %w", err)
			}
			c.Resealed += done
			c.Changed += changed
		}
		if r.progress != nil && n%100 == 0 {
			fmt.Fprintf(r.progress, "reseal: %d identities scanned, %d resealed so far\n", c.Scanned, c.Resealed)
		}
	}
}

// rewriteIdentities stores the jobs' new session_keys in one transaction, each only if the row
// still holds the sealed bytes that were read; it returns how many it rewrote and how many had
// changed (or gone) meanwhile.
func (r *resealer) rewriteIdentities(ctx context.Context, jobs []resealJob) (done, changed int, err error) {
	err = r.store.Update(ctx, func(tx wxlogin.Tx) error {
		done, changed = 0, 0 // Update may run fn again
		for _, j := range jobs {
			cur, err := tx.Identity(ctx, j.appid, j.openid)
			if wxlogin.ErrorCode(err) == wxlogin.ENOTFOUND {
				changed++
				continue
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(cur.SessionKey, j.old) {
				changed++ // a login stored a newer session_key: it wins
				continue
			}
			// The row as it is now, only re-encrypted: the session_key and its times are unchanged.
			cur.SessionKey = j.sealed
			if err := tx.UpdateIdentity(ctx, cur); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	return done, changed, err
}

// Write prints the report: one line per kind of value, then what the operator may do next.
func (rep *Report) Write(w io.Writer, dataKeys []string) {
	verb := "resealed"
	if rep.DryRun {
		verb = "to reseal"
	}
	line := func(what string, c Counts) {
		fmt.Fprintf(w, "%s: %d scanned, %d %s, %d already current, %d unreadable", what, c.Scanned, c.Resealed, verb, c.Current, c.Unreadable)
		if c.Empty > 0 {
			fmt.Fprintf(w, ", %d without one", c.Empty)
		}
		if c.Changed > 0 {
			fmt.Fprintf(w, ", %d changed meanwhile (left as they are)", c.Changed)
		}
		fmt.Fprintln(w)
	}
	line("signing keys", rep.SigningKeys)
	line("session_keys", rep.SessionKeys)

	unknown := map[string]int{}
	for _, c := range []Counts{rep.SigningKeys, rep.SessionKeys} {
		for id, n := range c.Unknown {
			unknown[id] += n
		}
	}
	if len(unknown) > 0 {
		var parts []string
		for _, id := range slices.Sorted(maps.Keys(unknown)) {
			parts = append(parts, fmt.Sprintf("%s: %d", id, unknown[id]))
		}
		fmt.Fprintf(w, "unreadable values name these data keys (\"?\": not sealed data): %s\n", strings.Join(parts, ", "))
		if len(rep.UnreadableIDs) > 0 {
			fmt.Fprintf(w, "unreadable signing keys: %s\n", strings.Join(rep.UnreadableIDs, ", "))
		}
		fmt.Fprintln(w, "they were left as they are; put the missing key back in data_keys (after the primary) and run again to reseal them")
	}
	pending := rep.SigningKeys.Changed + rep.SessionKeys.Changed
	if rep.DryRun {
		pending += rep.SigningKeys.Resealed + rep.SessionKeys.Resealed
	}
	var others []string
	for _, id := range dataKeys {
		if id != rep.Primary {
			others = append(others, id)
		}
	}
	unreadable := rep.SigningKeys.Unreadable + rep.SessionKeys.Unreadable
	switch {
	case rep.SigningKeys.Scanned+rep.SessionKeys.Scanned == unreadable && unreadable > 0:
		fmt.Fprintf(w, "no value opens with data_keys (%s): is it the right configuration?\n", strings.Join(dataKeys, ", "))
	case pending > 0 && rep.DryRun:
		fmt.Fprintf(w, "%d values are still sealed with older keys: run 'wxlogin keys reseal' without --dry-run\n", pending)
	case pending > 0:
		fmt.Fprintf(w, "%d values changed while this ran: run 'wxlogin keys reseal' again\n", pending)
	case len(others) > 0:
		fmt.Fprintf(w, "every readable value is sealed with %s: %s may be removed from data_keys\n", rep.Primary, strings.Join(others, ", "))
	default:
		fmt.Fprintf(w, "every readable value is sealed with %s\n", rep.Primary)
	}
}
