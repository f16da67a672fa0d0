package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// target is a wxlogin serve under test, with the simulator it asks.
type target struct {
	base, sim string
	client    *http.Client
}

type loginAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
	NewUser      bool   `json:"new_user"`
}

// mintCode asks the simulator for a wx.login code of device user.
func (t *target) mintCode(user string) (string, error) {
	body, _ := json.Marshal(map[string]string{"appid": benchAppID, "user": user})
	req, _ := http.NewRequest(http.MethodPost, t.sim+"/sim/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	b, err := send(t.client, req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var out struct{ Code string }
	if err := json.Unmarshal(b, &out); err != nil || out.Code == "" {
		return "", fmt.Errorf("sim login: bad answer")
	}
	return out.Code, nil
}

func (t *target) loginReq(code string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, t.base+"/v1/login/wechat",
		strings.NewReader(`{"appid":"`+benchAppID+`","code":"`+code+`"}`))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// login logs device user in (outside any measurement), trying up to three times (a setup step
// should not end the run on one transient failure; the measured runs count every failure).
func (t *target) login(user string) (a *loginAnswer, err error) {
	for range 3 {
		if a, err = t.loginOnce(user); err == nil {
			return a, nil
		}
	}
	return nil, err
}

func (t *target) loginOnce(user string) (*loginAnswer, error) {
	code, err := t.mintCode(user)
	if err != nil {
		return nil, err
	}
	b, err := send(t.client, t.loginReq(code), http.StatusOK)
	if err != nil {
		return nil, err
	}
	var a loginAnswer
	return &a, json.Unmarshal(b, &a)
}

// parallel runs f(i) for i in [0, n) on conc goroutines and returns the first error.
func parallel(n, conc int, f func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// meOp is scenario 1: GET /v1/me with valid access tokens (worker w cycles through its own).
func (t *target) meOp(tokens []string) op {
	return func(ctx context.Context, w int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[w%len(tokens)])
		_, err := send(t.client, req, http.StatusOK)
		return err
	}
}

// introspectOp is scenario 2: POST /v1/introspect (form, HTTP Basic) of valid tokens.
func (t *target) introspectOp(tokens []string) op {
	return func(ctx context.Context, w int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/introspect",
			strings.NewReader("token="+url.QueryEscape(tokens[w%len(tokens)])))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(benchClientID, benchClientSecret)
		b, err := send(t.client, req, http.StatusOK)
		if err == nil && !bytes.Contains(b, []byte(`"active":true`)) {
			err = fmt.Errorf("introspect: token not active")
		}
		return err
	}
}

// codePool is pre-minted wx.login codes, handed out once each.
type codePool struct {
	codes []string
	next  atomic.Int64
}

func (p *codePool) take() (string, bool) {
	i := int(p.next.Add(1)) - 1
	if i >= len(p.codes) {
		return "", false
	}
	return p.codes[i], true
}

// mintCodes mints n codes for the users, round robin (so no user gets more than ceil(n/len(users))
// and WeChat's 100 code2Session calls a minute per user, 45011, is not hit when users are many).
func (t *target) mintCodes(users []string, n, conc int) (*codePool, error) {
	p := &codePool{codes: make([]string, n)}
	err := parallel(n, conc, func(i int) error {
		c, err := t.mintCode(users[i%len(users)])
		p.codes[i] = c
		return err
	})
	// Shuffle, so that consecutive logins are of different users.
	rand.Shuffle(len(p.codes), func(i, j int) { p.codes[i], p.codes[j] = p.codes[j], p.codes[i] })
	return p, err
}

// loginOp is scenarios 4 and 5: POST /v1/login/wechat with a pre-minted code; wantNew says whether
// the user must be new.
func (t *target) loginOp(pool *codePool, wantNew bool) op {
	return func(ctx context.Context, w int) error {
		code, ok := pool.take()
		if !ok {
			return errExhausted
		}
		b, err := send(t.client, t.loginReq(code).WithContext(ctx), http.StatusOK)
		if err != nil {
			return err
		}
		if isNew := bytes.Contains(b, []byte(`"new_user":true`)); isNew != wantNew {
			return fmt.Errorf("login: new_user=%v, want %v", isNew, wantNew)
		}
		return nil
	}
}

// refreshOp is scenario 6: each worker owns a refresh-token chain; each answer gives the next.
func (t *target) refreshOp(chains []string) op {
	return func(ctx context.Context, w int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/v1/token/refresh",
			strings.NewReader(`{"refresh_token":"`+chains[w]+`"}`))
		req.Header.Set("Content-Type", "application/json")
		b, err := send(t.client, req, http.StatusOK)
		if err != nil {
			return err
		}
		var a loginAnswer
		if err := json.Unmarshal(b, &a); err != nil || a.RefreshToken == "" {
			return fmt.Errorf("refresh: no refresh_token in the answer")
		}
		chains[w] = a.RefreshToken // only worker w touches chains[w]
		return nil
	}
}

// baselineOp is GET / on the baseline server.
func baselineOp(c *http.Client, base string) op {
	return func(ctx context.Context, w int) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		_, err := send(c, req, http.StatusOK)
		return err
	}
}
