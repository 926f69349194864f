// Package kernelspec writes the golab kernelspec: kernel.json and logos.
// `jupyter kernelspec install` then copies it into a Jupyter data
// directory.
package kernelspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
)

// Name is the kernel's name in Jupyter (`jupyter kernelspec list`).
const Name = "golab"

// Spec is the content of kernel.json.
type Spec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// New returns the spec of a kernel run by the binary at exe.
func New(exe string, env map[string]string) Spec {
	return Spec{
		Argv:          []string{exe, "-f", "{connection_file}"},
		DisplayName:   "Go (golab)",
		Language:      "go",
		InterruptMode: "message",
		Env:           env,
		Metadata:      map[string]any{"debugger": false},
	}
}

// Write writes kernel.json and the logos into dir, creating it.
func Write(dir string, spec Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	for _, size := range []int{32, 64} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, Logo(size)); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("logo-%dx%d.png", size, size)), buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "logo-svg.svg"), []byte(logoSVG), 0o644)
}

// goBlue is the Go brand's blue.
var goBlue = color.RGBA{0x00, 0xAD, 0xD8, 0xff}

// Logo draws the kernel's logo: a white "go" on a blue rounded square.
func Logo(size int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	r := float64(size) / 6
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if inRounded(float64(x)+0.5, float64(y)+0.5, float64(size), r) {
				img.Set(x, y, goBlue)
			}
		}
	}
	// "go": two rings and the g's tail, drawn at the logo's scale.
	s := float64(size)
	ring := func(cx, cy, ro, ri float64) {
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
				d := dx*dx + dy*dy
				if d <= ro*ro && d >= ri*ri {
					img.Set(x, y, color.White)
				}
			}
		}
	}
	ro, ri := 0.17*s, 0.10*s
	ring(0.33*s, 0.45*s, ro, ri)
	ring(0.67*s, 0.45*s, ro, ri)
	for y := int(0.45 * s); y < int(0.78*s); y++ {
		for x := int(0.43 * s); x < int(0.50*s); x++ {
			img.Set(x, y, color.White)
		}
	}
	for y := int(0.72 * s); y < int(0.79*s); y++ {
		for x := int(0.20 * s); x < int(0.50*s); x++ {
			img.Set(x, y, color.White)
		}
	}
	return img
}

func inRounded(x, y, size, r float64) bool {
	cx := clamp(x, r, size-r)
	cy := clamp(y, r, size-r)
	return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

const logoSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
<rect width="64" height="64" rx="10.7" fill="#00ADD8"/>
<circle cx="21.1" cy="28.8" r="7" fill="none" stroke="#fff" stroke-width="4.5"/>
<circle cx="42.9" cy="28.8" r="7" fill="none" stroke="#fff" stroke-width="4.5"/>
<path d="M29.8 28.8V49H12.8" fill="none" stroke="#fff" stroke-width="4.5"/>
</svg>
`
