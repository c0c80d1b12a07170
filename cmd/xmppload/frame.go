package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// A framer splits an XMPP stream into its header and top-level elements
// without building a tree: it tracks tag depth, quoted attribute values and
// CDATA sections, which is all RFC 6120 §11.1 lets a stream contain
// (no comments, processing instructions or DTDs after the XML declaration).
// The load generator's hot path only looks for markers inside the raw bytes
// of each stanza, so splitting is all the parsing it pays for; stanzas that
// need a closer look are decoded with encoding/xml by the caller.
type framer struct {
	r   io.Reader
	buf []byte
	beg int // start of the element being framed
	end int // end of valid data in buf
	pos int // scan position
	// Scanner state, kept across reads.
	depth   int
	inTag   bool
	closing bool // the current tag is an end tag
	quote   byte // quote character inside a tag, or 0
	inCDATA bool
	header  bool // the stream header has been returned
	max     int
}

// errStreamEnd is returned by next when the peer closed its stream.
var errStreamEnd = errors.New("stream closed by peer")

func newFramer(r io.Reader, max int) *framer {
	return &framer{r: r, buf: make([]byte, 4096), max: max}
}

// next returns the next top-level element (the stream header first, as an
// unclosed start tag). The slice is valid until the following call.
func (f *framer) next() ([]byte, error) {
	for {
		if el, ok, err := f.scan(); err != nil || ok {
			return el, err
		}
		if err := f.fill(); err != nil {
			return nil, err
		}
	}
}

func (f *framer) fill() error {
	if f.beg > 0 && (f.beg == f.end || f.end == len(f.buf)) {
		n := copy(f.buf, f.buf[f.beg:f.end])
		f.pos -= f.beg
		f.end = n
		f.beg = 0
	}
	if f.end == len(f.buf) {
		if len(f.buf) >= f.max {
			return fmt.Errorf("element larger than %d bytes", f.max)
		}
		nb := make([]byte, 2*len(f.buf))
		copy(nb, f.buf[:f.end])
		f.buf = nb
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// scan advances over buffered bytes; ok reports a complete element.
func (f *framer) scan() (el []byte, ok bool, err error) {
	b := f.buf[:f.end]
	for f.pos < len(b) {
		c := b[f.pos]
		switch {
		case f.inCDATA:
			if i := bytes.Index(b[f.pos:], []byte("]]>")); i >= 0 {
				f.pos += i + 3
				f.inCDATA = false
				continue
			}
			f.pos = max(f.pos, len(b)-2)
			return nil, false, nil
		case f.inTag && f.quote != 0:
			if i := bytes.IndexByte(b[f.pos:], f.quote); i >= 0 {
				f.pos += i + 1
				f.quote = 0
				continue
			}
			f.pos = len(b)
			return nil, false, nil
		case f.inTag:
			switch c {
			case '"', '\'':
				f.quote = c
			case '>':
				f.inTag = false
				f.pos++
				selfClosed := b[f.pos-2] == '/'
				switch {
				case f.closing:
					f.depth--
				case !selfClosed:
					f.depth++
				}
				if f.depth < 0 || (f.closing && f.depth == 0) {
					return nil, false, errStreamEnd
				}
				if !f.header && f.depth == 1 && !f.closing {
					f.header = true
					return f.take(), true, nil
				}
				if f.header && f.depth == 1 {
					return f.take(), true, nil
				}
				continue
			}
			f.pos++
		default:
			i := bytes.IndexByte(b[f.pos:], '<')
			if i < 0 {
				if f.depth <= 1 {
					f.beg = len(b) // whitespace between stanzas
				}
				f.pos = len(b)
				return nil, false, nil
			}
			f.pos += i
			if f.depth <= 1 {
				f.beg = f.pos
			}
			if len(b)-f.pos < 2 || (b[f.pos+1] == '!' && len(b)-f.pos < 9) {
				return nil, false, nil // need the lookahead for "<?", "</" or "<![CDATA["
			}
			switch {
			case b[f.pos+1] == '?': // XML declaration
				j := bytes.Index(b[f.pos:], []byte("?>"))
				if j < 0 {
					return nil, false, nil
				}
				f.pos += j + 2
				f.beg = f.pos
			case bytes.HasPrefix(b[f.pos:], []byte("<![CDATA[")):
				f.inCDATA = true
				f.pos += 9
			case b[f.pos+1] == '!':
				return nil, false, errors.New("comment or DTD in stream")
			default:
				f.inTag = true
				f.closing = b[f.pos+1] == '/'
				f.pos++
			}
		}
	}
	return nil, false, nil
}

func (f *framer) take() []byte {
	el := f.buf[f.beg:f.pos]
	f.beg = f.pos
	return el
}
