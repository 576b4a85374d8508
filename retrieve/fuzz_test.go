package retrieve

import "testing"

// FuzzParseBeam: ParseBeam never panics, and whatever it accepts is valid and
// prints back to a string that parses to the same setting.
func FuzzParseBeam(f *testing.F) {
	for _, s := range []string{"serving:100,200,200,200,200,200", "eval:2:400,200,100:3,1,1:200",
		"eval:0:5:1:5", "serving:1,2,3", "eval:2:400,200,100:3,1,1", "serving:-1,0,0,0,0,99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBeam(s)
		if err != nil {
			return
		}
		if err := b.ValidateFor(-1); err != nil {
			t.Fatalf("ParseBeam(%q) accepted an invalid setting: %v", s, err)
		}
		b2, err := ParseBeam(b.String())
		if err != nil || b2.String() != b.String() {
			t.Fatalf("ParseBeam(%q) -> %q does not round-trip: %v", s, b.String(), err)
		}
	})
}
