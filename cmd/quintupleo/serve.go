package main

import (
	"context"
	"fmt"
	"io"
)

// runServe is filled in by the RPC server work (issue 3).
func runServe(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "quintupleo serve: not built yet")
	return 1
}
