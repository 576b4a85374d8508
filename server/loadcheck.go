package server

import (
	"context"
	"errors"

	"nann/serving"
)

// boundedLoader refuses a servable whose default level_topn exceeds the
// server's max level_topn: it is closed and reported as a failed load, so
// it never becomes AVAILABLE (requests that omit level_topn would otherwise
// get a setting the server refuses when a client sends it).
func boundedLoader(load serving.Loader, maxLevelTopN int) serving.Loader {
	return func(ctx context.Context, dir string) (serving.Servable, error) {
		sv, err := load(ctx, dir)
		if err != nil || sv == nil {
			return sv, err
		}
		if err := serving.CheckLevelTopN("signature: default level_topn", sv.Signature().DefaultLevelTopN, maxLevelTopN); err != nil {
			return nil, errors.Join(err, sv.Close())
		}
		return sv, nil
	}
}
