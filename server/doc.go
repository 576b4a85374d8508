// Package server serves a nann model over TensorFlow Serving's gRPC and REST
// APIs: Predict, GetModelMetadata and GetModelStatus on gRPC, the /v1/models
// REST routes, Prometheus metrics and the standard gRPC health service.
//
// The server is generic over the loaded model (the contract is package
// serving): the serving.Loader given to New turns a version directory
// (<base>/<version>/) into a serving.Servable, and the server takes care of
// version polling and hot swaps, request decoding and validation, limits,
// overload shedding, error codes, metrics and graceful shutdown. One server
// serves one model or the models of a TF Serving model config file
// (models.go: routing by name, version policies, labels), warms new versions
// up before they take traffic (warmup.go), and keeps each model's item
// blocklist (blocklist.go).
package server
