package auth

import (
	"context"
	"strings"

	"github.com/wxlogin/wxlogin"
)

// NewUser is what an operator gives to create a user (POST /admin/v1/users): a username with its
// password, a verified phone number, or both; a nickname optionally. CountryCode defaults to 86.
type NewUser struct {
	Username    string
	Password    string
	CountryCode string
	Phone       string
	Nickname    string
}

// validPhone returns EINVALID unless phone is 5 to 20 digits and countryCode 1 to 4 digits.
func validPhone(countryCode, phone string) error {
	digits := func(s string, lo, hi int) bool {
		if len(s) < lo || len(s) > hi {
			return false
		}
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	if !digits(phone, 5, 20) || !digits(countryCode, 1, 4) {
		return wxlogin.Errorf(wxlogin.EINVALID, "phone must be 5 to 20 digits and country_code 1 to 4 digits")
	}
	return nil
}

// CreateUser creates a user the way an operator vouches for it: under the existing_only policy,
// the only way users come to exist. With Username (and Password, under the password rules) the
// user gets a business account; with Phone, that number as verified (the phone door finds it).
// Audited as user.create with actor admin:<name>. Errors: EINVALID (neither, or a rule broken),
// ECONFLICT (username or phone taken).
func (m *Administration) CreateUser(ctx context.Context, a Admin, in NewUser) (*UserSummary, error) {
	if in.Username == "" && in.Phone == "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "a user needs a username (with a password), a phone, or both")
	}
	var name, hash string
	if in.Username != "" || in.Password != "" {
		var err error
		if name, err = normalizeUsername(in.Username); err != nil {
			return nil, err
		}
		if err := validatePassword(name, in.Password); err != nil {
			return nil, err
		}
		hash = m.accounts.newHash(in.Password)
	}
	in.CountryCode = strings.TrimPrefix(in.CountryCode, "+")
	if in.Phone != "" {
		if in.CountryCode == "" {
			in.CountryCode = "86"
		}
		if err := validPhone(in.CountryCode, in.Phone); err != nil {
			return nil, err
		}
	} else if in.CountryCode != "" {
		return nil, wxlogin.Errorf(wxlogin.EINVALID, "country_code goes with phone")
	}
	in.Nickname = strings.TrimSpace(in.Nickname)
	if err := validNickname(in.Nickname); err != nil {
		return nil, err
	}
	now := m.now()
	user := &wxlogin.User{ID: wxlogin.NewID("usr"), Nickname: in.Nickname, CreatedAt: now, UpdatedAt: now}
	if in.Phone != "" {
		user.Phone, user.PhoneCountryCode, user.PhoneVerifiedAt = in.Phone, in.CountryCode, now
	}
	err := m.update(ctx, func(tx wxlogin.Tx) error {
		if name != "" {
			if _, err := tx.Account(ctx, name); err == nil {
				return conflictf("username %q is taken", name)
			} else if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				return err
			}
		}
		if in.Phone != "" {
			if _, err := tx.UserByPhone(ctx, in.CountryCode, in.Phone); err == nil {
				return conflictf("this phone number belongs to another user")
			} else if wxlogin.ErrorCode(err) != wxlogin.ENOTFOUND {
				return err
			}
		}
		if err := tx.CreateUser(ctx, user); err != nil {
			return err
		}
		if name != "" {
			if err := tx.CreateAccount(ctx, &wxlogin.Account{UserID: user.ID, Username: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		e := a.origin().event("user.create", user.ID, detail("username", name, "phone", boolString(in.Phone != "")))
		e.Time = now
		return tx.AddAuditEvent(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return &UserSummary{User: user, Username: name}, nil
}

// newHash returns the argon2id hash of a new password, within the bound on concurrent hashing.
func (ac *Accounts) newHash(password string) string {
	ac.hashLimit <- struct{}{}
	defer func() { <-ac.hashLimit }()
	return hashPassword(password, ac.argon)
}
