package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"nann/tfserving"
)

type restTarget struct {
	cfg    ServerConfig
	url    string
	client *http.Client
}

// DialREST returns a Target posting TF Serving REST predict requests
// (columnar "inputs" format) to cfg.Addr + /v1/models/{model}:predict
// (/v1/models/{model}/labels/{label}:predict with a VersionLabel).
func DialREST(cfg ServerConfig) (Target, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("REST target: %w", err)
	}
	u, err := url.Parse(cfg.Addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("REST target: %q is not an http(s)://host:port URL", cfg.Addr)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 1024
	tr.Proxy = nil // a benchmark talks to the given address, never a proxy
	if cfg.MetricsURL == "" {
		cfg.MetricsURL = strings.TrimRight(cfg.Addr, "/") + "/metrics"
	}
	path := url.PathEscape(cfg.Model)
	if cfg.VersionLabel != "" {
		path += "/labels/" + url.PathEscape(cfg.VersionLabel)
	}
	return &restTarget{
		cfg:    cfg,
		url:    strings.TrimRight(cfg.Addr, "/") + "/v1/models/" + path + ":predict",
		client: &http.Client{Transport: tr},
	}, nil
}

func (t *restTarget) Name() string { return "rest " + t.cfg.Addr }
func (t *restTarget) Kind() string { return "rest" }

// ServerSample reads the server's metrics.
func (t *restTarget) ServerSample(ctx context.Context) (ServerSample, error) {
	return scrapeMetrics(ctx, t.client, t.cfg.MetricsURL)
}

func (t *restTarget) Close() error {
	t.client.CloseIdleConnections()
	return nil
}

// Prepare encodes in as a JSON body: {"signature_name": ..., "inputs":
// {"comm_seq": [[...]] | "item_ids": [[...]], "level_topn": [...]}}.
func (t *restTarget) Prepare(in *Input) (any, error) {
	if err := in.Check(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"signature_name":`)
	sig, _ := json.Marshal(t.cfg.Signature)
	b.Write(sig)
	b.WriteString(`,"inputs":{"level_topn":[`)
	for i, v := range in.LevelTopN {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(v)))
	}
	b.WriteString(`]`)
	if in.Named != nil {
		writeNamedJSON(&b, in.Named)
	} else if in.CommSeq != nil {
		b.WriteString(`,"comm_seq":[[`)
		for i, v := range in.CommSeq {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		b.WriteString(`]]`)
	} else {
		writeIDs(&b, tfserving.ItemIDs, in.ItemIDs)
		if in.CateIDs != nil {
			writeIDs(&b, tfserving.CateIDs, in.CateIDs)
		}
	}
	b.WriteString(`}}`)
	return b.Bytes(), nil
}

func writeIDs(b *bytes.Buffer, name string, ids []int64) {
	b.WriteString(`,"` + name + `":[[`)
	for i, v := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	b.WriteString(`]]`)
}

// restAnswer is the columnar answer, or an error.
type restAnswer struct {
	Outputs map[string]json.RawMessage `json:"outputs"`
	Error   string                     `json:"error"`
}

func (t *restTarget) Do(ctx context.Context, prepared any) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(prepared.([]byte)))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(t.cfg.MaxMessageBytes)+1))
	if err != nil {
		return Result{}, err
	}
	if len(body) > t.cfg.MaxMessageBytes {
		return Result{}, &BadResponseError{Msg: fmt.Sprintf("body exceeds %d bytes", t.cfg.MaxMessageBytes)}
	}
	var ans restAnswer
	jerr := json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK {
		msg := ans.Error
		if jerr != nil || msg == "" {
			msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
		return Result{}, &HTTPError{Status: resp.StatusCode, Msg: msg}
	}
	if jerr != nil {
		return Result{}, &BadResponseError{Msg: "JSON body: " + jerr.Error()}
	}
	return restResult(&ans)
}

// restResult reads outputs.top_k ([[ids]]) and outputs.items_scored
// ([n] or [[n]]), which is optional.
func restResult(ans *restAnswer) (Result, error) {
	raw, ok := ans.Outputs[tfserving.TopK]
	if !ok {
		return Result{}, &BadResponseError{Msg: `no "outputs"."top_k" in the answer`}
	}
	var rows [][]int64
	if err := json.Unmarshal(raw, &rows); err != nil || len(rows) != 1 {
		return Result{}, &BadResponseError{Msg: fmt.Sprintf("top_k is not one row of ids (%d rows, %v)", len(rows), err)}
	}
	res := Result{IDs: countIDs(rows[0]), ItemsScored: -1}
	if raw, ok := ans.Outputs[tfserving.ItemsScored]; ok {
		var flat []int64
		if err := json.Unmarshal(raw, &flat); err != nil {
			var nested [][]int64
			if err2 := json.Unmarshal(raw, &nested); err2 != nil || len(nested) != 1 {
				return Result{}, &BadResponseError{Msg: fmt.Sprintf("items_scored: %v", err)}
			}
			flat = nested[0]
		}
		if len(flat) != 1 {
			return Result{}, &BadResponseError{Msg: fmt.Sprintf("items_scored has %d values, want 1", len(flat))}
		}
		res.ItemsScored = int(flat[0])
	}
	return res, nil
}
