package wxlogin_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wxlogin/wxlogin"
	wxhttp "github.com/wxlogin/wxlogin/http"
)

// The error codes of error.go are the one source of the contract: the http package's status table,
// the OpenAPI document and the mini-program SDK are checked against them here, so that a code added
// to error.go fails this test until every copy names it.

// TestErrorCodesListsEveryConstant checks that ErrorCodes returns exactly the E* constants of
// error.go, each once.
func TestErrorCodesListsEveryConstant(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "error.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{} // code → constant name
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || !regexp.MustCompile(`^E[A-Z]+$`).MatchString(name.Name) {
					continue
				}
				code, _ := strconv.Unquote(lit.Value)
				consts[code] = name.Name
			}
		}
	}
	if len(consts) == 0 {
		t.Fatal("error.go: found no error code constants (E... = \"code\")")
	}
	listed := map[string]bool{}
	for _, c := range wxlogin.ErrorCodes() {
		if listed[c] {
			t.Errorf("error.go: ErrorCodes lists %q twice", c)
		}
		listed[c] = true
		if _, ok := consts[c]; !ok {
			t.Errorf("error.go: ErrorCodes lists %q, which no E... constant holds", c)
		}
	}
	for c, name := range consts {
		if !listed[c] {
			t.Errorf("error.go: constant %s (%q) is missing from ErrorCodes(): add it there", name, c)
		}
	}
}

// TestErrorCodesHaveAStatus checks that every code has its own entry in the http package's
// code→status table (an unknown code answers 500).
func TestErrorCodesHaveAStatus(t *testing.T) {
	for _, c := range wxlogin.ErrorCodes() {
		if c == wxlogin.EINTERNAL {
			if s := wxhttp.ErrorStatus(c); s != http.StatusInternalServerError {
				t.Errorf("http/encode.go: %q answers %d, want 500", c, s)
			}
			continue
		}
		if s := wxhttp.ErrorStatus(c); s == http.StatusInternalServerError || s < 400 {
			t.Errorf("http/encode.go: error code %q (error.go) has no status in codeStatus: add it there", c)
		}
	}
}

// TestOpenAPIErrorCodes checks the enum of components.schemas.ErrorDetail.properties.code in
// http/openapi.yaml against error.go.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromFile("http/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	detail := doc.Components.Schemas["ErrorDetail"]
	if detail == nil || detail.Value == nil || detail.Value.Properties["code"] == nil || detail.Value.Properties["code"].Value == nil {
		t.Fatal("http/openapi.yaml: components.schemas.ErrorDetail.properties.code is missing")
	}
	var enum []string
	for _, v := range detail.Value.Properties["code"].Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("http/openapi.yaml: ErrorDetail.code enum holds %v, not a string", v)
		}
		enum = append(enum, s)
	}
	compareCodes(t, "http/openapi.yaml", "the enum of components.schemas.ErrorDetail.properties.code", enum)
}

// TestSDKErrorCodes checks the ServerErrorCode union of the mini-program SDK against error.go.
func TestSDKErrorCodes(t *testing.T) {
	const file = "client/miniprogram/src/errors.ts"
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := tsUnion(string(b), "ServerErrorCode")
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	compareCodes(t, file, "the type ServerErrorCode", codes)
}

// tsUnion returns the string literals of `export type name = | 'a' | 'b'` in src (the statement
// ends at the first blank line or line that is not part of the union).
func tsUnion(src, name string) ([]string, error) {
	_, rest, ok := strings.Cut(src, "export type "+name+" =")
	if !ok {
		return nil, &tsError{"no `export type " + name + " =` union of string literals"}
	}
	lit := regexp.MustCompile(`^\s*\|?\s*'([^']*)'\s*(\|.*)?$`)
	var out []string
	for i, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if i == 0 && line == "" {
			continue
		}
		if line == "" {
			break
		}
		// One line may hold several members: | 'a' | 'b'
		parts := strings.Split(strings.TrimPrefix(line, "|"), "|")
		for _, p := range parts {
			m := lit.FindStringSubmatch(p)
			if m == nil {
				return nil, &tsError{"type " + name + ": cannot read " + strconv.Quote(p) + " as a string literal"}
			}
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		return nil, &tsError{"type " + name + " lists no codes"}
	}
	return out, nil
}

type tsError struct{ msg string }

func (e *tsError) Error() string { return e.msg }

// compareCodes fails t for every code of error.go that have lacks, and every code of have that
// error.go lacks, naming file and what in it to change.
func compareCodes(t *testing.T, file, where string, have []string) {
	t.Helper()
	want := wxlogin.ErrorCodes()
	for _, c := range want {
		if !slices.Contains(have, c) {
			t.Errorf("%s: %s lacks %q, an error code of error.go: add it to %s", file, where, c, file)
		}
	}
	seen := map[string]bool{}
	for _, c := range have {
		if seen[c] {
			t.Errorf("%s: %s lists %q twice", file, where, c)
		}
		seen[c] = true
		if !slices.Contains(want, c) {
			t.Errorf("%s: %s has %q, which error.go does not define: remove it from %s, or add the code to error.go (const and ErrorCodes)", file, where, c, file)
		}
	}
}
