// Command rssprobe measures the memory of a running `nann serve` under
// the hostile requests of issue 12: REST bodies of 30 M ids (60 MB), three
// of them at once against --max_concurrent 1 --max_queue 0 while a slow
// client holds the slot, and a gRPC message with 1.5 M input-map keys. It
// starts the server itself (so it can read /proc/PID/status and reset the
// peak with /proc/PID/clear_refs) and prints the resident set before and
// the peak during each probe.
//
//	go run ./server/internal/rssprobe --nann ./nann --base models/nann
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

func main() {
	nann := flag.String("nann", "./nann", "nann binary")
	base := flag.String("base", "models/nann", "model base path")
	keys := flag.Int("keys", 1_500_000, "input-map keys of the gRPC probe")
	ids := flag.Int64("ids", 30_000_000, "ids in the REST probe's one row")
	probes := flag.String("probes", "rest,grpc", "which probes to run")
	flag.Parse()
	const grpcPort, restPort = "18500", "18501"
	cmd := exec.Command(*nann, "serve", "--model_base_path", *base, "--host", "127.0.0.1", "--port", grpcPort, "--rest_api_port", restPort,
		"--max_concurrent", "1", "--max_queue", "0", "--file_system_poll_wait_seconds", "0")
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	rest := "http://127.0.0.1:" + restPort
	waitReady(rest)
	post(rest, strings.NewReader(`{"inputs": {"item_ids": [[1, 2, 3]]}}`)) // warm up
	idle := rss(pid, "VmRSS")
	fmt.Printf("idle RSS %d MB\n", idle>>20)

	probe := func(name string, f func() string) {
		if !strings.Contains(*probes, strings.ToLower(name[:4])) {
			return
		}
		resetPeak(pid)
		before := rss(pid, "VmRSS")
		out := f()
		peak := rss(pid, "VmHWM")
		fmt.Printf("%-48s %-40s RSS before %4d MB, peak %4d MB (+%d MB)\n", name, out, before>>20, peak>>20, (peak-before)>>20)
	}
	body := func() io.Reader { return idsBody(*ids) }
	probe(fmt.Sprintf("REST, one row of %d ids (%d MB)", *ids, (2**ids+30)>>20), func() string { return post(rest, body()) })
	probe("REST, 3 such bodies at once, slot held", func() string {
		release := holdSlot(restPort)
		var mu sync.Mutex
		var codes []string
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := post(rest, body())
				mu.Lock()
				codes = append(codes, c)
				mu.Unlock()
			}()
		}
		wg.Wait()
		release()
		return strings.Join(codes, ", ")
	})
	msg := manyKeys(*keys)
	probe(fmt.Sprintf("gRPC, %d input-map keys (%d MB)", *keys, len(msg)>>20), func() string { return grpcCall("127.0.0.1:"+grpcPort, msg) })
	probe("gRPC, the same with the slot held", func() string {
		release := holdSlot(restPort)
		defer release()
		return grpcCall("127.0.0.1:"+grpcPort, msg)
	})
}

func fail(err error) { fmt.Fprintln(os.Stderr, "rssprobe:", err); os.Exit(1) }

func waitReady(rest string) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(rest + "/v1/models/nann"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	fail(fmt.Errorf("server not ready"))
}

// rss returns a /proc/PID/status field in bytes.
func rss(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		fail(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	fail(fmt.Errorf("no %s in /proc/%d/status", field, pid))
	return 0
}

// resetPeak resets VmHWM to the current RSS.
func resetPeak(pid int) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		fail(err)
	}
}

// post sends a predict body and returns the HTTP status (or the error).
func post(rest string, body io.Reader) string {
	resp, err := http.Post(rest+"/v1/models/nann:predict", "application/json", body)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return strconv.Itoa(resp.StatusCode)
}

// holdSlot sends the head of a valid request and stalls, so the server's
// one slot is held while it waits for the rest of the body; the returned
// function finishes the request.
func holdSlot(port string) func() {
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		fail(err)
	}
	body := `{"inputs": {"item_ids": [[1, 2, 3]]}}`
	fmt.Fprintf(conn, "POST /v1/models/nann:predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // the server admits it and waits for the body
	return func() {
		io.WriteString(conn, body[10:])
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.Contains(line, "200") {
			fmt.Fprintf(os.Stderr, "slot holder got %q\n", line)
		}
	}
}

func idsBody(n int64) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		w.WriteString(`{"inputs": {"item_ids": [[1`)
		for i := int64(1); i < n; i++ {
			w.WriteString(",1")
		}
		w.WriteString(`]]}}`)
		w.Flush()
		pw.Close()
	}()
	return pr
}

func manyKeys(n int) []byte {
	var spec []byte
	spec = protowire.AppendTag(spec, 1, protowire.BytesType)
	spec = protowire.AppendString(spec, "nann")
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, spec)
	for i := range n {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, fmt.Sprintf("k%07d", i))
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		e = protowire.AppendBytes(e, nil)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

type raw struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*raw).b)}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*raw).b = data.Materialize()
	return nil
}
func (rawCodec) Name() string { return "proto" }

func grpcCall(addr string, msg []byte) string {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = conn.Invoke(ctx, "/tensorflow.serving.PredictionService/Predict", &raw{b: msg}, &raw{}, grpc.ForceCodecV2(rawCodec{}))
	st := status.Convert(err)
	m := st.Message()
	if len(m) > 24 {
		m = m[:24] + "…"
	}
	return st.Code().String() + " " + m
}
