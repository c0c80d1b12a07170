package stanza

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
)

// Parse builds the element that b holds (the first element in it, as
// Element.String or AppendXML wrote it), at most maxDepth levels deep.
// Features use it for stanzas and payloads they stored.
func Parse(b []byte, maxDepth int) (*Element, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("stanza: no element")
		}
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return Read(d, start, maxDepth)
		}
	}
}
