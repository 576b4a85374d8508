package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckOut(t *testing.T) {
	base := t.TempDir()
	k := Kind{Name: "dataset", Markers: []string{"meta.json"}}
	mk := func(name string, files ...string) string {
		p := filepath.Join(base, name)
		os.MkdirAll(p, 0o755)
		for _, f := range files {
			os.WriteFile(filepath.Join(p, f), []byte("x"), 0o644)
		}
		return p
	}
	file := filepath.Join(base, "good.csv")
	os.WriteFile(file, []byte("x"), 0o644)
	link := filepath.Join(base, "link")
	os.Symlink(mk("target", "meta.json"), link)
	for path, ok := range map[string]bool{
		filepath.Join(base, "absent"):          true,
		mk("empty"):                            true,
		mk("ds", "meta.json", "sequences.bin"): true,
		mk("foreign", "thesis.tex"):            false,
		mk("hidden-only", ".x.nann-tmp-1"):     false, // no marker, no Entries
		file:                                   false,
		link:                                   false,
	} {
		err := CheckOut(path, k)
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "refusing")) {
			t.Errorf("%s: %v, want ok=%v", path, err, ok)
		}
	}
	demo := Kind{Name: "demo", Entries: []string{"dataset", "run"}}
	if err := CheckOut(mk("demo", "run", ".run.nann-staging-12"), demo); err != nil {
		t.Errorf("demo dir: %v", err)
	}
	if err := CheckOut(mk("demo2", "run", "notes.txt"), demo); err == nil {
		t.Error("a directory with a foreign file passed as a demo directory")
	}
}

// The names we create always match; a match is always hidden, for the
// target asked about, and ends in our tag and digits.
func FuzzMatchOurs(f *testing.F) {
	for _, s := range []string{".ds.nann-staging-123", ".ds.staging-9", "ds.old", ".a.b.nann-tmp-1", ".x.tmp-", "..nann-old-1"} {
		f.Add(s, "ds")
	}
	f.Fuzz(func(t *testing.T, name, base string) {
		ok, legacy := matchOurs(name, base)
		if ok {
			i := strings.LastIndex(name, "-")
			if !strings.HasPrefix(name, ".") || i < 0 || !digits(name[i+1:]) {
				t.Fatalf("%q (base %q) matched", name, base)
			}
			if base != "" && !strings.HasPrefix(name, "."+base+".") {
				t.Fatalf("%q matched for base %q", name, base)
			}
			if !legacy && !strings.Contains(name, ".nann-") {
				t.Fatalf("%q matched as current naming", name)
			}
		}
		if base != "" && !strings.ContainsAny(base, "/") {
			for _, tag := range []string{tagTmp, tagStaging, tagOld} {
				pat := pattern(base, tag) // os.CreateTemp replaces the last '*'
				k := strings.LastIndex(pat, "*")
				p := pat[:k] + "4242" + pat[k+1:]
				if ok, legacy := matchOurs(p, base); !ok || legacy {
					t.Fatalf("our own %q not matched for base %q", p, base)
				}
			}
		}
	})
}
