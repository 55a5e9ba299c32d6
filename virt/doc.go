// Package virt is the libvirt vocabulary every other package speaks: the
// error type with libvirt's codes, error domains (VIR_FROM_*) and message
// formats; the domain states, reasons and lifecycle event details; the
// virConnectListAllDomains flags; and the UUID with libvirt's parser and
// formatter.
//
// It is a leaf: it imports nothing of quintupleo, and of go-libvirt only the
// error numbers (ErrorNumber), so the model packages (driver/*) can use it
// without seeing any wire type.
package virt
