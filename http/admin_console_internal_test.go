package http

import (
	"maps"
	"testing"
)

func TestParseSample(t *testing.T) {
	for _, tc := range []struct {
		line   string
		name   string
		labels map[string]string
		v      int64
		ok     bool
	}{
		{`wxlogin_rate_limited_total{route="POST /v1/login/wechat"} 3`, "wxlogin_rate_limited_total", map[string]string{"route": "POST /v1/login/wechat"}, 3, true},
		{`wxlogin_wechat_calls_total{api="code2session",appid="wx1",outcome="40029"} 1e+06`, "wxlogin_wechat_calls_total",
			map[string]string{"api": "code2session", "appid": "wx1", "outcome": "40029"}, 1000000, true},
		{`x{a="q\"u\\o\nte",b=""} 2 1700000000000`, "x", map[string]string{"a": "q\"u\\o\nte", "b": ""}, 2, true},
		{`go_goroutines 12`, "go_goroutines", map[string]string{}, 12, true},
		{`x{a="1",} 5`, "x", map[string]string{"a": "1"}, 5, true},
		{`# HELP x help`, "", nil, 0, false},
		{``, "", nil, 0, false},
		{`x{a="unterminated} 1`, "", nil, 0, false},
		{`x{a} 1`, "", nil, 0, false},
		{`x{a="1"`, "", nil, 0, false},
		{`x NaN`, "", nil, 0, false},
		{`x +Inf`, "", nil, 0, false},
		{`x`, "", nil, 0, false},
		{`{a="1"} 1`, "", nil, 0, false},
	} {
		name, labels, v, ok := parseSample(tc.line)
		if ok != tc.ok || name != tc.name || v != tc.v || !maps.Equal(labels, tc.labels) {
			t.Errorf("parseSample(%q) = %q %v %d %v, want %q %v %d %v", tc.line, name, labels, v, ok, tc.name, tc.labels, tc.v, tc.ok)
		}
	}
}
