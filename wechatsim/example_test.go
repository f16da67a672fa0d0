package wechatsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/wxlogin/wxlogin/wechatsim"
)

func Example() {
	sim := wechatsim.New(wechatsim.Options{Apps: []wechatsim.App{
		{ID: "wx1111111111111111", Secret: "demo-secret", Platform: "demo-open"},
	}})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	code, _ := sim.Login("wx1111111111111111", "alice") // what wx.login returns on the device
	q := url.Values{"appid": {"wx1111111111111111"}, "secret": {"demo-secret"}, "js_code": {code},
		"grant_type": {"authorization_code"}}
	for range 2 {
		resp, err := http.Get(srv.URL + "/sns/jscode2session?" + q.Encode())
		if err != nil {
			panic(err)
		}
		var body struct {
			OpenID     string `json:"openid"`
			SessionKey string `json:"session_key"`
			UnionID    string `json:"unionid"`
			Errcode    int    `json:"errcode"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		fmt.Println(body.OpenID == sim.OpenID("wx1111111111111111", "alice"), len(body.SessionKey),
			body.UnionID == sim.UnionID("demo-open", "alice"), body.Errcode)
	}
	// Output:
	// true 24 true 0
	// false 0 false 40163
}
