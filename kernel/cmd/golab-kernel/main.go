// Command golab-kernel is the golab Jupyter kernel for Go.
//
//	golab-kernel -f CONNECTION_FILE    serve a notebook (Jupyter runs this)
//	golab-kernel kernelspec DIR        write the kernelspec into DIR
//	golab-kernel prepare-compile       prepare the build cache for //golab:compile
//
// The kernel binds the packages listed in kernel/internal/bindings. With
// GOLAB_KERNEL_TEST=1 it also binds the kernel's test helpers.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/traefik/yaegi/interp"

	"golab/kernel/internal/bindings"
	"golab/kernel/internal/capture"
	"golab/kernel/internal/jupyter"
	"golab/kernel/internal/kernel"
	"golab/kernel/internal/kernelspec"
	"golab/kernel/internal/session"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "kernelspec" {
		if err := writeSpec(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "golab-kernel kernelspec:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "prepare-compile" {
		if err := prepareCompile(); err != nil {
			fmt.Fprintln(os.Stderr, "golab-kernel prepare-compile:", err)
			os.Exit(1)
		}
		return
	}
	connFile := flag.String("f", "", "Jupyter connection file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: golab-kernel -f CONNECTION_FILE\n       golab-kernel kernelspec DIR\n       golab-kernel prepare-compile")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *connFile == "" && flag.NArg() == 1 {
		*connFile = flag.Arg(0)
	}
	if *connFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := serve(*connFile); err != nil {
		fmt.Fprintln(os.Stderr, "golab-kernel:", err)
		os.Exit(1)
	}
}

func serve(connFile string) error {
	ci, err := jupyter.ReadConnectionFile(connFile)
	if err != nil {
		return err
	}
	// Capture stdout and stderr before anything runs; the kernel's own log
	// goes to the original stderr (fd 2), where the Go runtime also writes
	// a crash report.
	var k *kernel.Kernel
	ready := make(chan struct{})
	capt, err := capture.Start(func(stream, text string) {
		<-ready
		k.Stream(stream, text)
	})
	logOut := os.Stderr
	if err != nil {
		fmt.Fprintln(os.Stderr, "golab-kernel: output of compiled code will not reach the notebook:", err)
		capt = nil
	} else {
		logOut = capt.Stderr
	}
	logger := log.New(logOut, "golab-kernel: ", log.LstdFlags)
	// The interpreter reports some internal failures through the standard
	// logger; keep them out of the notebook.
	log.SetOutput(logOut)

	srv, err := jupyter.Listen(ci, logger)
	if err != nil {
		return err
	}
	session.DocLookup = bindings.Doc
	k, err = kernel.New(srv, kernel.Options{Exports: []interp.Exports{exports()}, Capture: capt, Log: logger})
	if err != nil {
		srv.Close()
		return err
	}
	close(ready)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	go func() {
		for range sig {
			k.Interrupt()
		}
	}()
	logger.Printf("serving %s (pid %d)", connFile, os.Getpid())
	k.Run()
	return nil
}

// exports returns the bindings cells may import.
func exports() interp.Exports {
	testing := os.Getenv("GOLAB_KERNEL_TEST") == "1"
	out := interp.Exports{}
	for key, syms := range bindings.Symbols {
		if !testing && isTestOnly(key) {
			continue
		}
		out[key] = syms
	}
	return out
}

func isTestOnly(key string) bool {
	for _, t := range bindings.TestOnly {
		if key == t {
			return true
		}
	}
	return false
}

func writeSpec(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: golab-kernel kernelspec DIR")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return err
	}
	env := map[string]string{}
	// Carry the data location into notebooks started from any directory,
	// when it exists (else the lab's own default applies).
	if dir := os.Getenv("CIFAR10_DIR"); dir != "" {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			if abs, err := filepath.Abs(dir); err == nil {
				env["CIFAR10_DIR"] = abs
			}
		}
	}
	return kernelspec.Write(args[0], kernelspec.New(exe, env))
}
