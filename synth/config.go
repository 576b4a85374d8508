// Package synth generates a synthetic Taobao UserBehavior data set: rows
// `user_id,item_id,category_id,behavior_type,timestamp` in the real file's
// format, grouped by user and chronological within a user, from a latent
// world of interests, categories, item clusters and item-to-item links that
// a sequence model can learn and a popularity ranking cannot.
//
// The output depends only on the Config (including Seed), never on the
// number of workers: every user has its own random stream.
package synth

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Real UserBehavior time window: 2017-11-25 00:00:00 to 2017-12-03
// 23:59:59, China Standard Time (+08:00).
const (
	WindowStart int64 = 1511539200
	WindowEnd   int64 = 1512316799
)

// Size limits that keep the world tables (about 40 bytes per item) and the
// per-user buffers within memory.
const (
	MaxItems      = 1 << 25
	MaxUserEvents = 1 << 20
)

// Config describes a synthetic world and how many behaviours to draw from
// it. Zero values are not defaults: start from Preset or DefaultConfig.
type Config struct {
	// Seed selects the world and every user's behaviour; same Config, same bytes.
	Seed uint64 `json:"seed"`
	// Users is the number of users (each emits at least one row).
	Users int `json:"users"`
	// Items is the number of items in the world (not all need to be used).
	Items int `json:"items"`
	// Categories is the number of item categories (<= Items).
	Categories int `json:"categories"`
	// Interests is the number of latent interests; an interest is a group
	// of related categories (<= Categories).
	Interests int `json:"interests"`
	// MeanEvents is the mean number of behaviours per user; the count is
	// log-normal (heavy-tailed, many users below 10).
	MeanEvents float64 `json:"mean_events"`
	// LengthSigma is the log-space standard deviation of a user's count.
	LengthSigma float64 `json:"length_sigma"`
	// MaxEvents caps one user's number of behaviours.
	MaxEvents int `json:"max_events"`
	// MinUserInterests and MaxUserInterests bound the number of latent
	// interests one user has (uniform in between).
	MinUserInterests int `json:"min_user_interests"`
	MaxUserInterests int `json:"max_user_interests"`
	// SessionMean is the mean number of behaviours in a session (geometric).
	SessionMean float64 `json:"session_mean"`
	// ClusterSize is the mean number of items in a cluster of closely
	// related items inside a category.
	ClusterSize int `json:"cluster_size"`
	// Related is the number of related items each item links to: the
	// first Related-CrossLinks in its own cluster, the last CrossLinks in
	// the cluster's linked cluster, which lies in another category of the
	// same interest.
	Related    int `json:"related"`
	CrossLinks int `json:"cross_links"`
	// RelatedDecay is the ratio between the follow probabilities of
	// successive related links (the first is the strongest).
	RelatedDecay float64 `json:"related_decay"`
	// CategoryZipf, ItemZipf and InterestZipf are the Zipf exponents of the
	// popularity of categories, of items inside a category, and of interests.
	CategoryZipf float64 `json:"category_zipf"`
	ItemZipf     float64 `json:"item_zipf"`
	InterestZipf float64 `json:"interest_zipf"`
	// Step probabilities for the behaviour after the first of a session;
	// they must sum to at most 1, the remainder switches to another of the
	// user's interests:
	// PFollow: go to a related item of the current one;
	// PRevisit: go back to an item seen earlier (this session or before);
	// PSameCategory: another popular item of the current category;
	// PSwitchCategory: another category of the current interest;
	// PExplore: a popular item of a random interest (by world popularity),
	// outside the user's own.
	PFollow         float64 `json:"p_follow"`
	PRevisit        float64 `json:"p_revisit"`
	PSameCategory   float64 `json:"p_same_category"`
	PSwitchCategory float64 `json:"p_switch_category"`
	PExplore        float64 `json:"p_explore"`
	// PSessionRevisit is the probability that a session opens on an item
	// the user saw earlier under the same interest.
	PSessionRevisit float64 `json:"p_session_revisit"`
	// DriftSigma is the log-space spread between a user's interest weights
	// at the start and at the end of the window (linear blend in between).
	DriftSigma float64 `json:"drift_sigma"`
	// PReplace is the probability that one of a user's interests is
	// replaced by a new one at a random time in the window.
	PReplace float64 `json:"p_replace"`
	// Start and End bound the timestamps (Unix seconds, inclusive).
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// Workers is the number of generating goroutines (0: GOMAXPROCS). It
	// does not change the output.
	Workers int `json:"workers"`
}

// DefaultConfig is the small preset.
func DefaultConfig() Config {
	return Config{
		Seed: 1, Users: 20_000, Items: 50_000, Categories: 250, Interests: 60,
		MeanEvents: 75, LengthSigma: 1.2, MaxEvents: 5000,
		MinUserInterests: 2, MaxUserInterests: 4, SessionMean: 6,
		ClusterSize: 50, Related: 8, CrossLinks: 2, RelatedDecay: 0.8,
		CategoryZipf: 0.9, ItemZipf: 0.7, InterestZipf: 0.8,
		PFollow: 0.35, PRevisit: 0.12, PSameCategory: 0.18, PSwitchCategory: 0.15, PExplore: 0.08,
		PSessionRevisit: 0.25, DriftSigma: 1.0, PReplace: 0.5,
		Start: WindowStart, End: WindowEnd,
	}
}

// presets maps a name to the sizes that differ from DefaultConfig.
var presets = map[string]func(*Config){
	// tiny: for tests, about 100 K rows.
	"tiny": func(c *Config) {
		c.Users, c.Items, c.Categories, c.Interests, c.MeanEvents = 2_000, 5_000, 40, 12, 50
	},
	// small: the demo, about 1.5 M rows; trains in minutes.
	"small": func(c *Config) {},
	// medium: about 10 M rows.
	"medium": func(c *Config) {
		c.Users, c.Items, c.Categories, c.Interests, c.MeanEvents = 100_000, 200_000, 1_000, 200, 100
	},
	// large: 1 M items, about 40 M rows, for scale and benchmarks.
	"large": func(c *Config) {
		c.Users, c.Items, c.Categories, c.Interests, c.MeanEvents = 400_000, 1_000_000, 4_000, 600, 100
	},
	// full: the size of the real data set, about 100 M rows.
	"full": func(c *Config) {
		c.Users, c.Items, c.Categories, c.Interests, c.MeanEvents = 987_994, 4_162_024, 9_439, 1_500, 101.4
	},
}

// PresetNames lists the preset names, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the named configuration (tiny, small, medium, large, full).
func Preset(name string) (Config, error) {
	set, ok := presets[name]
	if !ok {
		return Config{}, fmt.Errorf("synth: unknown preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	c := DefaultConfig()
	set(&c)
	return c, nil
}

// ExpectedRows is the approximate number of rows the Config produces.
func (c Config) ExpectedRows() int64 { return int64(float64(c.Users) * c.MeanEvents) }

// Validate reports every problem with the Config at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("synth config: "+format, a...)) }
	if c.Users < 1 {
		bad("users = %d, want >= 1", c.Users)
	}
	if c.Items < 10 || c.Items > MaxItems {
		bad("items = %d, want 10..%d", c.Items, MaxItems)
	}
	if c.Categories < 1 || c.Categories > c.Items {
		bad("categories = %d, want 1..items (%d)", c.Categories, c.Items)
	}
	if c.Interests < 1 || c.Interests > c.Categories {
		bad("interests = %d, want 1..categories (%d)", c.Interests, c.Categories)
	}
	if !(c.MeanEvents >= 1) || c.MeanEvents > float64(c.MaxEvents) {
		bad("mean_events = %g, want 1..max_events (%d)", c.MeanEvents, c.MaxEvents)
	}
	if !(c.LengthSigma >= 0 && c.LengthSigma <= 3) {
		bad("length_sigma = %g, want 0..3", c.LengthSigma)
	}
	if c.MaxEvents < 1 || c.MaxEvents > MaxUserEvents {
		bad("max_events = %d, want 1..%d", c.MaxEvents, MaxUserEvents)
	}
	if c.MinUserInterests < 1 || c.MaxUserInterests < c.MinUserInterests || c.MaxUserInterests > 16 {
		bad("user interests = %d..%d, want 1 <= min <= max <= 16", c.MinUserInterests, c.MaxUserInterests)
	}
	if !(c.SessionMean >= 1 && c.SessionMean <= 1000) {
		bad("session_mean = %g, want 1..1000", c.SessionMean)
	}
	if c.ClusterSize < 2 || c.ClusterSize > 10_000 {
		bad("cluster_size = %d, want 2..10000", c.ClusterSize)
	}
	if c.Related < 1 || c.Related > 64 {
		bad("related = %d, want 1..64", c.Related)
	}
	if c.CrossLinks < 0 || c.CrossLinks > c.Related {
		bad("cross_links = %d, want 0..related (%d)", c.CrossLinks, c.Related)
	}
	if !(c.RelatedDecay > 0 && c.RelatedDecay <= 1) {
		bad("related_decay = %g, want in (0, 1]", c.RelatedDecay)
	}
	for _, z := range []struct {
		name string
		v    float64
	}{{"category_zipf", c.CategoryZipf}, {"item_zipf", c.ItemZipf}, {"interest_zipf", c.InterestZipf}} {
		if !(z.v >= 0 && z.v <= 4) {
			bad("%s = %g, want 0..4", z.name, z.v)
		}
	}
	c.validateProbs(bad)
	if c.Start < 0 || c.End < c.Start {
		bad("time window [%d, %d] is empty or negative", c.Start, c.End)
	}
	if c.Workers < 0 || c.Workers > 1024 {
		bad("workers = %d, want 0..1024", c.Workers)
	}
	return errors.Join(errs...)
}

func (c Config) validateProbs(bad func(string, ...any)) {
	probs := []struct {
		name string
		v    float64
	}{
		{"p_follow", c.PFollow}, {"p_revisit", c.PRevisit}, {"p_same_category", c.PSameCategory},
		{"p_switch_category", c.PSwitchCategory}, {"p_explore", c.PExplore}, {"p_session_revisit", c.PSessionRevisit},
		{"p_replace", c.PReplace},
	}
	for _, p := range probs {
		if !(p.v >= 0 && p.v <= 1) {
			bad("%s = %g, want a probability in [0, 1]", p.name, p.v)
		}
	}
	if s := c.PFollow + c.PRevisit + c.PSameCategory + c.PSwitchCategory + c.PExplore; s > 1+1e-9 {
		bad("p_follow + p_revisit + p_same_category + p_switch_category + p_explore = %g, want <= 1", s)
	}
	if !(c.DriftSigma >= 0 && c.DriftSigma <= 5) || math.IsNaN(c.DriftSigma) {
		bad("drift_sigma = %g, want 0..5", c.DriftSigma)
	}
}
