package acceptloop

import "syscall"

// fdReserveMin is the fewest descriptors FDCap leaves to the rest of the
// process.
const fdReserveMin = 64

// FDCap returns the connection cap a server should default to when it
// would like want, and the open-file limit it was derived from (0 if
// unknown): want, lowered so that a quarter of RLIMIT_NOFILE, and at least
// 64 descriptors, stay free for what else the process holds (the other
// front end's connections, HTTP connections to the cloud, listeners,
// logs). Go raises the soft limit to the hard one at start-up, so the limit
// read here is what the process really has.
func FDCap(want int) (n int, nofile uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur >= 1<<31 { // unknown or unlimited
		return want, 0
	}
	return max(1, min(want, FDBudget(rl.Cur))), rl.Cur
}

// FDBudget is what an open-file limit of nofile leaves to one server's
// connections after the reserve.
func FDBudget(nofile uint64) int { return int(nofile) - max(fdReserveMin, int(nofile)/4) }
