package stanza

import (
	"strconv"
	"strings"
)

// AppendXML appends the XML encoding of e to buf, as it appears inside a parent
// whose default namespace is parentNS (stanzas on a client stream: NSClient,
// so a routed <message/> carries no xmlns of its own).
func (e *Element) AppendXML(buf []byte, parentNS string) []byte {
	return e.appendXML(buf, parentNS, nil)
}

// String returns e encoded with its namespace declared (for logs and tests).
func (e *Element) String() string { return string(e.appendXML(nil, "", nil)) }

// prefixes maps attribute namespaces to the prefixes declared for them on
// the current path; it is only allocated for the rare stanza that carries
// namespaced attributes other than xml:*.
type prefixes map[string]string

func (e *Element) appendXML(buf []byte, parentNS string, pfx prefixes) []byte {
	buf = append(buf, '<')
	buf = append(buf, e.Name.Local...)
	if e.Name.Space != parentNS {
		buf = append(buf, " xmlns='"...)
		buf = appendEscaped(buf, e.Name.Space, true)
		buf = append(buf, '\'')
	}
	for _, a := range e.Attr {
		buf = append(buf, ' ')
		switch a.Name.Space {
		case "":
		case NSXML:
			buf = append(buf, "xml:"...)
		default:
			p, ok := pfx[a.Name.Space]
			if !ok {
				next := make(prefixes, len(pfx)+1)
				for k, v := range pfx {
					next[k] = v
				}
				p = "ns" + strconv.Itoa(len(next)+1)
				next[a.Name.Space] = p
				pfx = next
				buf = append(buf, "xmlns:"...)
				buf = append(buf, p...)
				buf = append(buf, "='"...)
				buf = appendEscaped(buf, a.Name.Space, true)
				buf = append(buf, "' "...)
			}
			buf = append(buf, p...)
			buf = append(buf, ':')
		}
		buf = append(buf, a.Name.Local...)
		buf = append(buf, "='"...)
		buf = appendEscaped(buf, a.Value, true)
		buf = append(buf, '\'')
	}
	if len(e.Children) == 0 {
		return append(buf, "/>"...)
	}
	buf = append(buf, '>')
	for _, n := range e.Children {
		if n.Elem != nil {
			buf = n.Elem.appendXML(buf, e.Name.Space, pfx)
		} else {
			buf = appendEscaped(buf, n.Text, false)
		}
	}
	buf = append(buf, "</"...)
	buf = append(buf, e.Name.Local...)
	return append(buf, '>')
}

// appendEscaped escapes the five XML specials (quotes only in attributes)
// and carriage returns, which a parser would otherwise normalise away.
func appendEscaped(buf []byte, s string, attr bool) []byte {
	if !strings.ContainsAny(s, "<>&'\"\r\n\t") {
		return append(buf, s...)
	}
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '&':
			esc = "&amp;"
		case '\r':
			esc = "&#xD;"
		case '\'':
			if !attr {
				continue
			}
			esc = "&apos;"
		case '"':
			if !attr {
				continue
			}
			esc = "&quot;"
		case '\n':
			if !attr {
				continue
			}
			esc = "&#xA;"
		case '\t':
			if !attr {
				continue
			}
			esc = "&#x9;"
		default:
			continue
		}
		buf = append(buf, s[last:i]...)
		buf = append(buf, esc...)
		last = i + 1
	}
	return append(buf, s[last:]...)
}

// Escape returns s escaped for use as character data or an attribute value.
func Escape(s string) string { return string(appendEscaped(nil, s, true)) }
