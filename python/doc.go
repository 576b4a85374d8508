// Package python holds nann's PyTorch trainer (python/nann_torch, run with
// Debian's /usr/bin/python3) and, in its tests, the Go side of the
// agreement checks: a Go-made fixture (a prepared tiny world, a run trained
// by train.Run, the Go model's plain-forward scores and one fixed batch's
// gradients) and the runner of the Python unittest suite.
package python
