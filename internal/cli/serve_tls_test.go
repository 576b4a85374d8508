package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeTLSAndMetricsFlags: the TLS and metrics flags reach the server
// configuration; half a key pair is refused.
func TestServeTLSAndMetricsFlags(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := &ServeCmd{ModelName: "nann", ModelBasePath: dir, MetricsPath: "/metrics",
		TLSCertFile: write("c.pem", certPEM), TLSKeyFile: write("k.pem", keyPEM),
		SSLConfigFile:        write("ssl.txt", "server_key: "+strconv.Quote(keyPEM)+"\nserver_cert: "+strconv.Quote(certPEM)),
		MonitoringConfigFile: write("mon.txt", `prometheus_config { enable: true }`)}
	cfg, err := c.config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCTLS == nil || cfg.RESTTLS == nil || cfg.GRPCTLS == cfg.RESTTLS || cfg.MetricsPath != "/monitoring/prometheus/metrics" {
		t.Fatalf("grpc TLS %v, rest TLS %v (want distinct, the SSL config for gRPC), metrics %q", cfg.GRPCTLS != nil, cfg.RESTTLS != nil, cfg.MetricsPath)
	}
	c.TLSKeyFile = ""
	if _, err := c.config(); err == nil || !strings.Contains(err.Error(), "--tls_key_file") {
		t.Fatalf("half a key pair: %v", err)
	}
}
