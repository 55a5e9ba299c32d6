package main

import (
	"errors"
	"time"

	"github.com/spf13/pflag"

	qssh "quintupleo/ssh"
)

// sshLimitFlags are the SSH endpoint's connection and login limits, named
// after sshd_config's (docs/security.md, "Threat model"; docs/limits.md).
type sshLimitFlags struct {
	maxConns, maxStartups, maxAuthTries int
	loginGraceTime, authFailPenalty     time.Duration
	noAuthPenalty, gracePenalty         time.Duration
}

func (f *sshLimitFlags) register(fs *pflag.FlagSet) {
	fs.IntVar(&f.maxConns, "ssh-max-conns", 0, "SSH connections at once, logged in or not; 0: 512, or less if the open-file limit would not keep a quarter (at least 64) free")
	fs.IntVar(&f.maxStartups, "ssh-max-startups", qssh.DefaultMaxStartups, "SSH connections that have not logged in; when full, the oldest of them is closed to admit a new one (sshd's MaxStartups)")
	fs.IntVar(&f.maxAuthTries, "ssh-max-auth-tries", 6, "failed authentication attempts after which an SSH connection is closed (sshd's MaxAuthTries)")
	fs.DurationVar(&f.loginGraceTime, "ssh-login-grace-time", 30*time.Second, "close an SSH connection that has not logged in within this (sshd's LoginGraceTime)")
	fs.DurationVar(&f.authFailPenalty, "ssh-auth-fail-penalty", qssh.DefaultAuthFailPenalty, "penalty a failed SSH login adds to its source address; "+
		"past 15s of penalty the address is refused until it runs out, at most 10m (sshd's PerSourcePenalties authfail); 0 disables")
	fs.DurationVar(&f.noAuthPenalty, "ssh-noauth-penalty", qssh.DefaultNoAuthPenalty, "penalty an SSH connection that ends without trying to log in "+
		"(a banner probe, a connection evicted by --ssh-max-startups) adds to its source address, as --ssh-auth-fail-penalty (sshd's noauth); 0 disables")
	fs.DurationVar(&f.gracePenalty, "ssh-grace-penalty", qssh.DefaultGracePenalty, "penalty an SSH connection closed by --ssh-login-grace-time adds to its "+
		"source address, as --ssh-auth-fail-penalty (sshd's grace-exceeded); 0 disables")
}

func (f *sshLimitFlags) validate() error {
	if f.maxConns < 0 || f.maxStartups < 1 || f.maxAuthTries < 1 || f.loginGraceTime <= 0 ||
		min(f.authFailPenalty, f.noAuthPenalty, f.gracePenalty) < 0 {
		return errors.New("--ssh-max-conns must not be negative, --ssh-max-startups and --ssh-max-auth-tries must be at least 1, " +
			"--ssh-login-grace-time must be positive and --ssh-auth-fail-penalty, --ssh-noauth-penalty and --ssh-grace-penalty must not be negative")
	}
	return nil
}

// apply puts the limits into cfg. A zero sshLimitFlags (a serveConfig not
// made by flags) keeps ssh's defaults, which are the flags'.
func (f *sshLimitFlags) apply(cfg *qssh.Config) {
	cfg.MaxConns, cfg.MaxStartups, cfg.MaxAuthTries, cfg.HandshakeTimeout = f.maxConns, f.maxStartups, f.maxAuthTries, f.loginGraceTime
	if f.maxStartups != 0 {
		// Made by flags: 0 means no penalty of that kind.
		off := func(d time.Duration) time.Duration {
			if d == 0 {
				return -1
			}
			return d
		}
		cfg.AuthFailPenalty, cfg.NoAuthPenalty, cfg.GracePenalty = off(f.authFailPenalty), off(f.noAuthPenalty), off(f.gracePenalty)
	}
}
