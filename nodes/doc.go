// Package nodes is the node model every front end shares (libvirt through
// driver/domain, Redfish through redfish): the OpenStack side of quintupleo.
//
// It has five parts, each with its own type:
//
//   - Cloud (client.go): gophercloud service clients built from clouds.yaml
//     or the OS_* variables, each request under a deadline (deadline.go).
//     Only Nova is required; Neutron and Glance are used when the catalog
//     has them.
//   - Inventory (inventory.go): a cache and nothing else. One paginated list
//     call per refresh (changes-since between full resyncs) serves every
//     reader; Subscribe fans its changes out (internal/pubsub). It never
//     changes a node.
//   - Executor (executor.go, power.go): everything that changes a node. One
//     table of Nova server actions (Action), each sent, its 409s ridden out,
//     and waited for until Nova reports its target state; what it reads on
//     the way goes into the inventory at once (read-your-writes). Power
//     operations pick the action from the server's status and hand a
//     stopped server's power-on to the boot strategy. A one-time boot
//     device (bootonce.go, a server metadata mark) is spent by the next
//     power-on or reboot; WithAccepted (accepted.go) tells a front end
//     that answers on acceptance (Redfish's Reset) when Nova took the action.
//   - Provisioner (create.go): creating a server with its ports (virsh
//     define of a new domain) and deleting it with them (undefine), every
//     step undone when a later one fails; built from the Executor
//     (Executor.Provisioner), since it changes nodes too.
//   - Boot strategies (bootdev.go): how a boot device is kept and honoured
//     (metadata, rescue, rebuild), one table by name. A strategy gets the
//     node and an Actor, the narrow interface of what it may do: an action,
//     a metadata write, an image lookup (image.go).
//
// PowerStateOf (powerstate.go) is the one decision of a node's power (on,
// off, powering on or off) from Nova's status, vm_state, task_state and
// power_state, so that every front end reports the same; driver/domain's
// state table refines it into libvirt states, and a test holds it to it.
// Errors are classified once (errors.go) into the sentinels callers test;
// the classes and the error shape every service package shares, and the
// poller, are the leaf nodes/cloudcall's.
//
// It knows nothing about libvirt: no go-libvirt, no domain XML, no libvirt
// error codes. Callers above it (driver/domain) give those meanings.
//
// Room for what comes next. Each OpenStack service beyond Nova gets a
// package of its own below this one, gophercloud style: nodes/neutron
// (networks and ports: what create.go does with Neutron today, and libvirt
// networks next), nodes/cinder (volumes, for storage pools), nodes/glance
// (the image lookups of capability.go and create.go). Such a package holds that
// service's calls and decoding and returns plain values; it imports nothing
// of nodes (nodes composes it, so the arrow points one way) but the leaf
// nodes/cloudcall, which holds the error classes, the Error shape and the
// classification of transport failures both share, and the one poller the
// Provisioner, the Executor and nodes/cinder wait with.
package nodes
