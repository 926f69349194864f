package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path"
	"sort"
	"strings"
	"time"

	"golab/kernel/internal/bindings"
	"golab/kernel/internal/compiled"
	"golab/kernel/internal/polyfill"
	"golab/kernel/internal/stdlib"
)

// prepareCompile builds a throwaway plugin that imports every package a
// cell can import, so that the build cache holds their variants for
// dynamic linking (the first such build takes minutes) and the first
// //golab:compile of a session takes seconds; and loads it, which checks
// that plugins built here fit this binary. make kernel runs it. Where
// plugins cannot work it says why and succeeds: marked functions then run
// interpreted.
func prepareCompile() error {
	b := compiled.New(compiled.DefaultConfig(nil))
	cfg := b.Config()
	if err := b.Unavailable(); err != nil {
		fmt.Printf("golab-kernel: //golab:compile is unavailable here, marked functions will run interpreted: %v\n", err)
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pkgs := importable()
	fmt.Printf("golab-kernel: preparing //golab:compile: %d packages for plugins with %s (%s); the first time takes minutes\n", len(pkgs), cfg.GoVersion, cfg.GoRoot)
	start := time.Now()
	p, err := b.Prepare(ctx, pkgs, nil)
	var un *compiled.UnavailableError
	switch {
	case errors.As(err, &un):
		fmt.Printf("golab-kernel: //golab:compile will not work, marked functions will run interpreted: %v\n", un.Reason)
		return nil
	case err != nil:
		return err
	}
	how := "built"
	if !p.Built {
		how = "found in the cache"
	}
	fmt.Printf("golab-kernel: //golab:compile ready: plugin %s and loaded in %.1f s (%s)\n", how, time.Since(start).Seconds(), p.Path)
	return nil
}

// importable lists the packages cells can import and plugins can too:
// the bound standard library and compiled packages, without internal ones
// (only the kernel's module may import those) and the test-only ones.
func importable() []string {
	seen := map[string]bool{}
	add := func(key string) {
		if key == "." || isTestOnly(key) {
			return
		}
		p := path.Dir(key)
		for _, el := range strings.Split(p, "/") {
			if el == "internal" {
				return
			}
		}
		seen[p] = true
	}
	for key := range stdlib.Symbols {
		add(key)
	}
	for key := range bindings.Symbols {
		add(key)
	}
	for _, p := range polyfill.Packages {
		seen[p] = true
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
