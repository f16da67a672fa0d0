package wechat

import "time"

// SetLockTiming shortens how long c waits for another holder of the refresh lock, for tests.
func SetLockTiming(c *Client, wait, poll time.Duration) {
	c.lockWait, c.lockPoll = wait, poll
}
