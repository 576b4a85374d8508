// Package userbehavior parses the Taobao UserBehavior log: lines
// `user_id,item_id,category_id,behavior_type,timestamp`, no header,
// behaviour one of pv, buy, cart, fav. CRLF line ends, blank lines and a
// missing final newline are accepted.
package userbehavior

import (
	"errors"
	"fmt"
	"math"
)

// Behavior is the kind of interaction.
type Behavior uint8

// The four behaviours of the log.
const (
	PV Behavior = iota
	Buy
	Cart
	Fav
	NumBehaviors
)

var behaviorNames = [NumBehaviors]string{"pv", "buy", "cart", "fav"}

func (b Behavior) String() string {
	if b < NumBehaviors {
		return behaviorNames[b]
	}
	return fmt.Sprintf("behavior(%d)", uint8(b))
}

// Row is one parsed line. Ids are the log's own (not dense); they must fit
// in uint32, as every id of the real data does, and the item id must not be
// 0 (ErrItemZero).
type Row struct {
	User, Item, Cate uint32
	Behavior         Behavior
	Time             int64
}

// Field names, in column order, for error messages.
var Fields = [5]string{"user_id", "item_id", "category_id", "behavior_type", "timestamp"}

// LineError is a malformed line: where it is and which field is wrong.
type LineError struct {
	File  string
	Line  int64 // 1-based
	Field string
	Err   error
}

func (e *LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s:%d: field %s: %v", e.File, e.Line, e.Field, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// Errors a line can have; LineError wraps one of them.
var (
	ErrFieldCount = errors.New("wrong number of fields, want 5")
	ErrNotInteger = errors.New("not an integer")
	ErrIDRange    = errors.New("id out of range 0..4294967295")
	ErrBehavior   = errors.New("unknown behaviour, want pv, buy, cart or fav")
	// ErrItemZero: item id 0 means padding in the serving API's item_ids,
	// so a log row naming item 0 could never be asked about or told apart
	// from padding; it is refused rather than silently remapped.
	ErrItemZero = errors.New("item id 0 is reserved (0 means padding in the serving API's item_ids)")
)

// IsBlank reports whether a line (without its '\n') holds only white space.
func IsBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// ParseLine parses one line without its trailing '\n' (a trailing '\r' is
// allowed). On error it returns the index of the bad field (or -1 for a
// field-count error) and the reason.
func ParseLine(line []byte) (Row, int, error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	var f [5][]byte
	k, start := 0, 0
	for i := 0; i <= len(line); i++ {
		if i == len(line) || line[i] == ',' {
			if k == 5 {
				return Row{}, -1, ErrFieldCount
			}
			f[k] = line[start:i]
			k++
			start = i + 1
		}
	}
	if k != 5 {
		return Row{}, -1, ErrFieldCount
	}
	var r Row
	var err error
	ids := [3]*uint32{&r.User, &r.Item, &r.Cate}
	for i, dst := range ids {
		if *dst, err = parseID(f[i]); err != nil {
			return Row{}, i, err
		}
	}
	if r.Item == 0 {
		return Row{}, 1, ErrItemZero
	}
	if r.Behavior, err = parseBehavior(f[3]); err != nil {
		return Row{}, 3, err
	}
	if r.Time, err = parseInt(f[4]); err != nil {
		return Row{}, 4, err
	}
	return r, 0, nil
}

func parseID(b []byte) (uint32, error) {
	v, err := parseInt(b)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > math.MaxUint32 {
		return 0, ErrIDRange
	}
	return uint32(v), nil
}

func parseInt(b []byte) (int64, error) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, ErrNotInteger
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrNotInteger
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, nil
}

func parseBehavior(b []byte) (Behavior, error) {
	switch string(b) {
	case "pv":
		return PV, nil
	case "buy":
		return Buy, nil
	case "cart":
		return Cart, nil
	case "fav":
		return Fav, nil
	}
	return 0, ErrBehavior
}

// AppendRow appends the CSV form of r (with '\n') to dst.
func AppendRow(dst []byte, r Row) []byte {
	dst = appendUint(dst, uint64(r.User))
	dst = append(dst, ',')
	dst = appendUint(dst, uint64(r.Item))
	dst = append(dst, ',')
	dst = appendUint(dst, uint64(r.Cate))
	dst = append(dst, ',')
	dst = append(dst, r.Behavior.String()...)
	dst = append(dst, ',')
	if r.Time < 0 {
		dst = append(dst, '-')
		dst = appendUint(dst, uint64(-r.Time))
	} else {
		dst = appendUint(dst, uint64(r.Time))
	}
	return append(dst, '\n')
}

func appendUint(dst []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}
