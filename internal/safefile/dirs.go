package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind says how to recognise a directory of one kind of output (a prepared
// dataset, an index, a run), so that a command replaces or writes into only
// a directory it made.
type Kind struct {
	// Name is the kind, for messages: "prepared dataset".
	Name string
	// Markers are paths relative to the directory; a directory holding any
	// of them is of this kind.
	Markers []string
	// Entries, if set, are names; a directory holding nothing but these
	// (and temporaries of our own) is of this kind too.
	Entries []string
}

// CheckOut reports whether path may be written as a directory of kind k:
// it may be absent, an empty directory or a directory of that kind. An
// existing regular file, symbolic link or other directory is refused with an
// error naming it, so that a mistyped output path never replaces a user's
// files.
func CheckOut(path string, k Kind) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link, not a %s directory; refusing to replace it", path, k.Name)
	case !st.IsDir():
		return fmt.Errorf("%s exists and is a file, not a %s directory; refusing to replace it", path, k.Name)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return nil
	}
	for _, m := range k.Markers {
		if _, err := os.Lstat(filepath.Join(path, m)); err == nil {
			return nil
		}
	}
	if len(k.Entries) > 0 {
		only := true
		for _, e := range ents {
			if !contains(k.Entries, e.Name()) && !isOurs(e.Name(), "") {
				only = false
				break
			}
		}
		if only {
			return nil
		}
	}
	why := "it has no " + strings.Join(k.Markers, " or ")
	if len(k.Markers) == 0 {
		why = "it holds more than " + strings.Join(k.Entries, ", ")
	}
	return fmt.Errorf("%s is a non-empty directory that is not a %s (%s); refusing to replace it", path, k.Name, why)
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// isOurs reports whether name is one of our temporary names for the target
// base ("" matches any base). legacy reports the unlocked older form.
func isOurs(name, base string) bool {
	ok, _ := matchOurs(name, base)
	return ok
}

func matchOurs(name, base string) (ok, legacy bool) {
	if !strings.HasPrefix(name, ".") {
		return false, false
	}
	rest := name[1:]
	if base != "" {
		if !strings.HasPrefix(rest, base+".") {
			return false, false
		}
		rest = rest[len(base)+1:]
	} else {
		// Any base: the tag is after the last "." that precedes it.
		i := strings.LastIndex(rest, ".")
		if i <= 0 {
			return false, false
		}
		rest = rest[i+1:]
	}
	for _, tag := range []string{tagTmp, tagStaging, tagOld} {
		if d, found := strings.CutPrefix(rest, "nann-"+tag+"-"); found && digits(d) {
			return true, false
		}
	}
	for _, tag := range []string{tagTmp, tagStaging} {
		if d, found := strings.CutPrefix(rest, tag+"-"); found && digits(d) {
			return true, true
		}
	}
	return false, false
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
