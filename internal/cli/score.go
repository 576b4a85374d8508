package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"nann/internal/npy"
	"nann/internal/safefile"
	"nann/item"
	"nann/onnx"
	"nann/plan"
)

// ScoreCmd scores every user of a users.npz against every item (or the
// rows given) with an ONNX scoring network compiled by plan: the check a
// user runs of nann against their own framework.
type ScoreCmd struct {
	ONNX        string   `name:"onnx" help:"The scoring network: an ONNX model with user-side inputs, one item-side input and one score output ([n] or [n,1])." required:"" type:"existingfile"`
	ItemEmbs    string   `name:"item-embs" help:"The item-side input of every item: an .npy with one row per item (leading dim N), the dtype and remaining shape the model's item input has." required:"" type:"existingfile"`
	ItemInput   string   `name:"item-input" help:"Name of the model's item-side input (default: the only input not in --user-inputs)."`
	UserInputs  []string `name:"user-inputs" help:"Names of the model's user-side inputs, comma-separated (default: every input but the item input)."`
	ScoreOutput string   `name:"score-output" help:"Name of the score output (default: the only graph output)."`
	Users       string   `help:"The users: an .npz with one array per user-side input, named by the input (or user.<input>), leading dim = number of users." required:"" type:"existingfile"`
	Items       string   `help:"Score only these item rows: an int32/int64 1-D .npy of row indices into --item-embs (default: every item)." type:"existingfile"`
	Out         string   `help:"Output .npy: float32 [users, items] scores, written atomically." required:""`
	Float16     bool     `name:"float16" help:"Store the compiled item tables in float16 (half the memory, ~1e-3 relative error per value)."`
	JSON        bool     `name:"json" help:"Print the report as JSON."`
}

// scoreReport is the --json output.
type scoreReport struct {
	Out            string     `json:"out"`
	Users          int        `json:"users"`
	Items          int        `json:"items"`
	Corpus         int        `json:"corpus"`
	UserInputs     []string   `json:"user_inputs"`
	ItemInput      string     `json:"item_input"`
	ScoreOutput    string     `json:"score_output"`
	Float16        bool       `json:"float16"`
	CompileSeconds float64    `json:"compile_seconds"`
	ScoreSeconds   float64    `json:"score_seconds"` // every user's Bind (user stage) and Score
	ItemsPerSecond float64    `json:"items_per_second"`
	Plan           plan.Stats `json:"plan"`
}

// Run compiles the network over the item table, scores each user and
// writes the matrix.
func (c *ScoreCmd) Run(g *Globals) error {
	if err := checkNPYOut(c.Out); err != nil {
		return err
	}
	m, err := onnx.ReadFile(c.ONNX, onnx.ReadOptions{})
	if err != nil {
		return fmt.Errorf("--onnx: %w", err)
	}
	items, err := onnx.ReadNPY(c.ItemEmbs)
	if err != nil {
		return fmt.Errorf("--item-embs: %w", err)
	}
	if items.Rank() == 0 || items.Shape[0] == 0 {
		return fmt.Errorf("--item-embs %s: shape %v, want one row per item (leading dim N > 0)", c.ItemEmbs, items.Shape)
	}
	if err := checkFinite(items); err != nil {
		return fmt.Errorf("--item-embs %s: %w", c.ItemEmbs, err)
	}
	users, err := onnx.ReadNPZ(c.Users)
	if err != nil {
		return fmt.Errorf("--users: %w", err)
	}
	rows, err := c.rows(items.Shape[0])
	if err != nil {
		return err
	}
	start := time.Now()
	ct := plan.Contract{UserInputs: c.UserInputs, ItemInput: c.ItemInput, ScoreOutput: c.ScoreOutput}
	if ct.ItemInput == "" && ct.UserInputs == nil {
		ct.ItemInput = guessItemInput(m.Graph, users)
	}
	p, err := plan.Compile(m.Graph, ct, items, plan.Options{Float16Tables: c.Float16})
	if err != nil {
		return fmt.Errorf("compiling %s over --item-embs %s: %w", c.ONNX, c.ItemEmbs, err)
	}
	compileSec := time.Since(start).Seconds()
	ct = p.Contract()
	nu, byInput, err := userArrays(c.Users, users, p.UserInputs())
	if err != nil {
		return err
	}
	if err := g.Context().Err(); err != nil {
		return err
	}
	// The matrix streams into the temporary file one user row at a time,
	// renamed onto --out only when every row is written.
	sc := p.NewScorer()
	row := make([]float32, len(rows))
	buf := make([]byte, 4*len(rows))
	var scoreErr error
	start = time.Now()
	err = safefile.Write(c.Out, func(w io.Writer) error {
		if _, err := w.Write(npy.EncodeHeader("<f4", []int{nu, len(rows)})); err != nil {
			return err
		}
		for u := 0; u < nu; u++ {
			if scoreErr = c.scoreUser(g, sc, byInput, u, rows, row); scoreErr != nil {
				return scoreErr
			}
			for i, x := range row {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if scoreErr != nil {
		return scoreErr
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	scoreSec := time.Since(start).Seconds()
	rep := scoreReport{Out: c.Out, Users: nu, Items: len(rows), Corpus: p.NumItems(), UserInputs: ct.UserInputs, ItemInput: ct.ItemInput,
		ScoreOutput: ct.ScoreOutput, Float16: c.Float16, CompileSeconds: compileSec, ScoreSeconds: scoreSec, Plan: p.Stats()}
	if scoreSec > 0 {
		rep.ItemsPerSecond = float64(nu*len(rows)) / scoreSec
	}
	slog.Info("score", "users", nu, "items", len(rows), "compile_s", compileSec, "score_s", scoreSec)
	w := g.Stdout()
	if c.JSON {
		return json.NewEncoder(w).Encode(rep)
	}
	fmt.Fprintf(w, "scores %s: %d users × %d items (float32), corpus %d items; user inputs %v, item input %q, score %q\n",
		rep.Out, rep.Users, rep.Items, rep.Corpus, rep.UserInputs, rep.ItemInput, rep.ScoreOutput)
	st := rep.Plan
	fmt.Fprintf(w, "compiled in %.2fs: %d nodes (const %d, size %d, user %d, item %d, pair %d), %d item tables (%d floats/item, %d bytes%s), %d pair kernels\n",
		rep.CompileSeconds, st.Nodes, st.Const, st.Size, st.User, st.Item, st.Pair, st.ItemTables, st.TableFloats, st.TableBytes, map[bool]string{true: ", float16"}[rep.Float16], st.PairKernels)
	fmt.Fprintf(w, "scored in %.3fs (%.0f items/s)\n", rep.ScoreSeconds, rep.ItemsPerSecond)
	return nil
}

// guessItemInput names the item input when no flag does: the only graph
// input whose name starts with "item", else the only one --users has no
// array for; "" (plan's defaults decide, or say what to name) otherwise.
func guessItemInput(g *onnx.Graph, users map[string]*onnx.Tensor) string {
	var named, absent []string
	for _, v := range g.Inputs {
		if strings.HasPrefix(strings.ToLower(v.Name), "item") {
			named = append(named, v.Name)
		}
		if users[v.Name] == nil && users["user."+v.Name] == nil {
			absent = append(absent, v.Name)
		}
	}
	switch {
	case len(named) == 1:
		return named[0]
	case len(absent) == 1:
		return absent[0]
	}
	return ""
}

// scoreUser binds user u and scores rows into out.
func (c *ScoreCmd) scoreUser(g *Globals, sc *plan.Scorer, byInput map[string]*onnx.Tensor, u int, rows []item.Row, out []float32) error {
	if err := g.Context().Err(); err != nil {
		return err
	}
	in := map[string]*onnx.Tensor{}
	for name, t := range byInput {
		in[name] = userRow(t, u)
	}
	if err := sc.Bind(in); err != nil {
		return fmt.Errorf("--users %s: user %d: %w", c.Users, u, err)
	}
	if err := sc.Score(rows, out); err != nil {
		return fmt.Errorf("user %d: %w", u, err)
	}
	for i, s := range out {
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("user %d, item row %d: the score is %v (check the inputs in --users and --item-embs)", u, rows[i], s)
		}
	}
	return nil
}

// rows returns the item rows to score: --items, or every row.
func (c *ScoreCmd) rows(n int) ([]item.Row, error) {
	if c.Items == "" {
		rows := item.AllRows(n)
		return rows, nil
	}
	ids, shape, err := npy.ReadInts(c.Items)
	if err != nil {
		return nil, fmt.Errorf("--items: %w", err)
	}
	if len(shape) != 1 || len(ids) == 0 {
		return nil, fmt.Errorf("--items %s: shape %v, want a non-empty 1-D array of row indices", c.Items, shape)
	}
	rows := make([]item.Row, len(ids))
	for i, r := range ids {
		if r < 0 || r >= int64(n) {
			return nil, fmt.Errorf("--items %s: entry %d is row %d, outside the %d rows of --item-embs", c.Items, i, r, n)
		}
		rows[i] = item.Row(r)
	}
	return rows, nil
}

// userArrays matches the arrays of users.npz to the model's user inputs:
// each input is the array of its name, or of "user.<name>" (the layout of
// onnx/testdata's fixtures). It returns the number of users (the shared
// leading dim) and the arrays by input name. Every problem is reported.
func userArrays(path string, arrs map[string]*onnx.Tensor, inputs []*onnx.Value) (int, map[string]*onnx.Tensor, error) {
	var errs []error
	byInput := map[string]*onnx.Tensor{}
	used := map[string]bool{}
	nu := -1
	var first string
	for _, v := range inputs {
		key := v.Name
		t, ok := arrs[key]
		if !ok {
			key = "user." + v.Name
			t, ok = arrs[key]
		}
		if !ok {
			errs = append(errs, fmt.Errorf("--users %s: no array for user input %q (named %q or %q; the file has %v)", path, v.Name, v.Name, "user."+v.Name, sortedKeys(arrs)))
			continue
		}
		used[key] = true
		want := v.Shape.At(1)
		if t.Rank() != len(want) || t.Rank() == 0 || !slices.Equal(t.Shape[1:], want[1:]) {
			errs = append(errs, fmt.Errorf("--users %s: array %q for user input %q has shape %v, want [users]+%v (the model's %s)", path, key, v.Name, t.Shape, want[1:], v.Shape))
			continue
		}
		if t.DType != v.DType {
			errs = append(errs, fmt.Errorf("--users %s: array %q for user input %q is %s, the model wants %s", path, key, v.Name, t.DType, v.DType))
			continue
		}
		if err := checkFinite(t); err != nil {
			errs = append(errs, fmt.Errorf("--users %s: array %q: %w", path, key, err))
			continue
		}
		if nu < 0 {
			nu, first = t.Shape[0], key
		} else if t.Shape[0] != nu {
			errs = append(errs, fmt.Errorf("--users %s: array %q has %d users but %q has %d", path, key, t.Shape[0], first, nu))
			continue
		}
		byInput[v.Name] = t
	}
	if len(errs) == 0 && nu == 0 {
		errs = append(errs, fmt.Errorf("--users %s: no users (leading dim 0)", path))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	var ignored []string
	for _, k := range sortedKeys(arrs) {
		if !used[k] {
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		slog.Warn("score: arrays of --users that are no user input, ignored", "file", path, "arrays", ignored)
	}
	return nu, byInput, nil
}

func sortedKeys(m map[string]*onnx.Tensor) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkFinite refuses a NaN or infinite value in a float tensor, naming
// its row (leading index) and the position within the row.
func checkFinite(t *onnx.Tensor) error {
	if !t.DType.IsFloat() || t.Len() == 0 {
		return nil
	}
	w := t.Len() / t.Shape[0]
	for i, x := range t.Data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("row %d, value %d of %d is %v; inputs must be finite", i/w, i%w, w, x)
		}
	}
	return nil
}

// userRow is user u of a [users, ...] array, as a [1, ...] tensor.
func userRow(x *onnx.Tensor, u int) *onnx.Tensor {
	w := x.Len() / x.Shape[0]
	return &onnx.Tensor{DType: x.DType, Shape: append([]int{1}, x.Shape[1:]...), Data: x.Data[u*w : (u+1)*w]}
}

// checkNPYOut refuses an output path that exists and is not a .npy file
// (a directory, or a file of the user's that is something else), since
// writing replaces it.
func checkNPYOut(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("--out %s: refusing to replace something that is not a file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer f.Close()
	head := make([]byte, 6)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte("\x93NUMPY")) {
		return fmt.Errorf("--out %s: refusing to replace an existing file that is not a .npy", path)
	}
	return nil
}
