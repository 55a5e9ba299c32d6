package domxml

import (
	"encoding/xml"
	"slices"
	"strconv"
	"strings"
)

// The parts of a domain definition DomainSpec does not model — <features>,
// <cpu>, <clock>, machine type, devices other than disks and NICs, … — in a
// canonical form (xnode.canon), keyed so that Definition.Changes can compare
// an edited definition with the rendered one part by part and name each part
// that changed. What libvirt fills in when it is absent (<clock
// offset='utc'/>, <on_reboot>restart</on_reboot>, the emulator, the machine
// type) is given as that default, so leaving it out is no change.

// section is one unmodelled part: key identifies it, name is how an error
// names it, canon is its canonical form ("" = absent).
type section struct {
	key, name, canon string
}

// modelledTop are the <domain> children DomainSpec models (or, for
// currentMemory, vcpu and os, handles below).
var modelledTop = []string{"name", "uuid", "title", "description", "metadata", "memory", "currentMemory", "vcpu", "os", "devices"}

// topDefaults are libvirt's values for elements left out.
var topDefaults = map[string]string{
	"on_poweroff": "<{}on_poweroff>destroy</>",
	"on_reboot":   "<{}on_reboot>restart</>",
	"on_crash":    "<{}on_crash>destroy</>",
	"clock":       "<{}clock {}offset=utc></>",
}

// runtimeOnly are device children libvirt shows only for a running domain.
var runtimeOnly = []string{"alias"}

// sectionsOf lists root's unmodelled parts in document order.
func sectionsOf(root *xnode, memoryKiB uint64) []section {
	var out []section
	add := func(key, name, canon string) { out = append(out, section{key, name, canon}) }

	typ, _ := root.attrValue("", "type")
	add("@type", "domain type", typ)
	for _, a := range root.attrs {
		if !isNSDecl(a) && a.Name.Space == "" && a.Name.Local != "type" && a.Name.Local != "id" {
			add("@"+a.Name.Local, "domain attribute '"+a.Name.Local+"'", a.Value)
		}
	}

	// <currentMemory> is compared relative to <memory> (which DomainSpec
	// models): absent or equal, it follows <memory>, as in libvirt.
	cur := "memory"
	if cm := root.elems("currentMemory"); len(cm) > 0 {
		if v := memoryText(cm[0]); v != strconv.FormatUint(memoryKiB, 10) {
			cur = v
		}
	}
	add("currentMemory", "<currentMemory>", cur)
	vcpu := "placement=static"
	if v := root.elems("vcpu"); len(v) > 0 {
		vcpu = attrsCanon(v[0], "placement", "static")
	}
	add("vcpu", "<vcpu>", vcpu)

	if os := root.elems("os"); len(os) > 0 {
		out = append(out, osSections(os[0])...)
	}

	groups := map[string][]string{}
	var order []string
	for _, c := range root.children {
		if c.kind != xElem || (c.prefix == "" && slices.Contains(modelledTop, c.local)) {
			continue
		}
		key := "{" + c.uri() + "}" + c.local
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], canonOf(c, false))
		if _, ok := topDefaults[c.local]; ok && c.prefix == "" {
			groups[key] = groups[key][:1] // libvirt reads the first
		}
	}
	for local, def := range topDefaults {
		if key := "{}" + local; groups[key] == nil {
			order = append(order, key)
			groups[key] = []string{def}
		}
	}
	slices.Sort(order)
	for _, key := range order {
		name := "<" + strings.TrimPrefix(key, "{}") + ">"
		if !strings.HasPrefix(key, "{}") {
			name = "<" + key[strings.IndexByte(key, '}')+1:] + "> (namespace " + key[1:strings.IndexByte(key, '}')] + ")"
		}
		add(key, name, strings.Join(groups[key], ""))
	}

	if devs := root.elems("devices"); len(devs) > 0 {
		out = append(out, deviceSections(devs[0])...)
	}
	return out
}

// memoryText is <currentMemory> in KiB, or its text if unreadable.
func memoryText(e *xnode) string {
	m := &element{name: e.local}
	for _, c := range e.children {
		if c.kind == xText {
			m.text.WriteString(c.text)
		}
	}
	for _, a := range e.attrs {
		if a.Name.Space == "" {
			m.attrs = append(m.attrs, a)
		}
	}
	kib, err := parseMemory(m)
	if err != nil {
		return strings.TrimSpace(m.text.String())
	}
	return strconv.FormatUint(kib, 10)
}

// attrsCanon is e's attributes, sorted, with a default for one of them.
func attrsCanon(e *xnode, name, def string) string {
	seen := false
	var out []string
	for _, a := range e.attrs {
		if isNSDecl(a) {
			continue
		}
		if a.Name.Space == "" && a.Name.Local == name {
			seen = true
		}
		out = append(out, attrQName(a)+"="+a.Value)
	}
	if !seen {
		out = append(out, name+"="+def)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// osSections are <os>'s unmodelled parts: its <type> (arch and machine,
// which libvirt fills in from the host when absent; "pc" is the alias of
// the machine we render) and every child other than <type> and <boot>.
func osSections(os *xnode) []section {
	arch, machine, kind := xmlArch, xmlMachine, ""
	if t := os.elems("type"); len(t) > 0 {
		if v, ok := t[0].attrValue("", "arch"); ok {
			arch = v
		}
		if v, ok := t[0].attrValue("", "machine"); ok && v != "pc" {
			machine = v
		}
		for _, c := range t[0].children {
			if c.kind == xText {
				kind += c.text
			}
		}
	}
	out := []section{
		{"os/type/machine", "machine type", machine},
		{"os/type", "<os><type>", arch + " " + strings.TrimSpace(kind)},
	}
	var attrs []string
	for _, a := range os.attrs {
		if !isNSDecl(a) && attrQName(a) != "firmware" {
			attrs = append(attrs, attrQName(a)+"="+a.Value)
		}
	}
	slices.Sort(attrs)
	out = append(out, section{"os@", "<os> attributes", strings.Join(attrs, " ")})
	groups := map[string]string{}
	for _, c := range os.children {
		if c.kind == xElem && !(c.prefix == "" && (c.local == "type" || c.local == "boot")) {
			groups[c.qname()] += canonOf(c, false)
		}
	}
	for _, name := range sortedKeys(groups) {
		out = append(out, section{"os/" + name, "<" + name + ">", groups[name]})
	}
	return out
}

// deviceSections are the devices other than disks and NICs, by kind in
// order (libvirt keeps the order within a kind), and what of each disk and
// NIC DomainSpec does not model.
func deviceSections(devs *xnode) []section {
	groups := map[string][]string{}
	for _, c := range devs.children {
		if c.kind != xElem {
			continue
		}
		d := stripChildren(c, runtimeOnly...)
		switch {
		case c.prefix == "" && c.local == "disk":
			d = stripChildren(d, "source", "target", "boot", "alias", "address")
			d.attrs = slices.DeleteFunc(slices.Clone(d.attrs), func(a xml.Attr) bool { return attrQName(a) == "device" })
		case c.prefix == "" && c.local == "interface":
			d = stripChildren(d, "mac", "source", "target", "model", "boot", "alias", "address")
		}
		groups[c.qname()] = append(groups[c.qname()], canonOf(d, false))
	}
	if groups["emulator"] == nil {
		groups["emulator"] = []string{"<{}emulator>" + xmlEmulator + "</>"}
	}
	var out []section
	for _, name := range sortedKeys(groups) {
		out = append(out, section{"devices/" + name, "<" + name + ">", strings.Join(groups[name], "")})
	}
	return out
}

// stripChildren is a shallow copy of e without its element children named
// (in no namespace) as given.
func stripChildren(e *xnode, names ...string) *xnode {
	cp := *e
	cp.children = slices.DeleteFunc(slices.Clone(e.children), func(c *xnode) bool {
		return c.kind == xElem && c.prefix == "" && slices.Contains(names, c.local)
	})
	return &cp
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
