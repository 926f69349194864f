// Command labtrain trains one of the lab's models on CIFAR-10 from the
// command line, with the lab's run folders, so long runs can be done
// outside a notebook and resumed, and the notebooks pick them up:
//
//	go run ./lab/cmd/labtrain -model cnn -epochs 20 -runs notebooks/runs
//	go run ./lab/cmd/labtrain -model dropout -p 0.5 -epochs 29 -runs notebooks/runs
//	go run ./lab/cmd/labtrain -recipe further -runs notebooks/runs
//
// -recipe further trains exactly the run of notebook 06's "going further"
// part: models.FurtherCNN with models.FurtherConfig (augmentation, a
// one-cycle schedule, SGD with Nesterov momentum and weight decay, the best
// epoch kept); with -epochs, the same recipe over another number of epochs
// (its schedule follows), in a run folder of its own. The other flags set a
// run by hand: -opt, -lr, -momentum, -nesterov, -wd, -schedule, -augment,
// -keep-best.
//
// It prints the seed-format log, then the test accuracy of the last epoch's
// weights (and of the best epoch's, with -keep-best), then one JSON line
// with the figures.
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

type options struct {
	model, recipe, opt, schedule, runs, dir string
	memprofile                              string
	p, lr, momentum, wd                     float64
	nesterov, augment, keepBest, epochsSet  bool
	epochs, batch, limit                    int
	seed                                    uint64
}

func main() {
	var o options
	flag.StringVar(&o.model, "model", "cnn", "cnn, dropout, improved or further")
	flag.StringVar(&o.recipe, "recipe", "", "further: notebook 06's going-further run, every setting as the notebook has it")
	flag.Float64Var(&o.p, "p", 0.5, "dropout probability of the dropout model")
	flag.IntVar(&o.epochs, "epochs", 20, "epochs")
	flag.IntVar(&o.batch, "batch", 32, "batch size")
	flag.StringVar(&o.opt, "opt", "sgd", "optimizer: sgd or adam (AdamW with -wd)")
	flag.Float64Var(&o.lr, "lr", 0.001, "learning rate (the peak of a one-cycle schedule)")
	flag.Float64Var(&o.momentum, "momentum", 0.9, "SGD momentum")
	flag.BoolVar(&o.nesterov, "nesterov", false, "SGD with Nesterov momentum")
	flag.Float64Var(&o.wd, "wd", 0, "weight decay")
	flag.StringVar(&o.schedule, "schedule", "", "learning-rate schedule: cosine or onecycle (default constant)")
	flag.BoolVar(&o.augment, "augment", false, "augment: RandomCrop(32, padding 4) and RandomHorizontalFlip")
	flag.BoolVar(&o.keepBest, "keep-best", false, "keep the weights of the best validation epoch too")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the split, the shuffling, the dropout masks and the augmentation")
	flag.IntVar(&o.limit, "limit", 0, "train on only this many images (0: all 49,000)")
	flag.StringVar(&o.runs, "runs", "", "run folder: save every epoch and resume")
	flag.StringVar(&o.dir, "data", "", "CIFAR-10 folder (default $CIFAR10_DIR or the cache)")
	flag.StringVar(&o.memprofile, "memprofile", "", "write a heap profile here at the end")
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { o.epochsSet = o.epochsSet || f.Name == "epochs" })
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "labtrain:", err)
		os.Exit(1)
	}
}

// setup returns the model and the configuration of a run.
func setup(o options) (*lab.Model, lab.Config, error) {
	if o.recipe != "" {
		if o.recipe != "further" {
			return nil, lab.Config{}, fmt.Errorf("unknown recipe %q: the one there is is further", o.recipe)
		}
		m, err := models.FurtherCNN(models.Seed(o.seed))
		cfg := models.FurtherConfig()
		cfg.Seed = o.seed
		if o.epochsSet {
			cfg.Epochs = o.epochs // a shorter (or longer) run of the recipe, in a folder of its own
		}
		return m, cfg, err
	}
	var m *lab.Model
	var err error
	switch o.model {
	case "cnn":
		m, err = models.CNNModel(models.Seed(o.seed))
	case "dropout":
		m, err = models.DropoutCNN(o.p, models.Seed(o.seed))
	case "improved":
		m, err = models.ImprovedCNN(models.Seed(o.seed))
	case "further":
		m, err = models.FurtherCNN(models.Seed(o.seed))
	default:
		err = fmt.Errorf("unknown model %q: use cnn, dropout, improved or further", o.model)
	}
	if err != nil {
		return nil, lab.Config{}, err
	}
	cfg := lab.Config{Epochs: o.epochs, BatchSize: o.batch, Seed: o.seed, KeepBest: o.keepBest}
	switch o.opt {
	case "sgd":
		cfg.Optimizer = lab.SGD{LR: o.lr, Momentum: o.momentum, Nesterov: o.nesterov, WeightDecay: o.wd}
	case "adam":
		cfg.Optimizer = lab.Adam{LR: o.lr, WeightDecay: o.wd}
	default:
		return nil, cfg, fmt.Errorf("unknown optimizer %q: use sgd or adam", o.opt)
	}
	switch o.schedule {
	case "":
	case "cosine":
		cfg.Schedule = lab.Cosine{}
	case "onecycle":
		cfg.Schedule = lab.OneCycle{}
	default:
		return nil, cfg, fmt.Errorf("unknown schedule %q: use cosine or onecycle", o.schedule)
	}
	if o.augment {
		cfg.Augment = lab.Compose(lab.RandomCrop(32, 4), lab.RandomHorizontalFlip())
	}
	return m, cfg, nil
}

func run(o options) error {
	m, cfg, err := setup(o)
	if err != nil {
		return err
	}
	data, err := lab.LoadCIFAR(o.dir)
	if err != nil {
		return err
	}
	all, err := data.Train.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return err
	}
	train, val, err := all.Split(1000, o.seed)
	if err != nil {
		return err
	}
	if o.limit > 0 {
		train = train.Head(o.limit)
	}
	test, err := data.Test.Normalize(lab.CIFARMean, lab.CIFARStd)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Println(m.Summary())
	cfg.RunDir, cfg.Context = o.runs, ctx
	if o.runs != "" {
		fmt.Println("run folder:", lab.RunName(m, cfg, train.Len()))
	}
	start := time.Now()
	h, err := lab.Train(m, train, val, cfg)
	if err != nil {
		return err
	}
	acc, err := lab.Accuracy(m, test)
	if err != nil {
		return err
	}
	if o.memprofile != "" {
		if err := writeHeapProfile(o.memprofile); err != nil {
			return err
		}
	}
	best, bestEpoch := h.BestValAcc()
	fmt.Printf("Test accuracy: %.2f %% (the last epoch's weights)\n", acc)
	figures := map[string]any{"impl": "golab", "model": m.Name, "label": m.Label, "run": lab.RunName(m, cfg, train.Len()),
		"epochs": len(h.Epochs), "train_images": train.Len(), "test_acc": acc, "best_val_acc": best, "best_epoch": bestEpoch,
		"seconds_train": h.Seconds(), "seconds_this_call": time.Since(start).Seconds(), "history": h.Epochs}
	if cfg.KeepBest && cfg.RunDir != "" {
		bm, _, err := setup(o)
		if err != nil {
			return err
		}
		cfg.LoadBest = true
		if _, err := lab.LoadRun(bm, train, val, cfg); err != nil {
			return err
		}
		bacc, err := lab.Accuracy(bm, test)
		if err != nil {
			return err
		}
		fmt.Printf("Test accuracy: %.2f %% (the best epoch's weights, epoch %d)\n", bacc, bestEpoch)
		figures["test_acc_best_epoch"] = bacc
	}
	out, _ := json.Marshal(figures)
	fmt.Println(string(out))
	return nil
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
