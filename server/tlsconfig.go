package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// LoadKeyPair returns a server TLS configuration serving the PEM
// certificate (chain) and key in the two files.
func LoadKeyPair(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// SSLConfig is TensorFlow Serving's --ssl_config_file: a text-format
// tensorflow.serving.SSLConfig holding PEM contents, for example
//
//	server_key: "-----BEGIN PRIVATE KEY-----\n..."
//	server_cert: "-----BEGIN CERTIFICATE-----\n..."
//	custom_ca: "-----BEGIN CERTIFICATE-----\n..."
//	client_verify: true
//
// client_verify requires clients to present a certificate signed by
// custom_ca; without it a client certificate is not asked for.
type SSLConfig struct {
	ServerKey, ServerCert, CustomCA string
	ClientVerify                    bool
}

// ReadSSLConfig reads an SSLConfig text proto.
func ReadSSLConfig(path string) (*SSLConfig, error) {
	msg, err := readTextProto(path, "SSLConfig")
	if err != nil {
		return nil, err
	}
	f := msg.Descriptor().Fields()
	return &SSLConfig{
		ServerKey:    msg.Get(f.ByName("server_key")).String(),
		ServerCert:   msg.Get(f.ByName("server_cert")).String(),
		CustomCA:     msg.Get(f.ByName("custom_ca")).String(),
		ClientVerify: msg.Get(f.ByName("client_verify")).Bool(),
	}, nil
}

// TLSConfig builds the server TLS configuration, reporting every problem.
func (c *SSLConfig) TLSConfig() (*tls.Config, error) {
	var errs []error
	if c.ServerKey == "" {
		errs = append(errs, errors.New("server_key is empty"))
	}
	if c.ServerCert == "" {
		errs = append(errs, errors.New("server_cert is empty"))
	}
	var pool *x509.CertPool
	if c.CustomCA != "" {
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(c.CustomCA)) {
			errs = append(errs, errors.New("custom_ca holds no PEM certificate"))
		}
	} else if c.ClientVerify {
		errs = append(errs, errors.New("client_verify is set but custom_ca is empty (the CA that signs client certificates)"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ssl config: %w", errors.Join(errs...))
	}
	cert, err := tls.X509KeyPair([]byte(c.ServerCert), []byte(c.ServerKey))
	if err != nil {
		return nil, fmt.Errorf("ssl config: server_cert and server_key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientVerify {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, pool
	}
	return cfg, nil
}

// ReadMonitoringConfig reads TensorFlow Serving's --monitoring_config_file,
// a text-format tensorflow.serving.MonitoringConfig such as
//
//	prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }
//
// and returns the metrics path: "" when Prometheus is not enabled, TF
// Serving's default path when enabled without one.
func ReadMonitoringConfig(path string) (string, error) {
	msg, err := readTextProto(path, "MonitoringConfig")
	if err != nil {
		return "", err
	}
	pc := msg.Get(msg.Descriptor().Fields().ByName("prometheus_config")).Message()
	f := pc.Descriptor().Fields()
	if !pc.Get(f.ByName("enable")).Bool() {
		return "", nil
	}
	if p := pc.Get(f.ByName("path")).String(); p != "" {
		return p, nil
	}
	return "/monitoring/prometheus/metrics", nil
}

var sslConfigFields = []*descriptorpb.FieldDescriptorProto{
	field("server_key", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
	field("server_cert", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
	field("custom_ca", 3, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
	field("client_verify", 4, descriptorpb.FieldDescriptorProto_TYPE_BOOL, ""),
}

func field(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, msgType string) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(),
		Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String(name),
	}
	if msgType != "" {
		f.TypeName = proto.String(msgType)
	}
	return f
}

// configFile describes TF Serving's SSLConfig and MonitoringConfig
// messages, so their text files are parsed by the protobuf text parser.
var configFile = func() protoreflect.FileDescriptor {
	fd := &descriptorpb.FileDescriptorProto{
		Name: proto.String("nann/server/config_files.proto"), Package: proto.String("tensorflow.serving"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("SSLConfig"), Field: sslConfigFields},
			{Name: proto.String("PrometheusConfig"), Field: []*descriptorpb.FieldDescriptorProto{
				field("enable", 1, descriptorpb.FieldDescriptorProto_TYPE_BOOL, ""),
				field("path", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, ""),
			}},
			{Name: proto.String("MonitoringConfig"), Field: []*descriptorpb.FieldDescriptorProto{
				field("prometheus_config", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".tensorflow.serving.PrometheusConfig"),
			}},
		},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		panic(err)
	}
	return f
}()

func readTextProto(path, message string) (protoreflect.Message, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(configFile.Messages().ByName(protoreflect.Name(message)))
	if err := prototext.Unmarshal(b, msg); err != nil {
		return nil, fmt.Errorf("%s: not a text-format %s: %w", path, message, err)
	}
	return msg, nil
}
