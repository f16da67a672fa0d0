package main

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wxlogin/wxlogin"
)

func TestSimCommandKinds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wxlogin", "sim", "--addr", "127.0.0.1:0",
			"--official-account", "wxoa0000000000001:oas:plat", "--official-account", "wxoa0000000000002:oas2",
			"--website", "wxweb000000000001:webs:plat", "--mobile-app", "wxmob000000000001:mobs:plat"}, envFrom(nil), nil, stdout, &syncBuffer{})
	}()
	base := waitFor(t, stdout, regexp.MustCompile(`listening on (http://\S+)`))
	for _, line := range []string{"app " + demoAppID + ", miniprogram", "app wxoa0000000000001, official_account (open platform: plat)",
		"app wxoa0000000000002, official_account (open platform: none)", "app wxweb000000000001, website", "app wxmob000000000001, mobile_app"} {
		if !strings.Contains(stdout.String(), line) {
			t.Errorf("start-up lines lack %q:\n%s", line, stdout)
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"appid": {"wxweb000000000001"}, "redirect_uri": {"https://rp.example/cb"}, "response_type": {"code"},
		"scope": {"snsapi_login"}, "state": {"s"}, "sim_user": {"u"}}
	resp, err := noRedirect.Get(base + "/connect/qrconnect?" + q.Encode())
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("qrconnect of the --website app: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/sim/login", "application/json", strings.NewReader(`{"appid":"wxmob000000000001","user":"u"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/sim/login of the --mobile-app app: %v %v", err, resp)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewSimWithKindsErrors(t *testing.T) {
	_, _, err := newSimWithKinds(nil, kindFlags{websites: appFlags{"wxweb1:s3cretvalue:"}})
	if err == nil || !strings.Contains(err.Error(), "--website") || strings.Contains(err.Error(), "s3cretvalue") {
		t.Errorf("bad --website: %v", err)
	}
	_, _, err = newSimWithKinds([]string{"wxdup:a"}, kindFlags{officialAccounts: appFlags{"wxdup:b"}})
	if err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate appid: %v", err)
	}
	sim, apps, err := newSimWithKinds(nil, kindFlags{mobileApps: appFlags{"wxm:s"}})
	if err != nil || len(apps) != 2 || apps[0].ID != demoAppID || apps[1].Kind != wxlogin.KindMobileApp || len(sim.Apps()) != 2 {
		t.Errorf("demo app plus a mobile app: %+v %v", apps, err)
	}
}
