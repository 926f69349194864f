package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

func signedFrames(t testing.TB, s *Signer, content string) [][]byte {
	t.Helper()
	m := &Message{Identities: [][]byte{[]byte("client-1")}, Header: NewHeader("execute_request", "sess"), Content: json.RawMessage(content)}
	frames, err := Encode(m, s)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func TestSignAndVerify(t *testing.T) {
	s, err := NewSigner("hmac-sha256", "secret")
	if err != nil {
		t.Fatal(err)
	}
	frames := signedFrames(t, s, `{"code":"1+1"}`)
	m, err := Decode(frames, s)
	if err != nil {
		t.Fatalf("valid message rejected: %v", err)
	}
	if m.Header.MsgType != "execute_request" || string(m.Identities[0]) != "client-1" || string(m.Content) != `{"code":"1+1"}` {
		t.Fatalf("decoded %+v", m)
	}
	// HMAC-SHA256("secret", "abcd"), computed with Python's hmac module:
	// the signature covers the four frames concatenated.
	if got := string(s.Sign([]byte("a"), []byte("b"), []byte("c"), []byte("d"))); got != "3057ecbaeceffb90b97394a97267236eca9f9e5520dfe387831a22a0eb7709d2" {
		t.Fatalf("Sign = %s", got)
	}
}

func TestRejectsTamperedAndUnsigned(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "secret")
	base := signedFrames(t, s, `{"code":"1+1"}`)
	cases := map[string]func(f [][]byte) [][]byte{
		"content changed": func(f [][]byte) [][]byte { f[len(f)-1] = []byte(`{"code":"rm -rf /"}`); return f },
		"header changed": func(f [][]byte) [][]byte {
			f[3] = bytes.Replace(f[3], []byte("execute_request"), []byte("shutdown_request"), 1)
			return f
		},
		"signature missing":  func(f [][]byte) [][]byte { f[2] = nil; return f },
		"signature not hex":  func(f [][]byte) [][]byte { f[2] = []byte("not hex at all"); return f },
		"signature bit flip": func(f [][]byte) [][]byte { f[2][0] ^= 1; return f },
		"metadata changed":   func(f [][]byte) [][]byte { f[5] = []byte(`{"x":1}`); return f },
		"parent changed":     func(f [][]byte) [][]byte { f[4] = []byte(`{"msg_id":"x"}`); return f },
		"signature truncate": func(f [][]byte) [][]byte { f[2] = f[2][:10]; return f },
	}
	for name, mutate := range cases {
		frames := mutate(clone(base))
		if _, err := Decode(frames, s); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
	other, _ := NewSigner("hmac-sha256", "other")
	if _, err := Decode(signedFrames(t, other, `{}`), s); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: got %v", err)
	}
	if _, err := Decode(base[:4], s); !errors.Is(err, ErrShort) {
		t.Errorf("short: got %v", err)
	}
	if _, err := Decode([][]byte{[]byte("x")}, s); !errors.Is(err, ErrNoDelimiter) {
		t.Errorf("no delimiter: got %v", err)
	}
}

func TestEmptyKeyDisablesSigning(t *testing.T) {
	s, _ := NewSigner("", "")
	frames := signedFrames(t, s, `{}`)
	if len(frames[2]) != 0 {
		t.Errorf("signature %q with an empty key", frames[2])
	}
	if _, err := Decode(frames, s); err != nil {
		t.Errorf("unsigned message with empty key: %v", err)
	}
	if _, err := NewSigner("hmac-md5", "k"); err == nil {
		t.Error("unsupported scheme accepted")
	}
}

func TestRejectsMalformedJSON(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "k")
	for name, parts := range map[string][4]string{
		"header not object": {`[]`, `{}`, `{}`, `{}`},
		"no msg_type":       {`{"msg_id":"1"}`, `{}`, `{}`, `{}`},
	} {
		frames := [][]byte{Delimiter, s.Sign([]byte(parts[0]), []byte(parts[1]), []byte(parts[2]), []byte(parts[3]))}
		for _, p := range parts {
			frames = append(frames, []byte(p))
		}
		if _, err := Decode(frames, s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFlagsBadParts checks that a signed message with a valid header but
// a part that is not a JSON object is decoded and marked Invalid, so that
// the kernel can answer it with an error.
func TestFlagsBadParts(t *testing.T) {
	s, _ := NewSigner("hmac-sha256", "k")
	for name, parts := range map[string][4]string{
		"content array":   {`{"msg_type":"x"}`, `{}`, `{}`, `[1,2]`},
		"content string":  {`{"msg_type":"x"}`, `{}`, `{}`, `"str"`},
		"content null":    {`{"msg_type":"x"}`, `{}`, `{}`, `null`},
		"parent not JSON": {`{"msg_type":"x"}`, `{`, `{}`, `{}`},
		"metadata number": {`{"msg_type":"x"}`, `{}`, `7`, `{}`},
	} {
		frames := [][]byte{Delimiter, s.Sign([]byte(parts[0]), []byte(parts[1]), []byte(parts[2]), []byte(parts[3]))}
		for _, p := range parts {
			frames = append(frames, []byte(p))
		}
		m, err := Decode(frames, s)
		if err != nil {
			t.Errorf("%s: rejected: %v", name, err)
			continue
		}
		if m.Invalid == "" || string(m.Content) == parts[3] && parts[3] != `{}` {
			t.Errorf("%s: Invalid %q, content %s", name, m.Invalid, m.Content)
		}
	}
}

func clone(f [][]byte) [][]byte {
	out := make([][]byte, len(f))
	for i, b := range f {
		out[i] = append([]byte(nil), b...)
	}
	return out
}

// FuzzDecode feeds arbitrary frames to the decoder: it must never panic,
// and what it accepts must be a verified, well-formed message that
// re-encodes to frames it accepts again.
func FuzzDecode(f *testing.F) {
	s, _ := NewSigner("hmac-sha256", "fuzz-key")
	valid := signedFrames(f, s, `{"code":"1+1","silent":false}`)
	f.Add(bytes.Join(valid, []byte{0xff, 0x00}), "fuzz-key")
	f.Add([]byte("<IDS|MSG>\xff\x00sig\xff\x00{}\xff\x00{}\xff\x00{}\xff\x00{}"), "")
	f.Add([]byte("<IDS|MSG>\xff\x00\xff\x00{\"msg_type\":\"x\"}\xff\x00{}\xff\x00{}\xff\x00{}"), "")
	f.Add([]byte{}, "k")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		signer, err := NewSigner("hmac-sha256", key)
		if err != nil {
			t.Fatal(err)
		}
		frames := bytes.Split(data, []byte{0xff, 0x00})
		m, err := Decode(frames, signer)
		if err != nil {
			return
		}
		if m.Header.MsgType == "" {
			t.Fatal("accepted a message without msg_type")
		}
		again, err := Encode(m, signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(again, signer); err != nil {
			t.Fatalf("re-encoded message rejected: %v", err)
		}
	})
}

// isObjectByDecoding is what isObject must agree with: JSON that decodes
// into a map, null excepted.
func isObjectByDecoding(b []byte) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal(b, &v) == nil && v != nil
}

func TestIsObject(t *testing.T) {
	for _, s := range []string{
		`{}`, ` {"a": 1} `, "\n\t{\"a\":{\"b\":[1,2]}}\r\n", `{"a":"\xff"}`, `{"a":1,"a":2}`,
		``, ` `, `null`, `[]`, `"{}"`, `1`, `{`, `{}}`, `{} {}`, `{"a":}`, `{'a':1}`, "\v{}", `true`,
	} {
		if got, want := isObject([]byte(s)), isObjectByDecoding([]byte(s)); got != want {
			t.Errorf("isObject(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzIsObject(f *testing.F) {
	for _, s := range []string{`{}`, `null`, ` {"a":[1,{"b":null}]}`, `{"a":1}x`, `[{}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := isObject(b), isObjectByDecoding(b); got != want {
			t.Fatalf("isObject(%q) = %v, decoding says %v", b, got, want)
		}
	})
}
