package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	wxhttp "github.com/wxlogin/wxlogin/http"
)

// contract is openapi.yaml, loaded for validating the exchanges of the end-to-end tests.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	errors *openapi3.Schema // components/schemas/Error, for answers no route of the spec matches
}

// exchange is one request and the answer to it.
type exchange struct {
	req      *http.Request
	reqBody  []byte // the body sent
	checkReq bool   // whether the request is checked too (false for fuzzed and deliberately bad input)
	status   int
	header   http.Header
	body     []byte
}

// validated counts the exchanges checked against the spec, and covered the documented responses
// they exercised ("GET /v1/me 200"); TestMain reports both under -v.
var (
	validated atomic.Int64
	covered   sync.Map
)

// loadContract parses and validates the embedded openapi.yaml once per test binary.
var loadContract = sync.OnceValues(func() (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(wxhttp.OpenAPISpec())
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	doc.Servers = nil // route by path alone: the test servers listen on random ports
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: router: %w", err)
	}
	es := doc.Components.Schemas["Error"]
	if es == nil || es.Value == nil {
		return nil, errors.New("openapi.yaml: no components/schemas/Error")
	}
	return &contract{doc: doc, router: router, errors: es.Value}, nil
})

// mustContract returns the loaded spec, failing the test when it does not load.
func mustContract(t testing.TB) *contract {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// check returns what in x disagrees with openapi.yaml, or nil: a status the operation does not
// document, a Content-Type or body (or required header such as Retry-After) not as documented, a
// body on a response documented without one, an error code answered with another status than its
// own, and, when x.checkReq, a request the spec rejects that the server accepted (2xx/3xx). Bad
// requests the server refuses are fine: only the answer to them is checked.
func (c *contract) check(x exchange) error {
	validated.Add(1)
	ctx := context.Background()
	req := x.req.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(x.reqBody))
	if req.Method == http.MethodHead { // answered as GET, without a body
		req.Method = http.MethodGet
		if route, _, err := c.router.FindRoute(req); err == nil && route.Operation.Responses.Status(x.status) == nil {
			return fmt.Errorf("HEAD answered %d, which GET does not document", x.status)
		}
		return nil
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil && req.URL.RawPath != "" {
		// An escaped "/" inside a path parameter: the mux matches the escaped path, so does the spec.
		esc := req.Clone(ctx)
		esc.URL.Path, esc.URL.RawPath = req.URL.RawPath, ""
		route, params, err = c.router.FindRoute(esc)
	}
	if err != nil {
		// Not a route of the spec: the answer must be the JSON error for an unknown route or method,
		// or the mux's redirect to the cleaned path.
		if x.status == http.StatusMovedPermanently || x.status == http.StatusTemporaryRedirect || x.status == http.StatusPermanentRedirect {
			if x.header.Get("Location") == "" {
				return fmt.Errorf("redirect %d without Location", x.status)
			}
			return nil
		}
		if x.status != http.StatusNotFound && x.status != http.StatusMethodNotAllowed {
			return fmt.Errorf("undocumented route answered %d, want 404 or 405 (%v)", x.status, err)
		}
		return c.checkError(x)
	}
	covered.Store(fmt.Sprintf("%s %s %d", route.Method, route.Path, x.status), true)
	var errs []string
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	respOpts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	respOpts.WithCustomSchemaErrorFunc(schemaErrorMessage)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if x.checkReq && x.status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			errs = append(errs, fmt.Sprintf("the server accepted (%d) a request the spec rejects: %v", x.status, err))
		}
	}
	resp := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 x.status,
		Header:                 x.header,
		Body:                   io.NopCloser(bytes.NewReader(x.body)),
		Options:                respOpts,
	}
	if err := openapi3filter.ValidateResponse(ctx, resp); err != nil {
		errs = append(errs, err.Error())
	}
	if ref := route.Operation.Responses.Status(x.status); ref != nil && ref.Value != nil && len(ref.Value.Content) == 0 && len(x.body) > 0 {
		errs = append(errs, fmt.Sprintf("a body where the spec documents none: %.200q", x.body))
	}
	if x.status >= 400 {
		if err := c.checkErrorCode(x); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n\t"))
	}
	return nil
}

// schemaErrorMessage is a schema violation in one line: where and why (not the whole schema).
func schemaErrorMessage(err *openapi3.SchemaError) string {
	return fmt.Sprintf("at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
}

// checkError returns what is wrong with x as a JSON error of docs/architecture.md §3 (components/schemas/Error).
func (c *contract) checkError(x exchange) error {
	if ct := x.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("error answer with Content-Type %q", ct)
	}
	var v any
	if err := json.Unmarshal(x.body, &v); err != nil {
		return fmt.Errorf("error answer is not JSON: %v", err)
	}
	if err := c.errors.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse(),
		openapi3.SetSchemaErrorMessageCustomizer(schemaErrorMessage)); err != nil {
		return fmt.Errorf("error answer does not match components/schemas/Error: %v", err)
	}
	return c.checkErrorCode(x)
}

// checkErrorCode returns an error when x's error.code is not answered with its own status.
func (c *contract) checkErrorCode(x exchange) error {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(x.body, &e) != nil || e.Error.Code == "" {
		return nil // the schema check reports it
	}
	if s := wxhttp.ErrorStatus(e.Error.Code); s != x.status {
		return fmt.Errorf("error code %s answered with %d, its status is %d", e.Error.Code, x.status, s)
	}
	return nil
}

// checkContract fails t when x disagrees with openapi.yaml, naming the route, status and why.
func checkContract(t testing.TB, x exchange) {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Error(err) // not Fatal: send may run outside the test's goroutine
		return
	}
	if err := c.check(x); err != nil {
		t.Errorf("contract: %s %s answered %d, which openapi.yaml does not allow:\n\t%v", x.req.Method, x.req.URL.Path, x.status, err)
	}
}

// requestBody returns a copy of the body req will send (nil when it has none).
func requestBody(t testing.TB, req *http.Request) []byte {
	t.Helper()
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	if req.GetBody == nil {
		t.Fatalf("%s %s: a request body the contract check cannot replay", req.Method, req.URL.Path)
	}
	rc, err := req.GetBody()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() || os.Getenv("WXLOGIN_CONTRACT_COUNT") != "" {
		fmt.Printf("contract: %d request/response pairs validated against openapi.yaml\n", validated.Load())
		if c, err := loadContract(); err == nil && validated.Load() > 0 {
			var missed []string
			for path, item := range c.doc.Paths.Map() {
				for method, op := range item.Operations() {
					for status := range op.Responses.Map() {
						if _, ok := covered.Load(method + " " + path + " " + status); !ok {
							missed = append(missed, method+" "+path+" "+status)
						}
					}
				}
			}
			slices.Sort(missed)
			fmt.Printf("contract: documented responses no test exercised (%d):\n\t%s\n", len(missed), strings.Join(missed, "\n\t"))
		}
	}
	os.Exit(code)
}

// TestContractBites feeds the contract check exchanges that drift from openapi.yaml: each must be
// reported, and the well-formed ones must pass.
func TestContractBites(t *testing.T) {
	c := mustContract(t)
	jsonCT := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	withHeader := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	user := `{"id":"u1","nickname":"","avatar_url":"","created_at":"2026-11-21T08:00:00Z"}`
	errBody := func(code string) string {
		return `{"error":{"code":"` + code + `","message":"m"},"request_id":"r1"}`
	}
	req := func(method, path, body string) *http.Request {
		r, err := http.NewRequest(method, "http://127.0.0.1:1"+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		return r
	}
	cases := []struct {
		name   string
		x      exchange
		drifts bool
	}{
		{"a well-formed user", exchange{req: req("GET", "/v1/me", ""), status: 200, header: jsonCT, body: []byte(user)}, false},
		{"an undocumented field", exchange{req: req("GET", "/v1/me", ""), status: 200, header: jsonCT,
			body: []byte(`{"id":"u1","nickname":"","avatar_url":"","created_at":"2026-11-21T08:00:00Z","session_key":"x"}`)}, true},
		{"a required field missing", exchange{req: req("GET", "/v1/me", ""), status: 200, header: jsonCT,
			body: []byte(`{"id":"u1","nickname":"","avatar_url":""}`)}, true},
		{"a field of the wrong type", exchange{req: req("GET", "/v1/me", ""), status: 200, header: jsonCT,
			body: []byte(`{"id":1,"nickname":"","avatar_url":"","created_at":"2026-11-21T08:00:00Z"}`)}, true},
		{"a time that is no date-time", exchange{req: req("GET", "/v1/me", ""), status: 200, header: jsonCT,
			body: []byte(`{"id":"u1","nickname":"","avatar_url":"","created_at":"yesterday"}`)}, true},
		{"an undocumented status", exchange{req: req("GET", "/v1/me", ""), status: 418, header: jsonCT, body: []byte(errBody("conflict"))}, true},
		{"another content type", exchange{req: req("GET", "/v1/me", ""), status: 200, header: http.Header{"Content-Type": {"text/html"}}, body: []byte(user)}, true},
		{"a body on 204", exchange{req: req("POST", "/v1/logout", ""), status: 204, header: http.Header{}, body: []byte(`{}`)}, true},
		{"an empty 204", exchange{req: req("POST", "/v1/logout", ""), status: 204, header: http.Header{}}, false},
		{"an error of another shape", exchange{req: req("GET", "/v1/me", ""), status: 401, header: jsonCT, body: []byte(`{"error":"unauthorized"}`)}, true},
		{"an unknown error code", exchange{req: req("GET", "/v1/me", ""), status: 401, header: jsonCT, body: []byte(errBody("nope"))}, true},
		{"an error code with another status", exchange{req: req("GET", "/v1/me", ""), status: 401, header: jsonCT, body: []byte(errBody("not_found"))}, true},
		{"429 with Retry-After", exchange{req: req("POST", "/v1/login/wechat", `{"code":"c"}`), status: 429,
			header: withHeader(jsonCT, "Retry-After", "3"), body: []byte(errBody("rate_limited"))}, false},
		{"429 without Retry-After", exchange{req: req("POST", "/v1/login/wechat", `{"code":"c"}`), status: 429, header: jsonCT, body: []byte(errBody("rate_limited"))}, true},
		{"503 with a Retry-After of no seconds", exchange{req: req("GET", "/v1/me", ""), status: 503,
			header: withHeader(jsonCT, "Retry-After", "soon"), body: []byte(errBody("overloaded"))}, true},
		{"tokens without Cache-Control", exchange{req: req("POST", "/v1/token/refresh", `{"refresh_token":"r"}`), status: 200, header: jsonCT,
			body: []byte(`{"access_token":"a","token_type":"Bearer","expires_in":7200,"refresh_token":"r","session_id":"s","new_user":false,"user":` + user + `}`)}, true},
		{"an undocumented route", exchange{req: req("GET", "/v1/secret", ""), status: 200, header: jsonCT, body: []byte(`{}`)}, true},
		{"an undocumented route's 404", exchange{req: req("GET", "/v1/secret", ""), status: 404, header: jsonCT, body: []byte(errBody("not_found"))}, false},
		{"metrics as JSON", exchange{req: req("GET", "/metrics", ""), status: 200, header: jsonCT, body: []byte(`{}`)}, true},
		{"an accepted request with an undocumented field", exchange{req: req("POST", "/v1/me", `{"nickname":"n","admin":true}`),
			reqBody: []byte(`{"nickname":"n","admin":true}`), checkReq: true, status: 200, header: jsonCT, body: []byte(user)}, true},
		{"a refused request with an undocumented field", exchange{req: req("POST", "/v1/me", `{"nickname":"n","admin":true}`),
			reqBody: []byte(`{"nickname":"n","admin":true}`), checkReq: true, status: 400, header: jsonCT, body: []byte(errBody("invalid_request"))}, false},
	}
	for _, tc := range cases {
		err := c.check(tc.x)
		if tc.drifts && err == nil {
			t.Errorf("%s: not reported", tc.name)
		}
		if !tc.drifts && err != nil {
			t.Errorf("%s: reported: %v", tc.name, err)
		}
		if testing.Verbose() && err != nil {
			t.Logf("%s: %v", tc.name, err)
		}
	}
}

// TestContractHarnessChecks proves env.send runs the contract check on what it sends.
func TestContractHarnessChecks(t *testing.T) {
	e := newEnv(t)
	before := validated.Load()
	if r := e.do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	if validated.Load() == before {
		t.Fatal("env.send did not check the exchange against openapi.yaml")
	}
}
