package train

import (
	"strings"
	"testing"
)

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Batch, c.LR, c.Epochs = 0, -1, 0
	err := c.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"data:", "batch:", "lr:", "epochs:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	c = Default()
	c.Data = "x"
	if err := c.Validate(); err != nil {
		t.Errorf("defaults rejected: %v", err)
	}
	for _, n := range ProfileNames() {
		p, _ := Profile(n)
		p.Data = "x"
		if err := p.Validate(); err != nil {
			t.Errorf("profile %s: %v", n, err)
		}
	}
}

func TestMergeResume(t *testing.T) {
	stored := Default()
	stored.Data, stored.Replicas = "/d", 2
	given := Default()
	given.Data, given.Batch, given.Epochs = "/d", 100, 9
	// batch was not set explicitly: ignored; epochs is mutable.
	out, err := mergeResume(stored, given, []string{"epochs", "data"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Epochs != 9 || out.Batch != stored.Batch {
		t.Fatalf("merged %+v", out)
	}
	_, err = mergeResume(stored, given, []string{"batch", "epochs"})
	if err == nil || !strings.Contains(err.Error(), "--batch=100") {
		t.Fatalf("conflict not reported: %v", err)
	}
	given.Data = "/other"
	_, err = mergeResume(stored, given, []string{"data"})
	if err == nil || !strings.Contains(err.Error(), "--data") {
		t.Fatalf("data conflict not reported: %v", err)
	}
}
