// Command nann is the whole NANN pipeline in one binary: synth, prepare,
// train, extract, index, eval, export, serve, bench and demo. Run
// `nann --help` for the list.
package main

import (
	"os"

	"nann/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
