// Package stanza is xmppd's in-memory XML element: what the stream decoder
// builds for each top-level stanza, what features read and answer, and what
// the session encodes onto a recipient's socket.
//
// Design: an Element keeps names with namespace URIs already resolved
// (encoding/xml's Token translation), attributes in document order, and
// mixed content as a list of nodes, so that a stanza routed through the
// server is re-encoded with the same meaning it arrived with (XHTML-IM
// bodies included). Namespace prefixes are not preserved — RFC 6120 §4.8.5
// lets servers re-write them — encoding uses default-namespace
// declarations, emitting xmlns only where an element's namespace differs
// from its parent's.
//
// Elements are not safe for concurrent mutation. A stanza handed to another
// session is treated as immutable from then on; code that must change a
// shared stanza works on a Copy.
package stanza

import (
	"encoding/xml"
	"strings"
)

// Namespaces used throughout the server.
const (
	NSClient  = "jabber:client"
	NSStream  = "http://etherx.jabber.org/streams"
	NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSXML     = "http://www.w3.org/XML/1998/namespace"
)

// An Element is one XML element with resolved namespaces.
type Element struct {
	Name xml.Name
	// Attr excludes namespace declarations (xmlns, xmlns:p); those are
	// implied by Name.Space and regenerated on encoding.
	Attr     []xml.Attr
	Children []Node
}

// A Node is a child of an Element: an element when Elem is non-nil,
// character data otherwise.
type Node struct {
	Elem *Element
	Text string
}

// New returns an element with the given namespace and local name and
// attributes given as name, value pairs.
func New(space, local string, attrs ...string) *Element {
	e := &Element{Name: xml.Name{Space: space, Local: local}}
	if len(attrs)%2 != 0 {
		panic("stanza.New: odd number of attribute strings")
	}
	for i := 0; i < len(attrs); i += 2 {
		if attrs[i+1] != "" {
			e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
		}
	}
	return e
}

// Get returns the value of the unqualified attribute name, or "".
func (e *Element) Get(name string) string {
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// Has reports whether the unqualified attribute name is present.
func (e *Element) Has(name string) bool {
	for _, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return true
		}
	}
	return false
}

// Set sets the unqualified attribute name; an empty value removes it.
func (e *Element) Set(name, value string) {
	for i, a := range e.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			if value == "" {
				e.Attr = append(e.Attr[:i], e.Attr[i+1:]...)
			} else {
				e.Attr[i].Value = value
			}
			return
		}
	}
	if value != "" {
		e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: name}, Value: value})
	}
}

// Lang returns the xml:lang attribute, or "".
func (e *Element) Lang() string {
	for _, a := range e.Attr {
		if a.Name.Space == NSXML && a.Name.Local == "lang" {
			return a.Value
		}
	}
	return ""
}

// Append adds child elements and returns e.
func (e *Element) Append(children ...*Element) *Element {
	for _, c := range children {
		e.Children = append(e.Children, Node{Elem: c})
	}
	return e
}

// SetText replaces all children with the character data s and returns e.
func (e *Element) SetText(s string) *Element {
	e.Children = e.Children[:0]
	if s != "" {
		e.Children = append(e.Children, Node{Text: s})
	}
	return e
}

// Text returns the concatenated character data directly inside e.
func (e *Element) Text() string {
	switch {
	case len(e.Children) == 0:
		return ""
	case len(e.Children) == 1 && e.Children[0].Elem == nil:
		return e.Children[0].Text
	}
	var b strings.Builder
	for _, n := range e.Children {
		if n.Elem == nil {
			b.WriteString(n.Text)
		}
	}
	return b.String()
}

// Elements returns the child elements, skipping character data.
func (e *Element) Elements() []*Element {
	var out []*Element
	for _, n := range e.Children {
		if n.Elem != nil {
			out = append(out, n.Elem)
		}
	}
	return out
}

// Child returns the first child element with the given namespace and local
// name ("" matches any), or nil.
func (e *Element) Child(space, local string) *Element {
	for _, n := range e.Children {
		if c := n.Elem; c != nil && (space == "" || c.Name.Space == space) && (local == "" || c.Name.Local == local) {
			return c
		}
	}
	return nil
}

// ChildText returns the text of the first matching child, or "".
func (e *Element) ChildText(space, local string) string {
	if c := e.Child(space, local); c != nil {
		return c.Text()
	}
	return ""
}

// RemoveChildren deletes every child element with the given namespace and
// local name ("" matches any) and reports how many were removed.
func (e *Element) RemoveChildren(space, local string) int {
	kept := e.Children[:0]
	removed := 0
	for _, n := range e.Children {
		if c := n.Elem; c != nil && (space == "" || c.Name.Space == space) && (local == "" || c.Name.Local == local) {
			removed++
			continue
		}
		kept = append(kept, n)
	}
	for i := len(kept); i < len(e.Children); i++ {
		e.Children[i] = Node{}
	}
	e.Children = kept
	return removed
}

// Copy returns a deep copy of e.
func (e *Element) Copy() *Element {
	c := &Element{Name: e.Name}
	if e.Attr != nil {
		c.Attr = append(make([]xml.Attr, 0, len(e.Attr)), e.Attr...)
	}
	if e.Children != nil {
		c.Children = make([]Node, len(e.Children))
		for i, n := range e.Children {
			if n.Elem != nil {
				c.Children[i] = Node{Elem: n.Elem.Copy()}
			} else {
				c.Children[i] = n
			}
		}
	}
	return c
}

// ShallowCopy returns a copy of e that shares e's children but has its own
// attribute slice: enough to re-address a routed stanza without copying its
// payload.
func (e *Element) ShallowCopy() *Element {
	c := &Element{Name: e.Name, Children: e.Children}
	c.Attr = append(make([]xml.Attr, 0, len(e.Attr)+1), e.Attr...)
	return c
}
