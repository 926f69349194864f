// Command gridsize prints the size in pixels, as WxH, of the image grid
// that viz.ShowImages draws for n images (default 4): the size the browser
// test expects of the figure in 01-dataset.
package main

import (
	"flag"
	"fmt"
	"os"

	"golab/lab"
	"golab/lab/viz"
)

func main() {
	n := flag.Int("n", 4, "number of images")
	flag.Parse()
	if *n < 1 {
		fmt.Fprintln(os.Stderr, "gridsize: -n must be at least 1")
		os.Exit(2)
	}
	labels := make([]uint8, *n)
	positions := make([]int, *n)
	for i := range positions {
		positions[i] = i
	}
	d, err := lab.NewDataset("blank", lab.DefaultClasses, make([]byte, *n*lab.ImageBytes), labels)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gridsize:", err)
		os.Exit(1)
	}
	g := viz.ShowImages(d, positions...)
	if err := g.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "gridsize:", err)
		os.Exit(1)
	}
	w, h := g.Size()
	fmt.Printf("%dx%d\n", w, h)
}
