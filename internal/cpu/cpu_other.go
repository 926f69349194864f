//go:build !amd64 || purego

package cpu

func detect() ISA { return Generic }
