package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/wxlogin/wxlogin"
)

// validator is a request that checks itself; Valid returns an EINVALID *wxlogin.Error or nil.
type validator interface {
	Valid() error
}

// decode reads one JSON object of type T from r's body, capped at max bytes, rejecting unknown
// fields, duplicate keys, keys that match a field only by case (strictKeys), trailing data and
// other content types, then validates it when T is a validator.
// Errors: EINVALID with a message that says what is wrong.
func decode[T any](w http.ResponseWriter, r *http.Request, max int64) (T, error) {
	var v T
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return v, wxlogin.Errorf(wxlogin.EINVALID, "Content-Type must be application/json")
	}
	r.Body = http.MaxBytesReader(w, r.Body, max)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return v, decodeError(err, max)
	}
	if !utf8.Valid(body) { // encoding/json would silently replace the bad bytes
		return v, wxlogin.Errorf(wxlogin.EINVALID, "the body is not valid UTF-8")
	}
	if err := strictKeys(body, reflect.TypeFor[T]()); err != nil {
		return v, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, decodeError(err, max)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil && !isSyntaxError(err) {
			return v, decodeError(err, max)
		}
		return v, wxlogin.Errorf(wxlogin.EINVALID, "the body must hold exactly one JSON object")
	}
	if val, ok := any(&v).(validator); ok {
		if err := val.Valid(); err != nil {
			return v, err
		}
	}
	return v, nil
}

func isSyntaxError(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se)
}

// decodeError turns an encoding/json error into a clear EINVALID error (never echoing values).
func decodeError(err error, max int64) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
		me *http.MaxBytesError
	)
	switch {
	case errors.As(err, &me):
		return wxlogin.Errorf(wxlogin.ETOOLARGE, "the body is larger than %d bytes", max)
	case errors.Is(err, io.EOF):
		return wxlogin.Errorf(wxlogin.EINVALID, "the body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return wxlogin.Errorf(wxlogin.EINVALID, "the body is truncated JSON")
	case errors.As(err, &se):
		return wxlogin.Errorf(wxlogin.EINVALID, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return wxlogin.Errorf(wxlogin.EINVALID, "the body must be a JSON object")
		}
		return wxlogin.Errorf(wxlogin.EINVALID, "field %q must be of type %s", te.Field, te.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return wxlogin.Errorf(wxlogin.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return wxlogin.Errorf(wxlogin.EINVALID, "the body is not valid JSON")
	}
}

// encode writes v as JSON with status.
func encode[T any](w http.ResponseWriter, status int, v T) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// codeStatus is the one table from error code to HTTP status.
var codeStatus = map[string]int{
	wxlogin.EINVALID:          http.StatusBadRequest,
	wxlogin.EINVALIDCODE:      http.StatusUnauthorized,
	wxlogin.EUSERBLOCKED:      http.StatusForbidden,
	wxlogin.EUNAUTHORIZED:     http.StatusUnauthorized,
	wxlogin.ECREDENTIALS:      http.StatusUnauthorized,
	wxlogin.EFORBIDDEN:        http.StatusForbidden,
	wxlogin.ENOTFOUND:         http.StatusNotFound,
	wxlogin.ECONFLICT:         http.StatusConflict,
	wxlogin.ESESSIONKEYSTALE:  http.StatusConflict,
	wxlogin.ERATELIMITED:      http.StatusTooManyRequests,
	wxlogin.EUPSTREAMUNAVAIL:  http.StatusServiceUnavailable,
	wxlogin.EUPSTREAM:         http.StatusBadGateway,
	wxlogin.EINTERNAL:         http.StatusInternalServerError,
	wxlogin.EMETHODNOTALLOWED: http.StatusMethodNotAllowed,
	wxlogin.EOVERLOADED:       http.StatusServiceUnavailable,
	wxlogin.ETOOLARGE:         http.StatusRequestEntityTooLarge,
	wxlogin.ENOACCOUNT:        http.StatusForbidden,
	wxlogin.ESNAPSHOTUSER:     http.StatusForbidden,
}

// ErrorStatus returns the HTTP status of an error code (500 for unknown codes).
func ErrorStatus(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// LinkToken and LinkExpiresIn come with no_account (see signup.go).
	LinkToken     string `json:"link_token,omitempty"`
	LinkExpiresIn int64  `json:"link_expires_in,omitempty"`
}

// writeError writes err in the JSON error shape. Internal errors are logged with the request id
// and shown as "internal error".
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := wxlogin.ErrorCode(err)
	setErrorCode(r.Context(), code)
	if code == wxlogin.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
	}
	if ra := wxlogin.RetryAfter(err); ra > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int((ra+999_999_999)/1_000_000_000)))
	} else if code == wxlogin.ERATELIMITED || code == wxlogin.EUPSTREAMUNAVAIL || code == wxlogin.EOVERLOADED {
		w.Header().Set("Retry-After", "1")
	}
	if code == wxlogin.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wxlogin"`)
	}
	detail := errorDetail{Code: code, Message: wxlogin.ErrorMessage(err)}
	s.addLinkToken(w, err, &detail)
	encode(w, ErrorStatus(code), errorBody{
		Error:     detail,
		RequestID: requestID(r.Context()),
	})
}
