// Command labtrain trains one of the assignment's models on CIFAR-10 from
// the command line, with the lab's run folders, so long runs can be done
// outside a notebook and resumed:
//
//	go run ./lab/cmd/labtrain -model cnn -epochs 20 -runs runs
//	go run ./lab/cmd/labtrain -model dropout -p 0.5 -epochs 29 -runs runs
//
// It prints the seed-format log, then one JSON line with the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"time"

	"golab/lab"
	"golab/lab/models"
)

func main() {
	model := flag.String("model", "cnn", "cnn, dropout or improved")
	p := flag.Float64("p", 0.5, "dropout probability of the dropout model")
	epochs := flag.Int("epochs", 20, "epochs")
	batch := flag.Int("batch", 32, "batch size")
	lr := flag.Float64("lr", 0.001, "learning rate")
	momentum := flag.Float64("momentum", 0.9, "momentum")
	seed := flag.Uint64("seed", 0, "seed of the split, the shuffling and the dropout masks")
	limit := flag.Int("limit", 0, "train on only this many images (0: all 49,000)")
	runs := flag.String("runs", "", "run folder: save every epoch and resume")
	dir := flag.String("data", "", "CIFAR-10 folder (default $CIFAR10_DIR or the cache)")
	memprofile := flag.String("memprofile", "", "write a heap profile here at the end")
	flag.Parse()
	err := run(*model, *p, *epochs, *batch, *lr, *momentum, *seed, *limit, *runs, *dir, *memprofile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtrain:", err)
		os.Exit(1)
	}
}

// writeHeapProfile writes the live heap, after a collection, to path:
// called while the model and its graphs are live, it shows where a run's
// memory goes.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(name string, p float64, epochs, batch int, lr, momentum float64, seed uint64, limit int, runs, dir, memprofile string) error {
	var m *lab.Model
	var err error
	switch name {
	case "cnn":
		m, err = models.CNNModel(models.Seed(seed))
	case "dropout":
		m, err = models.DropoutCNN(p, models.Seed(seed))
	case "improved":
		m, err = models.ImprovedCNN(models.Seed(seed))
	default:
		err = fmt.Errorf("unknown model %q: use cnn, dropout or improved", name)
	}
	if err != nil {
		return err
	}
	data, err := lab.LoadCIFAR(dir)
	if err != nil {
		return err
	}
	all, err := data.Train.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return err
	}
	train, val, err := all.Split(1000, seed)
	if err != nil {
		return err
	}
	if limit > 0 {
		train = train.Head(limit)
	}
	test, err := data.Test.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Println(m.Summary())
	start := time.Now()
	h, err := lab.Train(m, train, val, lab.Config{Epochs: epochs, BatchSize: batch, Optimizer: lab.SGD{LR: lr, Momentum: momentum},
		Seed: seed, RunDir: runs, Context: ctx})
	if err != nil {
		return err
	}
	acc, err := lab.Accuracy(m, test)
	if err != nil {
		return err
	}
	if memprofile != "" {
		if err := writeHeapProfile(memprofile); err != nil {
			return err
		}
	}
	best, bestEpoch := h.BestValAcc()
	fmt.Printf("Test accuracy: %.1f %%\n", acc)
	out, _ := json.Marshal(map[string]any{"impl": "golab", "model": name, "label": m.Label, "epochs": len(h.Epochs),
		"train_images": train.Len(), "test_acc": acc, "best_val_acc": best, "best_epoch": bestEpoch,
		"seconds_train": h.Seconds(), "seconds_this_call": time.Since(start).Seconds(), "history": h.Epochs})
	fmt.Println(string(out))
	return nil
}
