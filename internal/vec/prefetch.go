package vec

// This file: software prefetching of table rows ahead of a gather (the
// engine's per-item tables), PREFETCHT1 in assembly; the plain-Go twin
// does nothing.

import "unsafe"

// PrefetchRows hints the CPU to bring rows rows (each rowBytes long, the
// first at table) of a row-major table into the L2 cache, so that a later
// gather of them does not wait on memory. It has no effect on results; the
// plain-Go twin does nothing. Rows must be valid row indices of the table.
func PrefetchRows[T float32 | uint16 | uint8](table []T, width int, rows []int32) {
	if !use.Prefetch || len(rows) == 0 || width <= 0 {
		return
	}
	var z T
	rowBytes := width * int(unsafe.Sizeof(z))
	for _, r := range rows {
		_ = table[int(r)*width+width-1]
	}
	prefetchRowsAsm(unsafe.Pointer(&table[0]), rowBytes, &rows[0], len(rows))
}
