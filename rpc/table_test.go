package rpc

import (
	"testing"
)

func TestProcedureTableNames(t *testing.T) {
	for num, p := range procedures {
		if procNames[num] != p.name {
			t.Errorf("procedure %d: row name %q, generated name %q", num, p.name, procNames[num])
		}
		if p.call == nil {
			t.Errorf("procedure %d (%s): no handler", num, p.name)
		}
		if p.preOpen && !p.readOnly {
			t.Errorf("procedure %d (%s): allowed before open but not read-only", num, p.name)
		}
	}
}

func TestAPIName(t *testing.T) {
	for in, want := range map[string]string{
		"DOMAIN_CREATE":            "virDomainCreate",
		"DOMAIN_DEFINE_XML_FLAGS":  "virDomainDefineXMLFlags",
		"DOMAIN_SET_AUTOSTART":     "virDomainSetAutostart",
		"DOMAIN_CREATE_WITH_FLAGS": "virDomainCreateWithFlags",
		"DOMAIN_UNDEFINE_FLAGS":    "virDomainUndefineFlags",
	} {
		if got := apiName(in); got != want {
			t.Errorf("apiName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestDecodeConnectOpen(t *testing.T) {
	tests := []struct {
		name     string
		body     []byte
		wantName string
		wantFlag uint32
		wantErr  bool
	}{
		{"absent name", []byte{0, 0, 0, 0, 0, 0, 0, 1}, "", 1, false},
		// go-libvirt's client writes the "present" word as 01 00 00 00.
		{"go-libvirt present word", []byte{1, 0, 0, 0, 0, 0, 0, 2, 'q', 'x', 0, 0, 0, 0, 0, 0}, "qx", 0, false},
		{"name longer than body", []byte{0, 0, 0, 1, 0, 0, 0, 9, 'a'}, "", 0, true},
		{"missing flags", []byte{0, 0, 0, 1, 0, 0, 0, 1, 'a', 0, 0, 0}, "", 0, true},
		{"empty", nil, "", 0, true},
	}
	for _, tt := range tests {
		name, flags, err := decodeConnectOpen(tt.body)
		if (err != nil) != tt.wantErr || name != tt.wantName || flags != tt.wantFlag {
			t.Errorf("%s: got %q %d %v", tt.name, name, flags, err)
		}
	}
}

func TestAcceptURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "qemu:///system",
		"qemu:///system":          "qemu:///system",
		"qemu:///session":         "qemu:///session",
		"qemu:///session?foo=bar": "qemu:///session?foo=bar",
	} {
		if got, err := acceptURI(in); err != nil || got != want {
			t.Errorf("acceptURI(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"xen:///system", "test:///default", "qemu:///foo", "::bad"} {
		if _, err := acceptURI(in); err == nil {
			t.Errorf("acceptURI(%q) accepted", in)
		}
	}
}
