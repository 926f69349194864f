// Package wire encodes, decodes, signs and verifies Jupyter messages as they
// travel over ZeroMQ (messaging protocol 5.3, "The Wire Protocol").
package wire

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"time"
)

// ProtocolVersion is the Jupyter messaging protocol version golab speaks.
const ProtocolVersion = "5.3"

// Delimiter separates the routing identities from the message proper.
var Delimiter = []byte("<IDS|MSG>")

// Header is a Jupyter message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one Jupyter message. Parts decoded from the wire keep their raw
// JSON so that a reply can echo the request header exactly.
type Message struct {
	Identities [][]byte
	Header     Header
	// RawHeader is the header as received; empty for messages built here.
	RawHeader    json.RawMessage
	ParentHeader json.RawMessage
	Metadata     json.RawMessage
	Content      json.RawMessage
	Buffers      [][]byte
	// Invalid says what is wrong with a message that is signed and has a
	// valid header but whose parent header, metadata or content is not a
	// JSON object; such a message is answered with an error, never run.
	Invalid string
}

// Errors returned by Decode. Callers log them and drop the message.
var (
	ErrNoDelimiter  = errors.New("wire: no <IDS|MSG> delimiter")
	ErrShort        = errors.New("wire: fewer than 5 frames after the delimiter")
	ErrBadSignature = errors.New("wire: bad or missing signature")
)

// Signer computes and checks message signatures. A Signer with an empty key
// neither signs nor checks, as the protocol prescribes for an empty key.
type Signer struct {
	key     []byte
	newHash func() hash.Hash
}

// NewSigner returns a Signer for the connection file's signature_scheme and
// key. Supported schemes are hmac-sha256 (the default) and hmac-sha512.
func NewSigner(scheme, key string) (*Signer, error) {
	s := &Signer{key: []byte(key)}
	switch scheme {
	case "", "hmac-sha256":
		s.newHash = sha256.New
	case "hmac-sha512":
		s.newHash = sha512.New
	default:
		return nil, fmt.Errorf("wire: unsupported signature_scheme %q (use hmac-sha256)", scheme)
	}
	return s, nil
}

// Enabled reports whether messages are signed.
func (s *Signer) Enabled() bool { return s != nil && len(s.key) > 0 }

// Sign returns the hex signature of the four signed frames.
func (s *Signer) Sign(header, parent, metadata, content []byte) []byte {
	if !s.Enabled() {
		return nil
	}
	mac := hmac.New(s.newHash, s.key)
	mac.Write(header)
	mac.Write(parent)
	mac.Write(metadata)
	mac.Write(content)
	sum := mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// Verify reports whether sig is the signature of the four frames. It runs
// in constant time with respect to the signature's content.
func (s *Signer) Verify(sig, header, parent, metadata, content []byte) bool {
	if !s.Enabled() {
		return true
	}
	got := make([]byte, hex.DecodedLen(len(sig)))
	if _, err := hex.Decode(got, bytes.ToLower(sig)); err != nil {
		return false
	}
	mac := hmac.New(s.newHash, s.key)
	mac.Write(header)
	mac.Write(parent)
	mac.Write(metadata)
	mac.Write(content)
	return hmac.Equal(got, mac.Sum(nil))
}

// Decode parses the frames of one message and verifies its signature.
// It never panics on malformed input.
func Decode(frames [][]byte, s *Signer) (*Message, error) {
	i := 0
	for i < len(frames) && !bytes.Equal(frames[i], Delimiter) {
		i++
	}
	if i == len(frames) {
		return nil, ErrNoDelimiter
	}
	rest := frames[i+1:]
	if len(rest) < 5 {
		return nil, ErrShort
	}
	sig, header, parent, metadata, content := rest[0], rest[1], rest[2], rest[3], rest[4]
	if !s.Verify(sig, header, parent, metadata, content) {
		return nil, ErrBadSignature
	}
	m := &Message{Identities: frames[:i], Buffers: rest[5:]}
	if err := json.Unmarshal(header, &m.Header); err != nil {
		return nil, fmt.Errorf("wire: header is not a JSON object: %w", err)
	}
	if m.Header.MsgType == "" {
		return nil, errors.New("wire: header has no msg_type")
	}
	if !isObject(header) {
		return nil, errors.New("wire: header is not a JSON object")
	}
	m.RawHeader = json.RawMessage(header)
	m.ParentHeader = json.RawMessage(parent)
	m.Metadata = json.RawMessage(metadata)
	m.Content = json.RawMessage(content)
	// The sender is known (the signature holds) and so is what it asked
	// for: a bad part is answered, not dropped, so that no client waits
	// for a reply that never comes.
	for _, part := range []struct {
		name string
		raw  *json.RawMessage
	}{{"parent_header", &m.ParentHeader}, {"metadata", &m.Metadata}, {"content", &m.Content}} {
		if !isObject(*part.raw) {
			if m.Invalid == "" {
				m.Invalid = fmt.Sprintf("%s is not a JSON object: %.40q", part.name, *part.raw)
			}
			*part.raw = json.RawMessage("{}")
		}
	}
	return m, nil
}

// isObject reports whether b is one JSON object (what Unmarshal into a
// map accepts, bar null), without decoding it: it runs on every frame.
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

// Encode returns the frames of m, signed with s. Identities route the
// message; for iopub they are the topic.
func Encode(m *Message, s *Signer) ([][]byte, error) {
	header := []byte(m.RawHeader)
	if len(header) == 0 {
		var err error
		if header, err = json.Marshal(m.Header); err != nil {
			return nil, err
		}
	}
	parent, metadata, content := orEmpty(m.ParentHeader), orEmpty(m.Metadata), orEmpty(m.Content)
	frames := make([][]byte, 0, len(m.Identities)+6+len(m.Buffers))
	frames = append(frames, m.Identities...)
	frames = append(frames, Delimiter, s.Sign(header, parent, metadata, content), header, parent, metadata, content)
	frames = append(frames, m.Buffers...)
	return frames, nil
}

func orEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// NewHeader returns a fresh header of the given type for session.
func NewHeader(msgType, session string) Header {
	return Header{
		MsgID:    NewID(),
		Session:  session,
		Username: "golab",
		Date:     time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}

// NewID returns a random UUID (version 4) string.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Parent returns the header of m as a parent header for a reply.
func (m *Message) Parent() json.RawMessage {
	if len(m.RawHeader) > 0 {
		return m.RawHeader
	}
	b, _ := json.Marshal(m.Header)
	return b
}

// ParentID returns the msg_id of m's parent header, or "" when it has none.
func (m *Message) ParentID() string {
	var h Header
	_ = json.Unmarshal(m.ParentHeader, &h)
	return h.MsgID
}
