//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package filestore

import "io/fs"

// fileIno returns 0: the driver does not run here (see lockSupported).
func fileIno(fs.FileInfo) uint64 { return 0 }
