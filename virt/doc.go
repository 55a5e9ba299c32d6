// Package virt is the libvirt vocabulary every other package speaks: the
// error type with libvirt's codes, error domains (VIR_FROM_*) and message
// formats; the domain states, reasons and lifecycle event details; the
// flags and enums of the calls the drivers answer (list filters of
// domains, networks and storage pools, XML, create, undefine, modification
// impact, metadata types, interface address sources, pool states, volume
// create), with libvirt's values (flags_test.go holds them to go-libvirt's);
// and the UUID with libvirt's parser and formatter.
//
// It is a leaf: it imports nothing of quintupleo, and of go-libvirt only the
// error numbers (ErrorNumber), so the model packages (driver/*) can use it
// without seeing any wire type.
package virt
