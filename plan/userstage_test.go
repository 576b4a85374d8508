package plan

import "testing"

// The user stage runs as float32 kernels for the networks the kernels
// cover, and then Bind does not allocate; the ids network (an embedding
// Gather with ids from the user input) keeps the interpreter. The scores
// themselves are checked against torch by TestCompiledMatchesTorch.
func TestUserStageCompiledBindAllocs(t *testing.T) {
	for _, name := range fixtureNames {
		f := loadFixture(t, name)
		p, err := Compile(f.g, f.c, f.items, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		st := p.Stats()
		if name == "ids" {
			if st.UserKernels != 0 {
				t.Errorf("ids: the user stage compiled to %d kernels; its Gather takes ids from the user", st.UserKernels)
			}
			continue
		}
		if st.UserKernels == 0 {
			t.Errorf("%s: the user stage is interpreted: %v", name, p.userWhy)
			continue
		}
		in := fixtureUser(f, 1)
		s := p.NewScorer()
		if err := s.Bind(in); err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(20, func() {
			if err := s.Bind(in); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s: Bind allocates %.0f times per call", name, allocs)
		}
	}
}
