// Package viz draws the lab's figures with gonum/plot: image grids with
// class names, loss and accuracy curves, softmax probability tables and bar
// charts, confusion matrices, and the live training view that a Jupyter
// cell updates in place while Train runs.
//
// Every figure type has PNG, SVG, Save, Err and String methods. Returned as
// the last expression of a notebook cell it shows inline, because the golab
// kernel renders any value with a PNG (or HTML) method. Figures are drawn
// lazily on the first PNG or SVG call and never panic: a figure that cannot
// be drawn returns nil from PNG, keeps the reason in Err and says it in
// String.
//
//	viz.ShowImages(train, 0, 1, 2, 3)                   // a grid with class names
//	viz.PlotCurves(h02, h05, h08)                       // loss and accuracy, runs overlaid
//	viz.ProbTable(probs, truth, classes)                // softmax table (HTML and PNG)
//	viz.ProbBars(probs, truth, classes, images)         // bar chart beside each image
//	viz.Confusion(truth, pred, classes)                 // heat map, per-class accuracy
//
// Importing the package also registers its live training view as
// lab.NewLiveMonitor, so Train shows one display that updates in place.
package viz
