package ssh

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Every session's scratch directory is made inside one directory of the
// server's own, quintupleo-ssh.XXXX under Config.ScratchDir, whose lock
// file the server holds locked (flock) for as long as it runs. The kernel
// drops the lock when the process ends, however it ends, so at start a
// server removes every such directory whose lock it can take: its owner
// died (SIGKILL, a crash) without removing its sessions' files, while a
// directory of a server still running, sharing the parent, is left alone.
const (
	scratchPrefix    = "quintupleo-ssh."
	scratchNewPrefix = "quintupleo-ssh-new." // not yet locked: never swept
	scratchLock      = ".lock"
)

// scratchRoot is the server's own scratch directory and its held lock.
type scratchRoot struct {
	dir   string
	lock  *os.File
	close sync.Once
}

// openScratchRoot sweeps parent of dead servers' scratch directories and
// makes this server's own. The directory gets its final name only once
// locked, so a sweep running meanwhile in another server cannot take it.
func openScratchRoot(parent string, log *slog.Logger) (*scratchRoot, error) {
	sweepScratch(parent, log)
	tmp, err := os.MkdirTemp(parent, scratchNewPrefix)
	if err != nil {
		return nil, fmt.Errorf("ssh: scratch dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(tmp, scratchLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	dir := filepath.Join(parent, scratchPrefix+strings.TrimPrefix(filepath.Base(tmp), scratchNewPrefix))
	if err == nil {
		err = os.Rename(tmp, dir)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("ssh: scratch dir: %w", err)
	}
	return &scratchRoot{dir: dir, lock: lock}, nil
}

// Close removes the directory, then lets go of the lock. Only the first
// call does anything (Shutdown and Close may both run).
func (r *scratchRoot) Close() error {
	var err error
	r.close.Do(func() { err = errors.Join(os.RemoveAll(r.dir), r.lock.Close()) })
	return err
}

// sweepScratch removes the scratch directories under parent whose server
// is gone, logging each.
func sweepScratch(parent string, log *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(parent, scratchPrefix+"*"))
	for _, dir := range dirs {
		if !ownerGone(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("ssh: cannot remove a scratch directory left by a server that did not end cleanly", "dir", dir, "err", err)
			continue
		}
		log.Info("ssh: removed the scratch directory of a server that did not end cleanly", "dir", dir)
	}
}

// ownerGone says whether dir's lock can be taken: no process holds it.
func ownerGone(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, scratchLock), os.O_RDWR, 0)
	if err != nil {
		return false // not one of ours, or not ours to judge
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}
