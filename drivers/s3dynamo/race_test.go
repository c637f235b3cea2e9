//go:build race

package s3dynamo

// raceEnabled says that the race detector is on. It makes sync.Pool drop
// a random share of what is put back, so that pooled part buffers become
// garbage and the heap peaks higher than in a normal build.
const raceEnabled = true
