package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"quintupleo/internal/limit"
)

// libvirt's default TLS files (virnettlscontext.c, with SYSCONFDIR /etc),
// used when no file is given, as libvirtd does.
const (
	DefaultTLSCert = "/etc/pki/libvirt/servercert.pem"
	DefaultTLSKey  = "/etc/pki/libvirt/private/serverkey.pem"
	DefaultTLSCA   = "/etc/pki/CA/cacert.pem"
	// DefaultTLSCRL is libvirt's certificate revocation list, used when it
	// exists (libvirtd starts without one).
	DefaultTLSCRL = "/etc/pki/CA/cacrl.pem"
)

// TLSFiles names the PEM files of a TLS listener: the server's certificate
// and key, the CA certificates client certificates must chain to, and the
// CA's revocation lists (CRL; "" for none).
type TLSFiles struct {
	Cert, Key, CA, CRL string
	// CRLOptional lets the CRL file be missing, as libvirtd's default
	// cacrl.pem may be; a CRL named on purpose must exist.
	CRLOptional bool
}

// TLSCredentials are a TLS listener's certificates, loaded from TLSFiles and
// re-read by Reload: new handshakes use what was loaded last, established
// connections keep theirs.
type TLSCredentials struct {
	files TLSFiles
	cur   atomic.Pointer[tlsCreds]
}

type tlsCreds struct {
	cert tls.Certificate
	cas  *x509.CertPool
	// revoked holds, by the DER of their issuer's name, the serial numbers
	// the CRLs revoke (text of the big integer).
	revoked map[string]map[string]bool
}

// LoadTLSCredentials reads files, refusing what libvirtd would refuse to
// start with: unreadable files, a key that does not match the certificate,
// no CA certificate, or a server certificate that does not verify against
// the CA (expired ones included).
func LoadTLSCredentials(files TLSFiles) (*TLSCredentials, error) {
	c := &TLSCredentials{files: files}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Files are the files the credentials are read from.
func (c *TLSCredentials) Files() TLSFiles { return c.files }

// Reload re-reads the files. On failure the credentials in use stay.
func (c *TLSCredentials) Reload() error {
	n, err := loadTLSCreds(c.files)
	if err != nil {
		return err
	}
	c.cur.Store(n)
	return nil
}

func loadTLSCreds(f TLSFiles) (*tlsCreds, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("rpc: TLS server certificate %s and key %s: %w", f.Cert, f.Key, err)
	}
	caPEM, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("rpc: TLS CA certificate: %w", err)
	}
	cas := x509.NewCertPool()
	if !cas.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("rpc: TLS CA certificate %s: no PEM certificate in it", f.CA)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("rpc: TLS server certificate %s: %w", f.Cert, err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: cas, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("rpc: unable to verify server certificate %s against CA certificate %s: %w", f.Cert, f.CA, err)
	}
	cert.Leaf = leaf
	revoked, err := loadCRL(f, caPEM)
	if err != nil {
		return nil, err
	}
	return &tlsCreds{cert: cert, cas: cas, revoked: revoked}, nil
}

// loadCRL reads the revocation lists of f.CRL, each signed by one of the
// CA certificates in caPEM (a list another CA signed, or a damaged one, is
// refused rather than ignored: it would revoke nothing). A list past its
// next update is still used — its revocations stand — as GnuTLS does.
func loadCRL(f TLSFiles, caPEM []byte) (map[string]map[string]bool, error) {
	if f.CRL == "" {
		return nil, nil
	}
	data, err := os.ReadFile(f.CRL)
	if errors.Is(err, fs.ErrNotExist) && f.CRLOptional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("rpc: TLS certificate revocation list: %w", err)
	}
	var issuers []*x509.Certificate
	for rest := caPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			issuers = append(issuers, c)
		}
	}
	revoked := map[string]map[string]bool{}
	n := 0
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("rpc: TLS certificate revocation list %s: %w", f.CRL, err)
		}
		signed := false
		for _, ca := range issuers {
			if bytes.Equal(ca.RawSubject, crl.RawIssuer) && crl.CheckSignatureFrom(ca) == nil {
				signed = true
				break
			}
		}
		if !signed {
			return nil, fmt.Errorf("rpc: TLS certificate revocation list %s: not signed by a CA certificate of %s", f.CRL, f.CA)
		}
		set := revoked[string(crl.RawIssuer)]
		if set == nil {
			set = map[string]bool{}
			revoked[string(crl.RawIssuer)] = set
		}
		for _, e := range crl.RevokedCertificateEntries {
			set[e.SerialNumber.String()] = true
		}
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("rpc: TLS certificate revocation list %s: no PEM X509 CRL in it", f.CRL)
	}
	return revoked, nil
}

// revokedIn says which certificate of a verified chain its issuer's CRL
// revokes, if any.
func (c *tlsCreds) revokedIn(chains [][]*x509.Certificate) *x509.Certificate {
	if len(c.revoked) == 0 {
		return nil
	}
	for _, chain := range chains {
		for _, cert := range chain {
			if c.revoked[string(cert.RawIssuer)][cert.SerialNumber.String()] {
				return cert
			}
		}
	}
	return nil
}

// TLSAccess is who may connect through a TLS listener, by the DN of their
// client certificate in libvirt's format (CertDN), matched against glob
// patterns as libvirtd's tls_allowed_dn_list (MatchDN).
type TLSAccess struct {
	// AllowedDN admits only the DNs matching one of these, as
	// tls_allowed_dn_list; empty admits every certificate the CA signed,
	// unless ReadOnlyDN is set.
	AllowedDN []string
	// ReadOnlyDN admits the DNs matching one of these read-only, and wins
	// over AllowedDN: a DN on both lists is read-only.
	ReadOnlyDN []string
}

// admits reports whether a client with dn may connect.
func (a TLSAccess) admits(dn string) bool {
	if len(a.AllowedDN) == 0 && len(a.ReadOnlyDN) == 0 {
		return true
	}
	return matchAny(a.AllowedDN, dn) || matchAny(a.ReadOnlyDN, dn)
}

func matchAny(patterns []string, dn string) bool {
	for _, p := range patterns {
		if MatchDN(p, dn) {
			return true
		}
	}
	return false
}

// errCertRevoked refuses a client certificate its CA's CRL revokes.
var errCertRevoked = errors.New("client certificate revoked by the CA's certificate revocation list")

// errDNNotAllowed is libvirt's message for a DN not on the list.
var errDNNotAllowed = errors.New("Client's Distinguished Name is not on the list of allowed clients (tls_allowed_dn_list)")

// ServerConfig is the tls.Config of a listener: TLS 1.2 or later, the
// current credentials for each handshake, and a client certificate required,
// verified against the CA and, by its DN, against access. A refused client
// gets a TLS alert in the handshake (libvirtd completes the handshake and
// then closes the connection, which tells the client less).
func (c *TLSCredentials) ServerConfig(access TLSAccess) *tls.Config {
	verifyDN := verifyDNOf(access)
	verify := func(cur *tlsCreds) func(cs tls.ConnectionState) error {
		return func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			if r := cur.revokedIn(cs.VerifiedChains); r != nil {
				dn, _ := CertDN(r)
				return fmt.Errorf("%w: %q, serial %s", errCertRevoked, dn, r.SerialNumber)
			}
			return verifyDN(cs)
		}
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			cur := c.cur.Load()
			return &tls.Config{
				MinVersion:       tls.VersionTLS12,
				Certificates:     []tls.Certificate{cur.cert},
				ClientAuth:       tls.RequireAndVerifyClientCert,
				ClientCAs:        cur.cas,
				VerifyConnection: verify(cur),
				// A TLS 1.3 session ticket, sent after the handshake,
				// would be what libvirt's client reads when it polls for
				// the confirmation byte: it then fails with "Unable to read
				// TLS confirmation" (EAGAIN). libvirt does not resume
				// sessions anyway.
				SessionTicketsDisabled: true,
			}, nil
		},
	}
}

// verifyDNOf is the check of the client certificate's DN against access.
func verifyDNOf(access TLSAccess) func(cs tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		dn, err := CertDN(cs.PeerCertificates[0])
		if err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
		if !access.admits(dn) {
			return fmt.Errorf("%w: %q", errDNNotAllowed, dn)
		}
		return nil
	}
}

// Policy is the listener policy of a TLS listener: each connection completes
// its handshake in Authorize (so under the handshake deadline and the
// connection caps), is confirmed to the client as libvirtd does, and is
// read-only if its DN matches access.ReadOnlyDN.
func (a TLSAccess) Policy(log *slog.Logger) Policy {
	return Policy{Authorize: func(ctx context.Context, nc net.Conn) (bool, error) {
		tc, ok := nc.(*tls.Conn)
		if !ok {
			return false, fmt.Errorf("TLS policy on a %T, not a TLS connection", nc)
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			lingerAfterRefusal(ctx, tc.NetConn())
			return false, fmt.Errorf("TLS handshake: %w", err)
		}
		dn, err := CertDN(tc.ConnectionState().PeerCertificates[0])
		if err != nil { // verified in the handshake; cannot happen
			return false, err
		}
		// libvirt's clients wait for one byte, 1, saying the server accepted
		// their certificate (virNetServerClientCheckAccess).
		if _, err := tc.Write([]byte{1}); err != nil {
			return false, fmt.Errorf("TLS confirmation: %w", err)
		}
		readOnly := matchAny(a.ReadOnlyDN, dn)
		log.Debug("rpc: TLS client", "remote", nc.RemoteAddr().String(), "dn", dn, "read_only", readOnly)
		return readOnly, nil
	}}
}

// refusalLinger bounds how long a refused client's last handshake messages
// are read after the alert.
const refusalLinger = time.Second

// lingerAfterRefusal ends a refused handshake in order: after the alert, it
// closes the sending side and reads what the client still sends (the rest
// of its flight) until it closes too. Closing at once with those bytes
// unread makes the kernel reset the connection, and the client's next write
// then fails with EPIPE — virsh dies of SIGPIPE instead of reporting the
// refusal.
func lingerAfterRefusal(ctx context.Context, nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	deadline := time.Now().Add(refusalLinger)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	nc.SetReadDeadline(deadline)
	io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
}

// peerDN is the DN of the client certificate of a TLS connection whose
// handshake is done, "" for any other connection (for the logs).
func peerDN(nc net.Conn) string {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return ""
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return ""
	}
	dn, err := CertDN(certs[0])
	if err != nil {
		return ""
	}
	return dn
}

// tlsRefusal is the limit that refused a TLS client in its handshake: its
// DN not on the lists, or its certificate missing or not verifying against
// the CA (expired, another CA, not for client use). Other handshake
// failures (a client that is not speaking TLS, one that went away) are no
// limit's doing.
func tlsRefusal(err error) (limit.Name, bool) {
	var ve *tls.CertificateVerificationError
	switch {
	case errors.Is(err, errDNNotAllowed):
		return limit.TLSAllowedDN, true
	case errors.As(err, &ve), errors.Is(err, errCertRevoked),
		// crypto/tls's words for a client that sent no certificate (it has
		// no error type for them); TestLimitMetricsTLS pins them.
		strings.Contains(err.Error(), "client didn't provide a certificate"):
		return limit.TLSClientCert, true
	}
	return "", false
}
