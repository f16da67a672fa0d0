package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wxlogin/wxlogin"
	"github.com/wxlogin/wxlogin/wechat"
)

// Every WeChat errcode the service meets maps to one of our codes, in one table.
func TestWeChatErrorMapping(t *testing.T) {
	api := func(code int) error { return &wechat.APIError{Code: code, API: "/x"} }
	tests := []struct {
		call  wechatCall
		err   error
		want  string
		retry time.Duration
	}{
		{callCode2Session, nil, "", 0},
		{callCode2Session, api(40029), wxlogin.EINVALIDCODE, 0},
		{callCode2Session, api(40163), wxlogin.EINVALIDCODE, 0},
		{callCode2Session, api(40226), wxlogin.EUSERBLOCKED, 0},
		{callCode2Session, api(-1), wxlogin.EUPSTREAMUNAVAIL, 2 * time.Second},
		{callCode2Session, api(45011), wxlogin.EUPSTREAMUNAVAIL, 2 * time.Second},
		{callCode2Session, &wechat.TransportError{API: "/x", Err: errors.New("down"), RetryAfter: 9 * time.Second}, wxlogin.EUPSTREAMUNAVAIL, 9 * time.Second},
		{callCode2Session, fmt.Errorf("wrapped: %w", context.DeadlineExceeded), wxlogin.EUPSTREAMUNAVAIL, 2 * time.Second},
		{callCode2Session, api(40003), wxlogin.EUPSTREAM, 0},
		{callCode2Session, api(99999), wxlogin.EUPSTREAM, 0},
		{callPhoneOfUser, api(40003), wxlogin.EINVALIDCODE, 0},
		{callPhoneOfUser, api(40013), wxlogin.EINVALIDCODE, 0},
		{callPhoneOfUser, api(40029), wxlogin.EINVALIDCODE, 0},
		{callPhoneLogin, api(40013), wxlogin.EINVALIDCODE, 0},
		{callPhoneLogin, api(-1), wxlogin.EUPSTREAMUNAVAIL, 2 * time.Second},
		{callPaidUnionID, api(89300), wxlogin.EINVALID, 0},
		{callPaidUnionID, api(40003), wxlogin.EINVALID, 0},
		{callPaidUnionID, api(89002), wxlogin.EINVALID, 0},
		{callPaidUnionID, api(40013), wxlogin.EUPSTREAM, 0},
	}
	for _, tc := range tests {
		got := wechatError(tc.call, tc.err)
		if c := wxlogin.ErrorCode(got); c != tc.want {
			t.Errorf("call %d, %v: code %q, want %q", tc.call, tc.err, c, tc.want)
		}
		var we *wxlogin.Error
		if errors.As(got, &we) && we.RetryAfter != tc.retry {
			t.Errorf("call %d, %v: RetryAfter %v, want %v", tc.call, tc.err, we.RetryAfter, tc.retry)
		}
	}
	if !sessionKeyRejected(api(87009)) || sessionKeyRejected(api(-1)) {
		t.Error("checksession's 87009 means a stale session_key; -1 does not")
	}
}
