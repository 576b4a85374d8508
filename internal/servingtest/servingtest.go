// Package servingtest runs nann's serving front end inside the tests of
// other packages: it starts a server.Server on loopback, stops it when the
// test ends, and connects gRPC clients to it. It is imported only by tests.
//
// The server package's own tests keep their helpers in package server,
// since a package's internal tests cannot import a package that imports it.
package servingtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"nann/server"
	"nann/serving"
)

// Start builds a server for cfg and load (logging nowhere), starts it, and
// stops it when tb's test ends: its context is cancelled, then Wait is
// awaited and any error it returns fails the test.
func Start(tb testing.TB, cfg server.Config, load serving.Loader) *server.Server {
	tb.Helper()
	srv, err := server.New(cfg, load, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		if err := srv.Wait(); err != nil {
			tb.Errorf("server: %v", err)
		}
	})
	return srv
}

// Dial connects a gRPC client without transport security to addr; the
// connection is closed when tb's test ends.
func Dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

var grpcAddrRE = regexp.MustCompile(`grpc=(127\.0\.0\.1:\d+)`)

// GRPCAddrFromLog waits up to 10 s for a server's start-up line
// ("… grpc=127.0.0.1:PORT …") to appear in log() and returns the address;
// the test fails with the log if it does not.
func GRPCAddrFromLog(tb testing.TB, log func() string) string {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if m := grpcAddrRE.FindStringSubmatch(log()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			tb.Fatalf("server did not start:\n%s", log())
		}
	}
}

// RESTTopK posts instances (the REST row format) to the predict route of
// model on the REST server at addr and returns each row's top_k; a
// transport error, a status other than 200 or an answer that does not
// decode fails the test, naming the server's error.
func RESTTopK(tb testing.TB, addr, model string, instances []map[string]any) [][]int64 {
	tb.Helper()
	body, err := json.Marshal(map[string]any{"instances": instances})
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/v1/models/"+model+":predict", "application/json", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Predictions []struct {
			TopK []int64 `json:"top_k"`
		} `json:"predictions"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("REST: status %d, %v %q", resp.StatusCode, err, out.Error)
	}
	rows := make([][]int64, len(out.Predictions))
	for i, p := range out.Predictions {
		rows[i] = p.TopK
	}
	return rows
}
