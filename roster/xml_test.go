package roster

import (
	"encoding/xml"
	"strings"

	"github.com/xmppd/xmppd/stanza"
)

// parseXML reads one element from s (tests only).
func parseXML(s string) (*stanza.Element, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return stanza.Read(d, start, 32)
		}
	}
}
