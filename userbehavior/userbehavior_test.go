package userbehavior

import (
	"errors"
	"testing"
)

func TestParseLine(t *testing.T) {
	r, _, err := ParseLine([]byte("1,2268318,2520377,cart,1511544070\r"))
	if err != nil || r != (Row{1, 2268318, 2520377, Cart, 1511544070}) {
		t.Fatalf("%+v %v", r, err)
	}
	for _, c := range []struct {
		line  string
		field int
		err   error
	}{
		{"1,2,3,pv", -1, ErrFieldCount},
		{"1,2,3,pv,5,", -1, ErrFieldCount},
		{",2,3,pv,5", 0, ErrNotInteger},
		{"1,2,3,PV,5", 3, ErrBehavior},
		{"1,2,4294967296,pv,5", 2, ErrIDRange},
		{"1,2,3,pv,5x", 4, ErrNotInteger},
		{"1,2,3,pv,-", 4, ErrNotInteger},
		{"1,0,3,pv,5", 1, ErrItemZero},
		{"1,-0,3,pv,5", 1, ErrItemZero},
	} {
		_, f, err := ParseLine([]byte(c.line))
		if f != c.field || !errors.Is(err, c.err) {
			t.Errorf("%q: field %d err %v", c.line, f, err)
		}
	}
}

func TestAppendRowRoundTrip(t *testing.T) {
	rows := []Row{{0, 1, 2, PV, 0}, {4294967295, 7, 9, Fav, -5}, {3, 3, 3, Buy, 1512316799}}
	for _, r := range rows {
		b := AppendRow(nil, r)
		got, _, err := ParseLine(b[:len(b)-1])
		if err != nil || got != r {
			t.Fatalf("%q: %+v %v", b, got, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"1,2,3,pv,5", "1,2,3,buy,5\r", "", ",,,,", "1,2,3,fav,-9223372036854775808", "99999999999999999999,1,1,pv,1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _, err := ParseLine(b)
		if err != nil {
			return
		}
		// A parsed row prints and parses back to itself.
		out := AppendRow(nil, r)
		r2, _, err := ParseLine(out[:len(out)-1])
		if err != nil || r2 != r {
			t.Fatalf("%q -> %+v -> %q -> %+v %v", b, r, out, r2, err)
		}
	})
}
