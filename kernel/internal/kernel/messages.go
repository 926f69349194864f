package kernel

import "golab/kernel/display"

// The contents of the messages the kernel sends (messaging protocol 5.3).
// Fields the protocol requires are always written, even when empty.

type statusContent struct {
	ExecutionState string `json:"execution_state"`
}

type streamContent struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

type executeInput struct {
	Code           string `json:"code"`
	ExecutionCount int    `json:"execution_count"`
}

// bundle is a MIME bundle as sent: data, metadata, and for display
// messages the transient part.
type executeResult struct {
	ExecutionCount int             `json:"execution_count"`
	Data           display.MIMEMap `json:"data"`
	Metadata       display.MIMEMap `json:"metadata"`
}

type displayData struct {
	Data      display.MIMEMap `json:"data"`
	Metadata  display.MIMEMap `json:"metadata"`
	Transient display.MIMEMap `json:"transient"`
}

type clearOutput struct {
	Wait bool `json:"wait"`
}

type commClose struct {
	CommID string         `json:"comm_id"`
	Data   map[string]any `json:"data"`
}

// errorContent is the iopub error message, and the error part of replies.
type errorContent struct {
	Ename     string   `json:"ename"`
	Evalue    string   `json:"evalue"`
	Traceback []string `json:"traceback"`
}

// errorReply is any reply with status "error".
type errorReply struct {
	Status string `json:"status"`
	errorContent
	// ExecutionCount is set in execute replies only.
	ExecutionCount *int `json:"execution_count,omitempty"`
}

func newErrorReply(ename, evalue string, traceback []string) errorReply {
	if traceback == nil {
		traceback = []string{ename + ": " + evalue}
	}
	return errorReply{Status: "error", errorContent: errorContent{Ename: ename, Evalue: evalue, Traceback: traceback}}
}

type okReply struct {
	Status string `json:"status"`
}

var ok = okReply{Status: "ok"}

type executeReply struct {
	Status          string         `json:"status"`
	ExecutionCount  int            `json:"execution_count"`
	Payload         []any          `json:"payload"`
	UserExpressions map[string]any `json:"user_expressions"`
}

// abortedReply answers an execute_request not run because an earlier cell
// failed. Its execution count is null: the cell has none (JupyterLab's
// IExecuteCount is number | null, and a front end shows the cell as not run).
type abortedReply struct {
	Status         string `json:"status"`
	ExecutionCount *int   `json:"execution_count"`
}

// pagePayload is the payload of a help cell ("?name").
type pagePayload struct {
	Source string          `json:"source"`
	Data   display.MIMEMap `json:"data"`
	Start  int             `json:"start"`
}

// userExpression is the value of one user expression.
type userExpression struct {
	Status   string          `json:"status"`
	Data     display.MIMEMap `json:"data"`
	Metadata display.MIMEMap `json:"metadata"`
}

type kernelInfoReply struct {
	Status                string       `json:"status"`
	ProtocolVersion       string       `json:"protocol_version"`
	Implementation        string       `json:"implementation"`
	ImplementationVersion string       `json:"implementation_version"`
	LanguageInfo          languageInfo `json:"language_info"`
	Banner                string       `json:"banner"`
	Debugger              bool         `json:"debugger"`
	HelpLinks             []helpLink   `json:"help_links"`
}

type languageInfo struct {
	Name              string `json:"name"`
	Version           string `json:"version"`
	Mimetype          string `json:"mimetype"`
	FileExtension     string `json:"file_extension"`
	PygmentsLexer     string `json:"pygments_lexer"`
	CodemirrorMode    string `json:"codemirror_mode"`
	NbconvertExporter string `json:"nbconvert_exporter"`
}

type helpLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

type completeReply struct {
	Status      string         `json:"status"`
	Matches     []string       `json:"matches"`
	CursorStart int            `json:"cursor_start"`
	CursorEnd   int            `json:"cursor_end"`
	Metadata    map[string]any `json:"metadata"`
}

type inspectReply struct {
	Status   string          `json:"status"`
	Found    bool            `json:"found"`
	Data     display.MIMEMap `json:"data"`
	Metadata display.MIMEMap `json:"metadata"`
}

type isCompleteReply struct {
	Status string  `json:"status"`
	Indent *string `json:"indent,omitempty"` // for "incomplete" only
}

type historyReply struct {
	Status  string `json:"status"`
	History []any  `json:"history"`
}

type commInfoReply struct {
	Status string         `json:"status"`
	Comms  map[string]any `json:"comms"`
}

type shutdownReply struct {
	Status  string `json:"status"`
	Restart bool   `json:"restart"`
}
