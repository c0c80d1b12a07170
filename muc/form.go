package muc

import (
	"github.com/xmppd/xmppd/stanza"
)

// form is a XEP-0004 data form as read from a stanza.
type form struct {
	el *stanza.Element
}

// dataForm returns the first jabber:x:data child of el, or nil.
func dataForm(el *stanza.Element) *form {
	if x := el.Child(nsData, "x"); x != nil {
		return &form{el: x}
	}
	return nil
}

func (f *form) typ() string { return f.el.Get("type") }

// values returns the values of field v and whether the field is present.
func (f *form) values(v string) ([]string, bool) {
	for _, fe := range f.el.Elements() {
		if fe.Name.Space != nsData || fe.Name.Local != "field" || fe.Get("var") != v {
			continue
		}
		var out []string
		for _, ve := range fe.Elements() {
			if ve.Name.Space == nsData && ve.Name.Local == "value" {
				out = append(out, ve.Text())
			}
		}
		return out, true
	}
	return nil, false
}

// value returns the first value of field v.
func (f *form) value(v string) (string, bool) {
	vs, ok := f.values(v)
	if !ok {
		return "", false
	}
	if len(vs) == 0 {
		return "", true
	}
	return vs[0], true
}

func (f *form) formType() string {
	v, _ := f.value("FORM_TYPE")
	return v
}

// parseBool reads a XEP-0004 boolean.
func parseBool(s string) (bool, bool) {
	switch s {
	case "1", "true":
		return true, true
	case "0", "false", "":
		return false, true
	}
	return false, false
}

func formatBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// formBuilder builds a form to send.
type formBuilder struct{ x *stanza.Element }

func newForm(typ, title string, formType string) *formBuilder {
	b := &formBuilder{x: stanza.New(nsData, "x", "type", typ)}
	if title != "" {
		b.x.Append(stanza.New(nsData, "title").SetText(title))
	}
	b.x.Append(stanza.New(nsData, "field", "var", "FORM_TYPE", "type", "hidden").
		Append(stanza.New(nsData, "value").SetText(formType)))
	return b
}

// field adds a field; options are value, label pairs for list fields.
func (b *formBuilder) field(typ, v, label string, values []string, options ...string) *formBuilder {
	f := stanza.New(nsData, "field", "var", v)
	if typ != "" {
		f.Set("type", typ)
	}
	if label != "" {
		f.Set("label", label)
	}
	for _, val := range values {
		f.Append(stanza.New(nsData, "value").SetText(val))
	}
	for i := 0; i+1 < len(options); i += 2 {
		f.Append(stanza.New(nsData, "option", "label", options[i+1]).
			Append(stanza.New(nsData, "value").SetText(options[i])))
	}
	b.x.Append(f)
	return b
}
