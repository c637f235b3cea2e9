//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package filestore

import "os"

// lockSupported is false where flock(2) is not available: New fails with
// an error that ErrorCode maps to Unimplemented rather than share a
// directory without mutual exclusion.
const lockSupported = false

func tryFlock(*os.File) (bool, error) { return false, errUnsupported }

func funlock(*os.File) error { return errUnsupported }
