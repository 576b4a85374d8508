#!/bin/sh
# Regenerates the Go code in tfpb/ and servingpb/ from proto/ (every .proto,
# including config/model_server_config.proto and what it imports).
# Needs protoc plus protoc-gen-go and protoc-gen-go-grpc on PATH:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
set -eu
cd "$(dirname "$0")"
PATH="$PATH:$(go env GOPATH)/bin"
rm -f tfpb/*.pb.go servingpb/*.pb.go
protoc -I proto \
  --go_out=.. --go_opt=module=nann \
  --go-grpc_out=.. --go-grpc_opt=module=nann \
  $(cd proto && find . -name '*.proto' | sed 's|^\./||' | sort)
