//go:build unix && !linux

package safefile

import "errors"

var errNoReplaceUnsupported = errors.New("rename without replace unsupported")

func renameNoReplace(src, dst string) error { return errNoReplaceUnsupported }
