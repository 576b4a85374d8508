#!/bin/sh
# Regenerates the Go code in onnxpb/ from proto/onnx.proto, which is the
# unmodified onnx.proto of ONNX 1.12 (Debian python3-onnx,
# /usr/lib/python3/dist-packages/onnx/onnx.proto; IR version 8, opsets to 17).
# The Go package is set with an M flag so that the .proto stays as published.
# Needs protoc plus protoc-gen-go on PATH:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -eu
cd "$(dirname "$0")"
PATH="$PATH:$(go env GOPATH)/bin"
rm -f onnxpb/*.pb.go
protoc -I proto \
  --go_out=. --go_opt=module=nann/onnx \
  --go_opt=Monnx.proto=nann/onnx/onnxpb \
  onnx.proto
