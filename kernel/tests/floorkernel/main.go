// Command floorkernel is a Jupyter kernel that runs nothing: it answers an
// execute_request with the messages golab-kernel sends for `1 + 1` (busy,
// execute_input, execute_result, execute_reply, idle) through the same
// jupyter and wire packages. make bench-kernel measures it with
// bench_roundtrip.py beside golab-kernel: the difference is what running a
// cell costs, the rest is the client and the messaging.
//
//	floorkernel -f CONNECTION_FILE
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"golab/kernel/internal/jupyter"
	"golab/kernel/internal/wire"
)

type floor struct {
	srv   *jupyter.Server
	count int
}

type status struct {
	ExecutionState string `json:"execution_state"`
}

func (k *floor) HandleControl(m *wire.Message) { k.HandleShell(m) }

func (k *floor) HandleShell(m *wire.Message) {
	k.publish(m, "status", status{"busy"})
	defer k.publish(m, "status", status{"idle"})
	switch m.Header.MsgType {
	case "execute_request":
		var req struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(m.Content, &req)
		k.count++
		k.publish(m, "execute_input", map[string]any{"code": req.Code, "execution_count": k.count})
		k.publish(m, "execute_result", map[string]any{"execution_count": k.count, "data": map[string]any{"text/plain": "2"}, "metadata": map[string]any{}})
		k.reply(m, "execute_reply", map[string]any{"status": "ok", "execution_count": k.count, "payload": []any{}, "user_expressions": map[string]any{}})
	case "kernel_info_request":
		k.reply(m, "kernel_info_reply", map[string]any{"status": "ok", "protocol_version": wire.ProtocolVersion,
			"implementation": "golab-floor", "implementation_version": "0", "banner": "",
			"language_info": map[string]any{"name": "go", "file_extension": ".go", "mimetype": "text/x-go"}})
	case "shutdown_request":
		k.reply(m, "shutdown_reply", map[string]any{"status": "ok", "restart": false})
		time.Sleep(50 * time.Millisecond) // let the reply leave
		k.srv.Close()
		os.Exit(0)
	default:
		log.Printf("floorkernel: ignoring %s", m.Header.MsgType)
	}
}

func (k *floor) reply(m *wire.Message, msgType string, content any) {
	if err := k.srv.Reply(jupyter.Shell, m, msgType, content); err != nil {
		log.Printf("floorkernel: %s: %v", msgType, err)
	}
}

func (k *floor) publish(m *wire.Message, msgType string, content any) {
	if err := k.srv.Publish(m, msgType, content); err != nil {
		log.Printf("floorkernel: %s: %v", msgType, err)
	}
}

func main() {
	connFile := flag.String("f", "", "Jupyter connection file")
	flag.Parse()
	if *connFile == "" {
		fmt.Fprintln(os.Stderr, "usage: floorkernel -f CONNECTION_FILE")
		os.Exit(2)
	}
	ci, err := jupyter.ReadConnectionFile(*connFile)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := jupyter.Listen(ci, log.New(os.Stderr, "floorkernel: ", log.LstdFlags))
	if err != nil {
		log.Fatal(err)
	}
	k := &floor{srv: srv}
	k.publish(nil, "status", status{"starting"})
	srv.Serve(k)
}
