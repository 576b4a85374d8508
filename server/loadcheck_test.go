package server

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nann/serving"
	"nann/tfserving/servingpb"
)

type sigServable struct {
	*fakeServable
	sig serving.Signature
}

func (s sigServable) Signature() serving.Signature { return s.sig }

// TestDefaultLevelTopNAboveMaxNotAvailable: a version whose default
// level_topn exceeds --max_level_topn fails to load (and is closed); the
// older version keeps serving requests that omit level_topn.
func TestDefaultLevelTopNAboveMaxNotAvailable(t *testing.T) {
	m := newFakeModel(t, 1)
	load := func(ctx context.Context, dir string) (serving.Servable, error) {
		s, err := m.load(ctx, dir)
		if err != nil || filepath.Base(dir) != "2" {
			return s, err
		}
		sig := fakeSig
		sig.DefaultLevelTopN[5] = 1000
		return sigServable{s.(*fakeServable), sig}, nil
	}
	cfg := testConfig(m.base)
	cfg.MaxLevelTopN = 300
	ts := startServer(t, cfg, load)
	ctx := context.Background()
	waitFor(t, "version 1 to serve", 5*time.Second, func() bool {
		resp, err := ts.predict.Predict(ctx, seqRequest(0))
		return err == nil && resp.GetModelSpec().GetVersion().GetValue() == 1
	})
	m.write(t, 2, "ok")
	var st *servingpb.GetModelStatusResponse
	waitFor(t, "version 2's load to fail", 5*time.Second, func() bool {
		var err error
		st, err = ts.models.GetModelStatus(ctx, &servingpb.GetModelStatusRequest{ModelSpec: spec(2)})
		return err == nil && len(st.ModelVersionStatus) == 1 && st.ModelVersionStatus[0].State == servingpb.ModelVersionStatus_END
	})
	if msg := st.ModelVersionStatus[0].Status.GetErrorMessage(); !strings.Contains(msg, "level_topn[5] = 1000 exceeds the server's max level_topn 300") {
		t.Errorf("version 2 status message %q", msg)
	}
	waitFor(t, "refused version 2 to be closed", 5*time.Second, func() bool { s := m.servable(2); return s != nil && s.closed.Load() })
	resp, err := ts.predict.Predict(ctx, seqRequest(0))
	if err != nil || resp.GetModelSpec().GetVersion().GetValue() != 1 {
		t.Fatalf("version 1 no longer serves: %v %v", resp.GetModelSpec(), err)
	}
}
