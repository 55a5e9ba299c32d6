#!/usr/bin/env bash
# scripts/realcloud-tier.sh — the real-cloud tier: quintupleo against a real
# OpenStack (Keystone, Nova with the fake virt driver, Neutron, Glance,
# Placement on 127.0.0.1, from ../shared/tools/realcloud).
#
#   1. realcloud setup.sh with Cinder and Ironic (idempotent; installs what is missing, starts
#      what is down), without REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the services' environment (an
#      ironic-conductor already running with one is restarted: it would ignore redfish_verify_ca),
#      and Debian's python3-ironicclient (`openstack baremetal`) if missing
#   2. nodes.sh 5 (the same node fixture as cloudsim's --nodes 5)
#   3. the conformance suite (./conformance) against the real cloud: it records
#      into a scratch directory, which must match the committed
#      conformance/testdata/realcloud/ (status codes, key sets, JSON types, state
#      sequences); RECORD=1 writes conformance/testdata/realcloud/ instead
#   4. the portable end-to-end tests (real virsh, go-libvirt, and the real Ironic driving the
#      Redfish front: TestIronicDrivesRedfish) against the real cloud
#   5. stop.sh — always, via trap (KEEP_CLOUD=1 leaves the cloud running)
#
# A cloud that does not come up fails the tier with the service and its log.
# Environment: REALCLOUD_DIR (default ../shared/tools/realcloud), RC_DIR
# (default /opt/realcloud), KEEP_CLOUD, RECORD.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
REALCLOUD_DIR=${REALCLOUD_DIR:-$ROOT/../shared/tools/realcloud}
RC_DIR=${RC_DIR:-/opt/realcloud}
export RC_DIR
START=$(date +%s)
say() { echo "== realcloud-tier +$(($(date +%s) - START))s: $*"; }
fail() { echo "realcloud-tier: FAILED: $*" >&2; exit 1; }

[ -x "$REALCLOUD_DIR/setup.sh" ] || fail "no realcloud tools at $REALCLOUD_DIR (set REALCLOUD_DIR)"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

stop_cloud() {
	local rc=$?
	if [ -n "${KEEP_CLOUD:-}" ]; then
		say "KEEP_CLOUD set: the cloud stays up ($REALCLOUD_DIR/stop.sh stops it)"
	else
		say "stopping the cloud"
		$sudo "$REALCLOUD_DIR/stop.sh" >/dev/null 2>&1 || echo "realcloud-tier: stop.sh failed (rc $?)" >&2
	fi
	say "done (exit $rc)"
	exit $rc
}
trap stop_cloud EXIT

# explain_cloud_failure names the services that are not running and shows the
# end of each one's logs.
explain_cloud_failure() {
	local setup_log=$1
	echo "realcloud-tier: the real cloud did not come up. setup.sh said:" >&2
	tail -15 "$setup_log" | sed 's/^/    /' >&2
	echo "realcloud-tier: service status ($REALCLOUD_DIR/status.sh):" >&2
	$sudo "$REALCLOUD_DIR/status.sh" 2>&1 | sed 's/^/    /' >&2 || true
	local dead
	dead=$($sudo "$REALCLOUD_DIR/status.sh" 2>/dev/null | awk '$3 == "DEAD" {print $1}') || true
	for svc in $dead; do
		for log in "$RC_DIR/logs/$svc.log" "$RC_DIR/logs/$svc.out" "$RC_DIR/logs/$svc.uwsgi.log"; do
			[ -s "$log" ] || continue
			echo "realcloud-tier: service $svc is DEAD; last lines of $log:" >&2
			tail -20 "$log" | sed 's/^/    /' >&2
		done
	done
	fail "real cloud not up (dead: ${dead:-none recorded}; setup log $setup_log; service logs in $RC_DIR/logs)"
}

# Cinder and Ironic are opt-in in the realcloud tools; the storage
# conformance tests (volumes, boot from volume) hold cloudsim's Cinder to
# it, the storage end-to-end tests (devtest's section C, pools, volumes) run
# on it, and TestIronicDrivesRedfish has the real Ironic drive the Redfish
# front.
export RC_SERVICES="${RC_SERVICES:-cinder ironic}"

# The cloud's services must not inherit a CA bundle from this shell. With
# REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in its environment, python-requests
# verifies every request of a Session against that bundle instead of the
# Session's own verify (psf/requests#3829): sushy sets only Session.verify,
# so Ironic's conductor then ignores redfish_verify_ca (even "False") and
# rejects quintupleo's certificate, "CERTIFICATE_VERIFY_FAILED: unable to get
# local issuer certificate" (serve sees the client's abort as "tls: bad
# record MAC"). sudo's env_reset drops them; run as root, this script used to
# pass them on. docs/realcloud.md, "The real Ironic drives the Redfish front".
#
# Nor a descriptor above 2: setup.sh starts the daemons detached, and they
# would keep every descriptor it had open, the realcloud lock among them
# when this script runs under `flock LOCK` (as root, without sudo, which
# closes them): the lock would be held until the cloud stops, for ever with
# KEEP_CLOUD.
CA_BUNDLE_VARS="REQUESTS_CA_BUNDLE CURL_CA_BUNDLE"
setup_cloud() {
	local unset=() v
	for v in $CA_BUNDLE_VARS; do unset+=(-u "$v"); done
	(
		close_fds
		exec $sudo env "${unset[@]}" RC_SERVICES="$RC_SERVICES" RC_DIR="$RC_DIR" "$REALCLOUD_DIR/setup.sh"
	)
}

# close_fds closes this shell's descriptors above 2.
close_fds() {
	local fd
	for fd in $(ls /proc/$BASHPID/fd); do
		[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
	done
	return 0
}

# conductor_ca_bundle prints the CA bundle variables in the running
# ironic-conductor's environment (nothing when none, or when it is not up).
conductor_ca_bundle() {
	local pid
	pid=$($sudo awk '$1 == "ironic-conductor" {p = $2} END {print p}' "$RC_DIR/run/pids" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	$sudo cat "/proc/$pid/environ" 2>/dev/null | tr '\0' '\n' | grep -E "^(${CA_BUNDLE_VARS// /|})=" || true
}

say "bringing up the real cloud ($REALCLOUD_DIR/setup.sh, RC_SERVICES=$RC_SERVICES)"
setup_log=$(mktemp /tmp/realcloud-setup.XXXXXX.log)
if ! setup_cloud >"$setup_log" 2>&1; then
	explain_cloud_failure "$setup_log"
fi
tail -1 "$setup_log"

# A conductor started earlier by someone else may still carry a bundle:
# restart it (only the Ironic group; setup.sh starts what is down).
if [[ " $RC_SERVICES " == *" ironic "* ]] && bundle=$(conductor_ca_bundle) && [ -n "$bundle" ]; then
	say "ironic-conductor runs with $(echo $bundle) (redfish_verify_ca would be ignored): restarting Ironic without it"
	$sudo "$REALCLOUD_DIR/stop.sh" ironic >/dev/null 2>&1 || fail "stop.sh ironic failed"
	if ! setup_cloud >"$setup_log" 2>&1; then
		explain_cloud_failure "$setup_log"
	fi
	[ -z "$(conductor_ca_bundle)" ] || fail "ironic-conductor still runs with a CA bundle in its environment"
fi

# The openstack CLI's baremetal commands (TestIronicDrivesRedfish).
if ! /usr/bin/python3 -c 'import ironicclient' >/dev/null 2>&1; then
	say "installing python3-ironicclient"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-ironicclient >/dev/null ||
		fail "apt-get install python3-ironicclient failed"
fi

export OS_CLIENT_CONFIG_FILE=$RC_DIR/clouds.yaml
export OS_CLOUD=realcloud
[ -r "$OS_CLIENT_CONFIG_FILE" ] || fail "setup.sh succeeded but $OS_CLIENT_CONFIG_FILE is missing"

say "node fixture (nodes.sh 5)"
"$REALCLOUD_DIR/nodes.sh" 5 || fail "nodes.sh 5 failed (Nova/Neutron logs in $RC_DIR/logs)"

export CI="${CI:-1}"
export QUINTUPLEO_CLOUD=realcloud

say "conformance suite against real Nova"
if [ -n "${RECORD:-}" ]; then
	go test -count=1 -p 1 -timeout 10m ./conformance/
	say "record written to conformance/testdata/realcloud/ (review and commit it)"
else
	# Recorded into a scratch directory and compared with the committed
	# record, so a drift of the real cloud fails here.
	scratch=$(mktemp -d /tmp/realcloud-record.XXXXXX)
	QUINTUPLEO_CONFORMANCE_OUT=$scratch go test -count=1 -p 1 -timeout 10m ./conformance/ ||
		fail "conformance suite failed against real Nova (fresh record in $scratch; RECORD=1 rewrites the committed one)"
	rm -rf "$scratch"
fi

say "node fixture again (nodes.sh 5), then the portable end-to-end tests"
"$REALCLOUD_DIR/nodes.sh" 5 || fail "nodes.sh 5 failed (Nova/Neutron logs in $RC_DIR/logs)"
e2e_log=$(mktemp /tmp/realcloud-e2e.XXXXXX.log)
if ! QUINTUPLEO_NODES_CMD="$REALCLOUD_DIR/nodes.sh" \
	go test -count=1 -p 1 -timeout 15m -v ./cmd/quintupleo/ \
	-run '^(TestAnsibleVirtNet|TestAnsibleVirtPauseAndFreemem|TestAnsibleVirtPool|TestBootDeviceMetadataStrategy|TestBootDeviceRebuildStrategy|TestBootDeviceRescueStrategy|TestDefineRefusesWhatTheCloudCannotChange|TestDevtestSectionC|TestGoLibvirtClient|TestIronicDrivesRedfish|TestLibvirtPythonGuestAndHostAPIs|TestLibvirtPythonNetworks|TestLibvirtPythonStorageLookups|TestMetadataChangeEventsFromAnyReplica|TestNetworkDefineWithSubnet|TestServeSSHEndpoint|TestUnixSocketsReadWriteAndReadOnly|TestVcpuinfoFromNovaDiagnostics|TestVirshDefineAndUndefineNewDomain|TestVirshDominfoAndXML|TestVirshErrors|TestVirshEventsFromUsAndFromTheCloud|TestVirshHostCommands|TestVirshListShowsTheCloudsNodes|TestVirshPowerCycle|TestVirshReadOnlyRefusesChanges|TestVirtInstallImportUsesDomainCapabilities)$' \
	>"$e2e_log" 2>&1; then
	grep -E '^(\s*--- |FAIL|ok|panic)|_test.go:' "$e2e_log" >&2 || tail -50 "$e2e_log" >&2
	fail "portable end-to-end tests failed against real Nova (full log $e2e_log)"
fi
grep -E '^(\s*--- |ok)' "$e2e_log"
rm -f "$e2e_log"

say "the SSH endpoint's end-to-end tests (OpenSSH, real virsh, qemu+ssh) against real Nova"
# These build their stack with internal/stacktest, which resets the fixture
# to the node count each test wants.
ssh_log=$(mktemp /tmp/realcloud-ssh.XXXXXX.log)
if ! QUINTUPLEO_NODES_CMD="$REALCLOUD_DIR/nodes.sh" \
	go test -count=1 -p 1 -timeout 15m -v ./ssh/ ./ssh/virsh/ \
	-run '^(TestIronicSequence|TestDevtestOverSSH|TestVirshOverSSHMatchesRPC|TestQemuSSHWithRealVirsh|TestEditMatchesRealVirsh|TestVirshConnectForms|TestDifferential|TestDifferentialChanges)$' \
	>"$ssh_log" 2>&1; then
	grep -E '^(\s*--- |FAIL|ok|panic)|_test.go:' "$ssh_log" >&2 || tail -50 "$ssh_log" >&2
	fail "SSH end-to-end tests failed against real Nova (full log $ssh_log)"
fi
grep -E '^(\s*--- |ok)' "$ssh_log"
rm -f "$ssh_log"
