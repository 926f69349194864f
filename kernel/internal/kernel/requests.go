package kernel

import (
	"path"
	"strings"
	"unicode/utf8"

	"golab/kernel/display"
	"golab/kernel/internal/jupyter"
	"golab/kernel/internal/wire"
)

// Cursor positions in the protocol count Unicode code points; the session
// works in bytes.

func runeToByte(s string, r int) int {
	if r <= 0 {
		return 0
	}
	i := 0
	for n := 0; n < r && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func byteToRune(s string, b int) int {
	if b > len(s) {
		b = len(s)
	}
	return utf8.RuneCountInString(s[:b])
}

func (k *Kernel) complete(m *wire.Message) {
	var req struct {
		Code      string `json:"code"`
		CursorPos *int   `json:"cursor_pos"`
	}
	if !k.decode(jupyter.Shell, m, &req) {
		return
	}
	cursor := len(req.Code)
	if req.CursorPos != nil {
		cursor = runeToByte(req.Code, *req.CursorPos)
	}
	matches, start, end := k.sess.Complete(req.Code, cursor)
	if matches == nil {
		matches = []string{}
	}
	k.reply(jupyter.Shell, m, "complete_reply", completeReply{
		Status: "ok", Matches: matches,
		CursorStart: byteToRune(req.Code, start), CursorEnd: byteToRune(req.Code, end),
		Metadata: map[string]any{},
	})
}

func (k *Kernel) inspect(m *wire.Message) {
	var req struct {
		Code        string `json:"code"`
		CursorPos   *int   `json:"cursor_pos"`
		DetailLevel int    `json:"detail_level"`
	}
	if !k.decode(jupyter.Shell, m, &req) {
		return
	}
	cursor := len(req.Code)
	if req.CursorPos != nil {
		cursor = runeToByte(req.Code, *req.CursorPos)
	}
	text, found := k.sess.Inspect(req.Code, cursor)
	data := display.MIMEMap{}
	if found {
		data[display.MIMETypeText] = text
	}
	k.reply(jupyter.Shell, m, "inspect_reply", inspectReply{Status: "ok", Found: found, Data: data, Metadata: display.MIMEMap{}})
}

func (k *Kernel) isComplete(m *wire.Message) {
	var req struct {
		Code string `json:"code"`
	}
	if !k.decode(jupyter.Shell, m, &req) {
		return
	}
	status, indent := k.sess.IsComplete(req.Code)
	content := isCompleteReply{Status: status}
	if status == "incomplete" {
		content.Indent = &indent
	}
	k.reply(jupyter.Shell, m, "is_complete_reply", content)
}

// historySession is the session number history entries carry: history
// lives as long as the kernel process.
const historySession = 1

func (k *Kernel) historyReply(m *wire.Message) {
	var req struct {
		Output         bool   `json:"output"`
		Raw            bool   `json:"raw"`
		HistAccessType string `json:"hist_access_type"`
		Session        int    `json:"session"`
		Start          int    `json:"start"`
		Stop           int    `json:"stop"`
		N              int    `json:"n"`
		Pattern        string `json:"pattern"`
		Unique         bool   `json:"unique"`
	}
	if !k.decode(jupyter.Shell, m, &req) {
		return
	}
	var sel []histEntry
	switch req.HistAccessType {
	case "tail":
		sel = k.history
		if req.N > 0 && len(sel) > req.N {
			sel = sel[len(sel)-req.N:]
		}
	case "range":
		if req.Session == 0 || req.Session == historySession {
			stop := req.Stop
			for _, h := range k.history {
				if h.line >= req.Start && (stop <= 0 || h.line < stop) {
					sel = append(sel, h)
				}
			}
		}
	case "search":
		pattern := req.Pattern
		if pattern == "" {
			pattern = "*"
		}
		seen := map[string]bool{}
		for i := len(k.history) - 1; i >= 0; i-- {
			h := k.history[i]
			if ok, _ := path.Match(pattern, h.input); !ok {
				if ok2, _ := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(h.input, "/", "\x00")); !ok2 {
					continue
				}
			}
			if req.Unique && seen[h.input] {
				continue
			}
			seen[h.input] = true
			sel = append([]histEntry{h}, sel...)
			if req.N > 0 && len(sel) >= req.N {
				break
			}
		}
	}
	out := make([]any, 0, len(sel))
	for _, h := range sel {
		if req.Output {
			out = append(out, []any{historySession, h.line, []any{h.input, h.output}})
		} else {
			out = append(out, []any{historySession, h.line, h.input})
		}
	}
	k.reply(jupyter.Shell, m, "history_reply", historyReply{Status: "ok", History: out})
}
