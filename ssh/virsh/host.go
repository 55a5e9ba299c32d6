// Host and connection: version, hostname, nodeinfo, uri.

package virsh

import (
	"fmt"
)

func versionString(v uint64) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

func cmdVersion(v *vsh, c *cmdArgs) error {
	v.printf("Compiled against library: libvirt %s\n", Version)
	v.printf("Using library: libvirt %s\n", Version)
	typ, err := v.l.ConnectGetType()
	if err != nil {
		v.errorf("failed to get hypervisor type")
		return errFailed
	}
	v.printf("Using API: %s %s\n", typ, Version)
	hv, err := v.l.ConnectGetVersion()
	if err != nil {
		v.errorf("failed to get the hypervisor version")
		return errFailed
	}
	if hv == 0 {
		v.printf("Cannot extract running %s hypervisor version\n", typ)
	} else {
		v.printf("Running hypervisor: %s %s\n", typ, versionString(hv))
	}
	if c.has("daemon") {
		lv, err := v.l.ConnectGetLibVersion()
		if err != nil {
			v.errorf("failed to get the daemon version")
		} else {
			v.printf("Running against daemon: %s\n", versionString(lv))
		}
	}
	return nil
}

func cmdHostname(v *vsh, c *cmdArgs) error {
	h, err := v.l.ConnectGetHostname()
	if err != nil {
		v.errorf("failed to get hostname")
		return errFailed
	}
	v.printf("%s\n", h)
	return nil
}

func cmdURI(v *vsh, c *cmdArgs) error {
	u := v.uri
	if u == "" {
		u = defaultURI
	}
	v.printf("%s\n", u)
	return nil
}

func cmdNodeinfo(v *vsh, c *cmdArgs) error {
	model, mem, cpus, mhz, nodes, sockets, cores, threads, err := v.l.NodeGetInfo()
	if err != nil {
		v.errorf("failed to get node information")
		return errFailed
	}
	v.printf("%-20s %s\n", "CPU model:", charsToString(model[:]))
	v.printf("%-20s %d\n", "CPU(s):", cpus)
	v.printf("%-20s %d MHz\n", "CPU frequency:", mhz)
	v.printf("%-20s %d\n", "CPU socket(s):", sockets)
	v.printf("%-20s %d\n", "Core(s) per socket:", cores)
	v.printf("%-20s %d\n", "Thread(s) per core:", threads)
	v.printf("%-20s %d\n", "NUMA cell(s):", nodes)
	v.printf("%-20s %d KiB\n", "Memory size:", mem)
	return nil
}
