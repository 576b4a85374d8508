package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"nann/tfserving/servingpb"
)

// selfSigned makes a self-signed certificate for 127.0.0.1 usable by
// servers and clients, PEM-encoded.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM string, cert tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	cert, err = tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSBothProtocols serves gRPC with TF Serving's --ssl_config_file
// (client_verify on) and REST with a cert/key pair, and checks that TLS
// clients are served while plaintext and unauthenticated ones are not.
func TestTLSBothProtocols(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, cert := selfSigned(t, "nann-test")
	_, _, stranger := selfSigned(t, "stranger")
	sslPath := writeFile(t, dir, "ssl.txt", "# TF Serving SSLConfig\nserver_key: "+strconv.Quote(keyPEM)+"\nserver_cert: "+strconv.Quote(certPEM)+
		"\ncustom_ca: "+strconv.Quote(certPEM)+"\nclient_verify: true\n")
	ssl, err := ReadSSLConfig(sslPath)
	if err != nil {
		t.Fatal(err)
	}
	m := newFakeModel(t, 1)
	cfg := testConfig(m.base)
	if cfg.GRPCTLS, err = ssl.TLSConfig(); err != nil {
		t.Fatal(err)
	}
	if cfg.RESTTLS, err = LoadKeyPair(writeFile(t, dir, "cert.pem", certPEM), writeFile(t, dir, "key.pem", keyPEM)); err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, m.load, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); s.Wait() }()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(certPEM))

	call := func(creds credentials.TransportCredentials) error {
		conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = servingpb.NewPredictionServiceClient(conn).Predict(ctx, seqRequest(0))
		return err
	}
	if err := call(credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}})); err != nil {
		t.Fatalf("gRPC over TLS with a client certificate: %v", err)
	}
	if err := call(credentials.NewTLS(&tls.Config{RootCAs: roots})); err == nil {
		t.Error("gRPC over TLS without a client certificate was served (client_verify is on)")
	}
	if err := call(credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{stranger}})); err == nil {
		t.Error("gRPC with a client certificate not signed by custom_ca was served")
	}
	if err := call(insecure.NewCredentials()); err == nil {
		t.Error("plaintext gRPC was served on the TLS port")
	}

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := client.Post("https://"+s.RESTAddr()+"/v1/models/nann:predict", "application/json", strings.NewReader(`{"inputs": {"item_ids": [[1, 2]]}}`))
	if err != nil {
		t.Fatalf("REST over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("REST over TLS: HTTP %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := http.Get("http://" + s.RESTAddr() + "/v1/models/nann"); err == nil && resp.StatusCode == 200 {
		t.Error("plaintext REST was served on the TLS port")
	}
}

// TestSSLConfigErrors: a bad --ssl_config_file is reported with every
// problem, and a text-proto syntax error with its place.
func TestSSLConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ssl, err := ReadSSLConfig(writeFile(t, dir, "a.txt", "client_verify: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssl.TLSConfig()
	for _, want := range []string{"server_key is empty", "server_cert is empty", "custom_ca is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	_, err = ReadSSLConfig(writeFile(t, dir, "b.txt", "server_key: \"x\"\nserver_kee: \"y\"\n"))
	if err == nil || !strings.Contains(err.Error(), "b.txt") || !strings.Contains(err.Error(), "2:") {
		t.Errorf("syntax error reported as %v", err)
	}
}

// TestMetricsPath: /metrics can be moved (flag or TF Serving's
// monitoring config) or turned off.
func TestMetricsPath(t *testing.T) {
	dir := t.TempDir()
	moved, err := ReadMonitoringConfig(writeFile(t, dir, "mon.txt", `prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }`))
	if err != nil || moved != "/monitoring/prometheus/metrics" {
		t.Fatalf("monitoring config: %q %v", moved, err)
	}
	if off, err := ReadMonitoringConfig(writeFile(t, dir, "off.txt", `prometheus_config { path: "/m" }`)); err != nil || off != "" {
		t.Fatalf("disabled monitoring config: %q %v", off, err)
	}
	for _, c := range []struct {
		path     string
		served   string
		unserved string
	}{{moved, moved, "/metrics"}, {"", "", "/metrics"}} {
		m := newFakeModel(t, 1)
		cfg := testConfig(m.base)
		cfg.MetricsPath = c.path
		ts := startServer(t, cfg, m.load)
		if c.served != "" {
			if code, _ := getStatus(t, ts.rest+c.served); code != 200 {
				t.Errorf("metrics path %q: GET %s: HTTP %d", c.path, c.served, code)
			}
		}
		if code, body := getStatus(t, ts.rest+c.unserved); code == 200 && strings.Contains(body, "nann_serve") {
			t.Errorf("metrics path %q: metrics still served at %s", c.path, c.unserved)
		}
		ts.stop()
	}
	cfg := testConfig("/x")
	cfg.MetricsPath = "/v1/models/metrics"
	if err := cfg.Validate(); err == nil {
		t.Error("metrics path under /v1/ accepted")
	}
}

func getStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}
