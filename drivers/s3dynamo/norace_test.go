//go:build !race

package s3dynamo

// raceEnabled says that the race detector is on; see race_test.go.
const raceEnabled = false
