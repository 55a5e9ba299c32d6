package ssh

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// loadOrCreateHostKeys reads every PEM private key in path, or, when path
// does not exist, generates an ed25519 and an RSA-3072 key, writes both there
// (mode 0600, atomically) and returns them.
func loadOrCreateHostKeys(path string) ([]gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = generateHostKeys()
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("ssh: writing host key %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("ssh: reading host key: %w", err)
	}
	var signers []gossh.Signer
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		signer, err := gossh.ParsePrivateKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, fmt.Errorf("ssh: host key %s: %w", path, err)
		}
		signers = append(signers, signer)
	}
	if len(signers) == 0 {
		return nil, fmt.Errorf("ssh: host key %s: no PEM private key found", path)
	}
	return signers, nil
}

func generateHostKeys() ([]byte, error) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ssh: generating ed25519 host key: %w", err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, fmt.Errorf("ssh: generating rsa host key: %w", err)
	}
	var buf bytes.Buffer
	for _, k := range []any{edKey, rsaKey} {
		block, err := gossh.MarshalPrivateKey(k, "quintupleo host key")
		if err != nil {
			return nil, fmt.Errorf("ssh: encoding host key: %w", err)
		}
		if err := pem.Encode(&buf, block); err != nil {
			return nil, fmt.Errorf("ssh: encoding host key: %w", err)
		}
	}
	return buf.Bytes(), nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".hostkey-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
