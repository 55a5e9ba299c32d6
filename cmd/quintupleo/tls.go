package main

import (
	"github.com/spf13/pflag"

	"quintupleo/internal/stack"
	"quintupleo/rpc"
)

// tlsFlags are serve's flags of the libvirt TLS listener (docs/security.md).
type tlsFlags struct {
	listen                string
	cert, key, ca, crl    string
	allowedDN, readOnlyDN []string
}

func (f *tlsFlags) flags(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen-tls", "", "libvirt TLS listener (qemu+tls://; libvirt's port is 16514), client certificates required; empty to disable")
	fs.StringVar(&f.cert, "tls-cert", rpc.DefaultTLSCert, "TLS server certificate (PEM), re-read on SIGHUP")
	fs.StringVar(&f.key, "tls-key", rpc.DefaultTLSKey, "TLS server private key (PEM), re-read on SIGHUP")
	fs.StringVar(&f.ca, "tls-ca", rpc.DefaultTLSCA, "CA certificates (PEM) client certificates must chain to, re-read on SIGHUP")
	fs.StringVar(&f.crl, "tls-crl", rpc.DefaultTLSCRL, "certificate revocation lists (PEM) of the CA: client certificates they revoke are refused; re-read on SIGHUP; libvirt's default path may be missing, a path given must exist; empty for none")
	// Repeated, not comma-separated: DNs are full of commas.
	fs.StringArrayVar(&f.allowedDN, "tls-allowed-dn", nil, "admit only client certificate DNs matching this glob (libvirtd's tls_allowed_dn_list; * and ?); repeat for more")
	fs.StringArrayVar(&f.readOnlyDN, "tls-read-only-dn", nil, "client certificate DNs matching this glob are admitted read-only; repeat for more")
}

// add builds the TLS listener if one was asked for.
func (f *tlsFlags) add(st *stack.Stack, lv *stack.Libvirt) (*stack.Listener, error) {
	if f.listen == "" {
		return nil, nil
	}
	return stack.AddTLS(st, lv, stack.TLSConfig{Addr: f.listen,
		Files: rpc.TLSFiles{Cert: f.cert, Key: f.key, CA: f.ca, CRL: f.crl,
			CRLOptional: f.crl == rpc.DefaultTLSCRL},
		Access: rpc.TLSAccess{AllowedDN: f.allowedDN, ReadOnlyDN: f.readOnlyDN}})
}
