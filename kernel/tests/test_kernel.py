"""jupyter_kernel_test suite for the golab kernel, with Go samples for every
test of the suite. Run with Debian's Python against an installed kernelspec:

    JUPYTER_DATA_DIR=... /usr/bin/python3 -m unittest kernel/tests/test_kernel.py
"""

import unittest

import jupyter_kernel_test


class GolabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "golab"
    language_name = "go"
    file_extension = ".go"

    code_hello_world = 'fmt.Println("hello, world")'
    code_stderr = 'import "os"\nfmt.Fprintln(os.Stderr, "an error")'
    code_page_something = "?fmt.Println"
    code_generate_error = 'panic("boom")'

    completion_samples = [
        {"text": "fmt.Prin", "matches": {"Print", "Printf", "Println"}},
        {"text": "strings.HasPre", "matches": {"HasPrefix"}},
    ]
    complete_code_samples = [
        'fmt.Println("hi")',
        "x := 1\ny := x + 1",
        "func f() int {\n\treturn 1\n}",
        "",
    ]
    incomplete_code_samples = [
        "func f() int {",
        "x := []int{1,\n2,",
        "for i := 0; i < 3; i++ {\n\tfmt.Println(i)",
        "s := `raw",
    ]
    invalid_code_samples = [
        "x := )",
        "func f() int { return 1 }}",
        "x = = 1",
    ]

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"go" + "lab"', "result": "golab"},
        {"code": "1.5 + 1", "result": "2.5"},
    ]
    code_display_data = [
        {"code": 'display.Display(display.HTML("<b>bold</b>"))', "mime": "text/html"},
        {"code": 'Display(display.Markdown("*hi*"))', "mime": "text/markdown"},
        {
            "code": 'import "image"\nimg := image.NewRGBA(image.Rect(0, 0, 4, 4))\ndisplay.Display(img)',
            "mime": "image/png",
        },
    ]

    code_history_pattern = "6 *"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "fmt.Println"
    code_clear_output = 'display.ClearOutput(false)'


if __name__ == "__main__":
    unittest.main()
