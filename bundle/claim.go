package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"

	"nann/internal/safefile"
)

// claimVersion renames the complete bundle in staging onto the version
// directory *ver under modelDir, which must not exist. If auto, a number
// taken meanwhile (by a concurrent export or import, or anything else now
// at that name) moves *ver to the next free number, calls rewrite to write
// the staged manifest again with it, and tries again.
func claimVersion(staging, modelDir string, ver *int64, auto bool, log *slog.Logger, rewrite func() error) (string, error) {
	if err := os.Chmod(staging, 0o755); err != nil {
		return "", err
	}
	for range maxClaims {
		if err := safefile.SyncDir(staging); err != nil {
			return "", err
		}
		final := versionDir(modelDir, *ver)
		err := safefile.RenameNoReplace(staging, final)
		if err == nil {
			return final, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		if !auto {
			return "", fmt.Errorf("%s was created while this export ran; versions are immutable, pick another --version", final)
		}
		next, err := nextVersion(modelDir)
		if err != nil {
			return "", err
		}
		log.Info("version taken meanwhile (a concurrent export?); taking the next", "taken", *ver, "next", max(next, *ver+1))
		*ver = max(next, *ver+1)
		if err := rewrite(); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("could not claim a version number under %s in %d tries", modelDir, maxClaims)
}
