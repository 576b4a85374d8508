// Package tfserving holds nann's subset of the TensorFlow and TensorFlow
// Serving protos (proto/) and the Go code generated from them: package tfpb
// (proto package tensorflow: TensorProto, DataType, SignatureDef, error codes)
// and package servingpb (proto package tensorflow.serving: Predict,
// GetModelMetadata and GetModelStatus messages, the PredictionService and
// ModelService stubs, and ModelServerConfig, the message of
// --model_config_file, with what it imports). Message names, field numbers and RPC paths are
// TensorFlow Serving's, so stock clients talk to nann's server unchanged.
// The generated code is committed; regenerate it with go generate.
package tfserving

//go:generate ./gen.sh
