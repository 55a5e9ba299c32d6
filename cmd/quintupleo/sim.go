package main

import (
	"context"
	"fmt"
	"io"
)

// runSim is filled in by the cloudsim work (issue 2).
func runSim(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "quintupleo sim: not built yet")
	return 1
}
