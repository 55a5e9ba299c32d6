// Domain XML: dumpxml, define, undefine, edit.

package virsh

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"strings"

	"github.com/digitalocean/go-libvirt"
)

func cmdDumpxml(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	var flags libvirt.DomainXMLFlags
	if c.has("inactive") {
		flags |= libvirt.DomainXMLInactive
	}
	if c.has("security-info") {
		flags |= libvirt.DomainXMLSecure
	}
	if c.has("update-cpu") {
		flags |= libvirt.DomainXMLUpdateCPU
	}
	if c.has("migratable") {
		flags |= libvirt.DomainXMLMigratable
	}
	x, err := v.l.DomainGetXMLDesc(d, flags)
	if err != nil {
		return err
	}
	v.printf("%s", x)
	return nil
}

func cmdUndefine(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	var flags libvirt.DomainUndefineFlagsValues
	for _, f := range []struct {
		opt  string
		flag libvirt.DomainUndefineFlagsValues
	}{
		{"managed-save", libvirt.DomainUndefineManagedSave}, {"snapshots-metadata", libvirt.DomainUndefineSnapshotsMetadata},
		{"checkpoints-metadata", libvirt.DomainUndefineCheckpointsMetadata}, {"nvram", libvirt.DomainUndefineNvram},
		{"keep-nvram", libvirt.DomainUndefineKeepNvram}, {"tpm", libvirt.DomainUndefineTpm}, {"keep-tpm", libvirt.DomainUndefineKeepTpm},
	} {
		if c.has(f.opt) {
			flags |= f.flag
		}
	}
	vols, err := v.undefineVolumes(c, d) // storage.go
	if err != nil {
		return err
	}
	if err := v.l.DomainUndefineFlags(d, flags); err != nil {
		return v.failed(err, "Failed to undefine domain '%s'", d.Name)
	}
	v.extra("Domain '%s' has been undefined\n", d.Name)
	return v.removeVolumes(vols)
}

// readScratch reads a file named on the command line: only files in the
// session's scratch dir (and /dev/stdin) are readable.
func (v *vsh) readScratch(name string) ([]byte, error) {
	if name == "/dev/stdin" || name == "-" {
		if v.env.Stdin == nil {
			return nil, nil
		}
		return io.ReadAll(io.LimitReader(v.env.Stdin, 16<<20))
	}
	if v.env.Scratch == nil || path.IsAbs(name) || strings.HasPrefix(path.Clean(name), "..") {
		return nil, os.ErrPermission
	}
	return v.env.Scratch.ReadFile(path.Clean(name))
}

// readFileArg reads the XML file a define names, printing virsh's line
// when it cannot.
func (v *vsh) readFileArg(file string) ([]byte, error) {
	data, err := v.readScratch(file)
	if err != nil {
		msg := "No such file or directory"
		if errors.Is(err, os.ErrPermission) {
			msg = "Permission denied"
		}
		v.errorf("Failed to open file '%s': %s", file, msg)
		return nil, errFailed
	}
	return data, nil
}

func cmdDefine(v *vsh, c *cmdArgs) error {
	file, _ := c.str("file")
	data, err := v.readFileArg(file)
	if err != nil {
		return err
	}
	var flags libvirt.DomainDefineFlags
	if c.has("validate") {
		flags |= libvirt.DomainDefineValidate
	}
	d, err := v.l.DomainDefineXMLFlags(string(data), flags)
	if err != nil {
		return v.failed(err, "Failed to define domain from %s", file)
	}
	v.extra("Domain '%s' defined from %s\n", d.Name, file)
	return nil
}

// cmdEdit follows virsh-edit.c: get the inactive secure XML, write it to a
// temp file, run the editor, compare, re-read, define.
func cmdEdit(v *vsh, c *cmdArgs) error {
	d, err := v.lookup(c, byAll)
	if err != nil {
		return err
	}
	const getFlags = libvirt.DomainXMLSecure | libvirt.DomainXMLInactive
	doc, err := v.l.DomainGetXMLDesc(d, getFlags)
	if err != nil {
		return err
	}
	if v.env.Scratch == nil || v.env.RunEditor == nil {
		v.errorf("cannot create temporary file")
		return errFailed
	}
	tmp, err := tempName(v.env.Scratch)
	if err != nil {
		v.errorf("failed to create temporary file: %v", err)
		return errFailed
	}
	defer v.env.Scratch.Remove(tmp)
	if err := v.env.Scratch.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		v.errorf("%s: write: %v", tmp, err)
		return errFailed
	}
	editor := v.env.Getenv("VISUAL")
	if editor == "" {
		editor = v.env.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	if status := v.env.RunEditor(v.ctx, editor, tmp); status != 0 {
		v.errorf("%s %s: exited with status %d", editor, tmp, status)
		return errFailed
	}
	edited, err := v.env.Scratch.ReadFile(tmp)
	if err != nil {
		v.errorf("%s: failed to read temporary file", tmp)
		return errFailed
	}
	if bytes.Equal(edited, []byte(doc)) {
		v.extra("Domain '%s' XML configuration not changed.\n", d.Name)
		return nil
	}
	reread, err := v.l.DomainGetXMLDesc(d, getFlags)
	if err != nil {
		return err
	}
	if reread != doc {
		v.errorf("%s", "ERROR: the XML configuration was changed by another user")
		return errFailed
	}
	var flags libvirt.DomainDefineFlags
	if !c.has("skip-validate") {
		flags |= libvirt.DomainDefineValidate
	}
	nd, err := v.l.DomainDefineXMLFlags(string(edited), flags)
	if err != nil {
		// virsh 9.0 without a terminal: vshAskReedit answers for the user,
		// reports "Failed." and goes on as if the define had worked.
		v.errorf("Failed.")
		v.extra("Domain '(null)' XML configuration edited.\n")
		return nil
	}
	v.extra("Domain '%s' XML configuration edited.\n", nd.Name)
	return nil
}

// tempName picks a fresh virshXXXXXX.xml name in the scratch dir.
func tempName(root *os.Root) (string, error) {
	for i := 0; i < 100; i++ {
		var b [6]byte
		if _, err := io.ReadFull(randReader, b[:]); err != nil {
			return "", err
		}
		const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		name := []byte("virsh")
		for _, c := range b {
			name = append(name, chars[int(c)%len(chars)])
		}
		n := string(name) + ".xml"
		f, err := root.OpenFile(n, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return n, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("no unique temporary file name")
}
