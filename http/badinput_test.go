package http_test

import (
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wxlogin/wxlogin"
)

// TestBadInput sends malformed requests to every JSON endpoint: each must get a 4xx in the JSON
// error shape, and the server must stay healthy.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	tk := e.login(appA, "nina")
	big := `{"code":"` + strings.Repeat("a", 70<<10) + `"}`
	deep := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	type tc struct {
		name, method, path, ct, body string
		auth                         bool
		status                       int
		code                         string
	}
	var cases []tc
	for _, path := range []string{"/v1/login/wechat", "/v1/login/password", "/v1/accounts", "/v1/token/refresh"} {
		cases = append(cases,
			tc{"no content type", "POST", path, "", `{"code":"x"}`, false, 400, wxlogin.EINVALID},
			tc{"text/plain", "POST", path, "text/plain", `{"code":"x"}`, false, 400, wxlogin.EINVALID},
			tc{"form", "POST", path, "application/x-www-form-urlencoded", `code=x`, false, 400, wxlogin.EINVALID},
			tc{"empty body", "POST", path, "application/json", ``, false, 400, wxlogin.EINVALID},
			tc{"malformed", "POST", path, "application/json", `{"code":`, false, 400, wxlogin.EINVALID},
			tc{"not an object", "POST", path, "application/json", `["code"]`, false, 400, wxlogin.EINVALID},
			tc{"string", "POST", path, "application/json", `"code"`, false, 400, wxlogin.EINVALID},
			tc{"null", "POST", path, "application/json", `null`, false, 400, wxlogin.EINVALID},
			tc{"unknown field", "POST", path, "application/json", `{"nope":1}`, false, 400, wxlogin.EINVALID},
			tc{"wrong type", "POST", path, "application/json", `{"code":5,"username":5,"refresh_token":5}`, false, 400, wxlogin.EINVALID},
			tc{"trailing data", "POST", path, "application/json", `{} {}`, false, 400, wxlogin.EINVALID},
			tc{"trailing garbage", "POST", path, "application/json", `{}x`, false, 400, wxlogin.EINVALID},
			tc{"huge body", "POST", path, "application/json", big, false, 400, wxlogin.EINVALID},
			tc{"deeply nested", "POST", path, "application/json", deep, false, 400, wxlogin.EINVALID},
			tc{"missing fields", "POST", path, "application/json", `{}`, false, 400, wxlogin.EINVALID},
			tc{"GET", "GET", path, "", ``, false, 405, wxlogin.EMETHODNOTALLOWED},
		)
	}
	cases = append(cases,
		tc{"code with NUL", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"ab\u0000cd"}`, false, 400, wxlogin.EINVALID},
		tc{"code with invalid UTF-8", "POST", "/v1/login/wechat", "application/json", "{\"appid\":\"" + appA + "\",\"code\":\"ab\xff\xfecd\"}", false, 400, wxlogin.EINVALID},
		tc{"code too long", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"` + strings.Repeat("a", 129) + `"}`, false, 400, wxlogin.EINVALID},
		tc{"code with spaces", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"a b"}`, false, 400, wxlogin.EINVALID},
		tc{"username without password", "POST", "/v1/login/wechat", "application/json", `{"appid":"` + appA + `","code":"abc","username":"x"}`, false, 400, wxlogin.EINVALID},
		tc{"me without token", "GET", "/v1/me", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		tc{"me with garbage token", "GET", "/v1/me", "", ``, false, 401, wxlogin.EUNAUTHORIZED},
		tc{"unknown route", "GET", "/v1/nope", "", ``, false, 404, wxlogin.ENOTFOUND},
		tc{"PUT me", "PUT", "/v1/me", "application/json", `{}`, true, 405, wxlogin.EMETHODNOTALLOWED},
		tc{"introspect without credentials", "POST", "/v1/introspect", "application/json", `{"token":"x"}`, false, 401, wxlogin.EUNAUTHORIZED},
	)
	for _, c := range cases {
		t.Run(c.path+" "+c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			if c.auth {
				req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
			} else if c.name == "me with garbage token" {
				req.Header.Set("Authorization", "Bearer not.a.jwt")
			}
			r := e.send(req)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if got := r.ErrorCode(t); got != c.code {
				t.Fatalf("code %q, want %q", got, c.code)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
			}
		})
	}
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	if r := e.do("GET", "/v1/me", tk.AccessToken, nil); r.Status != 200 {
		t.Fatalf("server unhealthy after bad input: %d", r.Status)
	}
}

// TestOpenAPIMatchesRoutes fails when routes.go and openapi.yaml disagree on a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range regexp.MustCompile(`mux\.Handle\("([A-Z]+) ([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1]+" "+m[2])
	}
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	if strings.Join(routes, "\n") != strings.Join(documented, "\n") {
		t.Errorf("routes.go and openapi.yaml differ\nroutes:\n%s\n\nopenapi:\n%s", strings.Join(routes, "\n"), strings.Join(documented, "\n"))
	}
	if len(routes) < 10 {
		t.Errorf("found only %d routes", len(routes))
	}
}
