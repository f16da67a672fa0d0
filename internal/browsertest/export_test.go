package browsertest

// SetKnownPaths replaces the fallback paths of Binary and returns a func restoring them.
func SetKnownPaths(p []string) func() {
	old := knownPaths
	knownPaths = p
	return func() { knownPaths = old }
}
