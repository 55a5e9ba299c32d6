#!/usr/bin/env bash
# scripts/test.sh — the whole test suite, as the README and CI run it.
#
# Installs the real clients the end-to-end tests drive (Debian's virsh from
# libvirt-clients, OpenSSH's ssh, the openstack CLI from python3-openstackclient,
# sushy from python3-sushy) when they are missing, then checks format and vet, then runs every test with
# the race detector. With CI set, end-to-end tests never skip for a missing
# tool: they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v virsh >/dev/null 2>&1 || need_pkgs+=(libvirt-clients)
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
command -v ssh-keygen >/dev/null 2>&1 || need_pkgs+=(openssh-client)
# The openstack CLI (openstacksdk over keystoneauth, on Debian's python3)
# drives cloudsim in cmd/quintupleo/openstackcli_test.go.
command -v openstack >/dev/null 2>&1 || need_pkgs+=(python3-openstackclient)
# libvirt-python on Debian's python3 (devtest's configure-vm defineXML) in
# cmd/quintupleo/provision_clients_test.go.
/usr/bin/python3 -c 'import libvirt' >/dev/null 2>&1 || need_pkgs+=(python3-libvirt)
# Debian's virt-install (createXML then defineXML) in
# cmd/quintupleo/provision_clients_test.go; about 30 s to install.
command -v virt-install >/dev/null 2>&1 || need_pkgs+=(virtinst)
# Debian's ansible (its community.libvirt.virt module, over python3-libvirt and
# python3-lxml) in the same file; about 60 s and 270 MB to install.
command -v ansible-playbook >/dev/null 2>&1 || need_pkgs+=(ansible)
/usr/bin/python3 -c 'import lxml' >/dev/null 2>&1 || need_pkgs+=(python3-lxml)
# sushy (the Redfish library of Ironic's redfish driver) on Debian's python3
# drives the Redfish front end in redfish/sushy_test.go.
/usr/bin/python3 -c 'import sushy' >/dev/null 2>&1 || need_pkgs+=(python3-sushy)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "== installing ${need_pkgs[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
export CI="${CI:-1}"
# The soak (cmd/quintupleo/soak_test.go, about two minutes of two cores) runs
# only when asked, with QUINTUPLEO_SOAK=1, as a step of its own after the
# suite: without the race detector, which would measure itself rather than
# serve (docs/reliability.md, "Soak").
soak="${QUINTUPLEO_SOAK:-}"
QUINTUPLEO_SOAK= go test -race -count=1 -timeout 20m "$@" ./...
if [ -n "$soak" ]; then
	echo "== soak"
	QUINTUPLEO_SOAK=1 go test -count=1 -timeout 15m -run '^TestSoak$' -v ./cmd/quintupleo/
fi
