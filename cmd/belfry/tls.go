package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The files --tls-self-signed keeps in the data directory. A client trusts
// selfSignedCA; the server presents selfSignedCert, issued by it.
const (
	selfSignedCA     = "tls-ca.pem"
	selfSignedCAKey  = "tls-ca-key.pem"
	selfSignedCert   = "tls-cert.pem"
	selfSignedKey    = "tls-key.pem"
	leafValidity     = 397 * 24 * time.Hour // what browsers accept for a server certificate
	caValidity       = 10 * 365 * 24 * time.Hour
	leafRenewalSlack = 30 * 24 * time.Hour
)

// selfSignedHosts are the names the generated certificate covers:
// 127.0.0.1, ::1, localhost and the host of each listen address.
func selfSignedHosts(listens ...string) []string {
	hosts := []string{"127.0.0.1", "::1", "localhost"}
	for _, l := range listens {
		h, _, err := net.SplitHostPort(l)
		if err == nil && h != "" && !slices.Contains(hosts, h) && !net.ParseIP(h).IsUnspecified() {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// selfSignedCertificate returns the server certificate for hosts, kept in
// dir: a local CA (made once, reused across restarts so that clients keep
// trusting it) and a server certificate it issues, renewed when it does not
// cover hosts or expires within 30 days. It returns the path of the CA
// certificate a client should trust.
func selfSignedCertificate(dir string, hosts []string, now time.Time) (tls.Certificate, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return tls.Certificate{}, "", err
	}
	caPath := filepath.Join(dir, selfSignedCA)
	ca, caKey, err := loadPair(caPath, filepath.Join(dir, selfSignedCAKey))
	if err != nil || now.After(ca.NotAfter) {
		if ca, caKey, err = newCA(dir, now); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("generate the TLS CA: %w", err)
		}
	}
	certPath, keyPath := filepath.Join(dir, selfSignedCert), filepath.Join(dir, selfSignedKey)
	if leaf, _, err := loadPair(certPath, keyPath); err == nil && covers(leaf, hosts) && leaf.CheckSignatureFrom(ca) == nil &&
		now.Add(leafRenewalSlack).Before(leaf.NotAfter) {
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		return cert, caPath, err
	}
	if err := newLeaf(certPath, keyPath, ca, caKey, hosts, now); err != nil {
		return tls.Certificate{}, "", fmt.Errorf("generate the TLS certificate: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	return cert, caPath, err
}

func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// loadPair reads a PEM certificate (the first of the file) and its PEM EC key.
func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

func newCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"Belfry"}, CommonName: "Belfry local CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writePEM(filepath.Join(dir, selfSignedCAKey), 0o600, keyBlock(key)); err != nil {
		return nil, nil, err
	}
	if err := writePEM(filepath.Join(dir, selfSignedCA), 0o644, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func newLeaf(certPath, keyPath string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"Belfry"}, CommonName: hosts[len(hosts)-1]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	if err := writePEM(keyPath, 0o600, keyBlock(key)); err != nil {
		return err
	}
	// The chain: the server certificate, then the CA.
	return writePEM(certPath, 0o644, &pem.Block{Type: "CERTIFICATE", Bytes: der}, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
}

func keyBlock(key *ecdsa.PrivateKey) *pem.Block {
	b, _ := x509.MarshalECPrivateKey(key)
	return &pem.Block{Type: "EC PRIVATE KEY", Bytes: b}
}

// writePEM writes blocks to path through a temporary file and a rename, so a
// reader never sees half a file.
func writePEM(path string, mode os.FileMode, blocks ...*pem.Block) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tls-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	for _, b := range blocks {
		if err := pem.Encode(tmp, b); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
