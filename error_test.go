package wxlogin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
)

func TestErrorCode(t *testing.T) {
	e := &wxlogin.Error{Code: wxlogin.ERATELIMITED, Message: "slow down", RetryAfter: 3 * time.Second}
	wrapped := fmt.Errorf("ctx: %w", e)
	if wxlogin.ErrorCode(wrapped) != wxlogin.ERATELIMITED || wxlogin.ErrorMessage(wrapped) != "slow down" || wxlogin.RetryAfter(wrapped) != 3*time.Second {
		t.Error("wrapped *Error not found")
	}
	other := errors.New("disk on fire at /var/secret")
	if wxlogin.ErrorCode(other) != wxlogin.EINTERNAL || wxlogin.ErrorMessage(other) != "internal error" {
		t.Error("a plain error must be internal and show no details")
	}
	if wxlogin.ErrorCode(nil) != "" || wxlogin.ErrorMessage(nil) != "" {
		t.Error("nil error has a code")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := wxlogin.Secret("tiihtNczf5v6AKRyjwEUhQ==")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", s)
	j, _ := json.Marshal(struct{ K wxlogin.Secret }{s})
	out := fmt.Sprint(s) + fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s) + logs.String() + string(j)
	if strings.Contains(out, "tiihtNczf5v6AKRyjwEUhQ") {
		t.Fatalf("secret printed: %s", out)
	}
	if s.Reveal() != "tiihtNczf5v6AKRyjwEUhQ==" || wxlogin.Secret("").String() != "" {
		t.Error("Reveal/empty")
	}
}

func TestNewID(t *testing.T) {
	a, b := wxlogin.NewID("usr"), wxlogin.NewID("usr")
	if a == b || !strings.HasPrefix(a, "usr_") || len(a) != 4+26 {
		t.Errorf("ids %q %q", a, b)
	}
}
