package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
)

// Errors from Read. The stream layer maps them to stream error conditions.
var (
	// ErrTooDeep: nesting exceeded the depth limit (policy-violation).
	ErrTooDeep = errors.New("stanza: element nested too deeply")
	// ErrRestricted: a comment, processing instruction or DTD appeared
	// inside the stream (restricted-xml, RFC 6120 §11.1).
	ErrRestricted = errors.New("stanza: restricted XML")
)

// A TokenReader yields resolved XML tokens; *xml.Decoder is one.
type TokenReader interface {
	Token() (xml.Token, error)
}

// Read builds the element that start opens, reading tokens from d up to
// and including its end tag. maxDepth bounds nesting below start (start
// itself is depth 1). Namespace declarations are dropped from Attr;
// comments, processing instructions and directives are refused with
// ErrRestricted. Errors from d are returned wrapped.
func Read(d TokenReader, start xml.StartElement, maxDepth int) (*Element, error) {
	root := fromStart(start)
	stack := make([]*Element, 1, 8)
	stack[0] = root
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("stanza: reading <%s/>: %w", start.Name.Local, err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, ErrTooDeep
			}
			child := fromStart(t)
			top.Children = append(top.Children, Node{Elem: child})
			stack = append(stack, child)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return root, nil
			}
		case xml.CharData:
			// Adjacent character data (split by the decoder around
			// entity references or buffer edges) is joined.
			if n := len(top.Children); n > 0 && top.Children[n-1].Elem == nil {
				top.Children[n-1].Text += string(t)
			} else {
				top.Children = append(top.Children, Node{Text: string(t)})
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
			return nil, ErrRestricted
		}
	}
}

// fromStart converts a start tag, dropping namespace declarations.
func fromStart(t xml.StartElement) *Element {
	e := &Element{Name: t.Name}
	n := 0
	for _, a := range t.Attr {
		if !isNamespaceDecl(a.Name) {
			n++
		}
	}
	if n > 0 {
		e.Attr = make([]xml.Attr, 0, n)
		for _, a := range t.Attr {
			if !isNamespaceDecl(a.Name) {
				e.Attr = append(e.Attr, a)
			}
		}
	}
	return e
}

func isNamespaceDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}
