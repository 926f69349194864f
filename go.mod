module golab

go 1.26
