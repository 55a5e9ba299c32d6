package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"quintupleo/cloudsim"
	"quintupleo/internal/stacktest"
	"quintupleo/internal/testtool"
)

// TestServeLogsFailedCalls runs `quintupleo serve` as an operator does and
// checks its log shows failed calls: a refusal the client caused (virsh
// secret-list: no secret driver) at debug, and a cloud fault (Nova 500 on
// os-start) at warn — above the default level — each with the procedure,
// libvirt's error code, the domain, the client's address and the duration.
func TestServeLogsFailedCalls(t *testing.T) {
	testtool.Require(t, "virsh")
	sim := stacktest.StartSim(t, cloudsim.Options{Nodes: 2, TransitionDelay: -1})
	yaml := stacktest.CloudsYAML(t, sim)
	var stdout, logs testtool.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--os-cloud", "sim", "--clouds-yaml", yaml, "--listen-tcp", "127.0.0.1:0",
			"--refresh-interval", "100ms", "--poll-interval", "5ms", "--log-level", "debug"}, &stdout, &logs)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	served := regexp.MustCompile(`serving (qemu\+tcp://\S+)`)
	var uri string
	for deadline := time.Now().Add(20 * time.Second); uri == ""; time.Sleep(10 * time.Millisecond) {
		if m := served.FindStringSubmatch(stdout.String()); m != nil {
			uri = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start; log:\n%s", logs.String())
		}
	}
	e := &env{uri: uri}

	if _, _, code := e.virsh(t, "secret-list"); code != 1 {
		t.Errorf("virsh secret-list: exit %d, want 1", code)
	}
	if _, err := sim.SetFault(cloudsim.Fault{Endpoint: "os-start", ErrorRate: 1, Status: 500, Count: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, code := e.virsh(t, "start", "node-0"); code != 1 {
		t.Errorf("virsh start with Nova 500: exit %d, want 1", code)
	}

	failed := func(proc string) string {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `msg="rpc: call failed"`) && strings.Contains(line, "proc="+proc+" ") {
				return line
			}
		}
		t.Errorf("no failed-call log line for %s in:\n%s", proc, logs.String())
		return ""
	}
	for _, c := range []struct {
		proc string
		want []string
	}{
		{"CONNECT_NUM_OF_SECRETS", []string{"level=DEBUG", "code=ErrNoSupport", "remote=127.0.0.1:", "duration="}},
		{"DOMAIN_CREATE", []string{"level=WARN", "code=ErrOperationFailed", "domain=node-0", "uuid=", "remote=127.0.0.1:", "duration="}},
	} {
		line := failed(c.proc)
		for _, w := range c.want {
			if line != "" && !strings.Contains(line, w) {
				t.Errorf("%s failure logged without %q: %s", c.proc, w, line)
			}
		}
	}
}
