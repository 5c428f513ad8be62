//go:build !unix

package server

import "errors"

// RaiseFileLimit is not supported here: the caps take their minimum.
func RaiseFileLimit() (soft, hard uint64, err error) {
	return 0, 0, errors.New("file descriptor limits are not supported on this system")
}
