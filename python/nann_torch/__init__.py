"""nann_torch: nann's reference model trained with PyTorch (data-parallel
via torchrun), reading nann's prepared datasets in place and writing nann's
checkpoint format, item tables and an ONNX scoring graph. See README.md."""
