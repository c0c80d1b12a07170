package privacy

import (
	"strconv"
	"strings"

	"github.com/xmppd/xmppd/crdt"
)

// The privacy document of a user (crdtstore kind "privacy") holds:
//
//   - "name/<list>": one element per list, present while the list exists
//     (a list emptied by incremental removes still exists);
//   - "list/<list>\x00<type>\x00<value>": one element per item, with the
//     fields "action" (allow, deny), "order" (decimal) and "kinds" (the
//     stanza kinds as a decimal bit set, see Kinds); a fall-through item's
//     value is its order, so that a list may hold several;
//   - "order/<list>\x00<order>": the index that keeps orders unique within
//     a list in O(1), its field "item" naming the item key's suffix;
//   - the document field "default": the default list's name ("" for none).
//
// NUL separates the parts: XML text never contains it, so list names and
// values cannot make two keys collide. One item is one element, so an
// incremental add or remove touches O(1) elements whatever the list's size.
const (
	fAction     = "action"
	fOrder      = "order"
	fKinds      = "kinds"
	fOrderItem  = "item"
	fDefault    = "default"
	pName       = "name/"
	pList       = "list/"
	pOrder      = "order/"
	valueAction = "deny"
)

func nameKey(list string) string { return pName + list }

func itemSuffix(it Item) string {
	v := it.Value
	if it.Type == TypeAll {
		v = strconv.FormatUint(uint64(it.Order), 10)
	}
	return it.Type + "\x00" + v
}

func itemKey(list, suffix string) string { return pList + list + "\x00" + suffix }

func orderKey(list string, order uint32) string {
	return pOrder + list + "\x00" + strconv.FormatUint(uint64(order), 10)
}

// listExists reports whether doc holds list.
func listExists(doc *crdt.Doc, list string) bool { return doc.Has(nameKey(list)) }

// listNames returns the names of the lists in doc, sorted.
func listNames(doc *crdt.Doc) []string {
	keys := doc.KeysWithPrefix(pName)
	for i, k := range keys {
		keys[i] = k[len(pName):]
	}
	return keys
}

// defaultList returns the default list's name, "" for none.
func defaultList(doc *crdt.Doc) string {
	v, _ := doc.DocField(fDefault)
	name := string(v)
	if name != "" && !listExists(doc, name) {
		return "" // removed concurrently on another node
	}
	return name
}

// readItem returns the item stored under key, false when absent.
func readItem(doc *crdt.Doc, key string) (Item, bool) {
	f, ok := doc.Get(key)
	if !ok {
		return Item{}, false
	}
	rest := key[strings.IndexByte(key, 0)+1:]
	typ, value, _ := strings.Cut(rest, "\x00")
	it := Item{Type: typ, Value: value, Deny: string(f[fAction]) == valueAction}
	if typ == TypeAll {
		it.Value = ""
	}
	o, _ := strconv.ParseUint(string(f[fOrder]), 10, 32)
	it.Order = uint32(o)
	k, _ := strconv.ParseUint(string(f[fKinds]), 10, 8)
	it.Kinds = Kinds(k)
	return it, true
}

// readList returns the items of list in doc, sorted by order.
func readList(doc *crdt.Doc, list string) []Item {
	var items []Item
	for _, key := range doc.KeysWithPrefix(pList + list + "\x00") {
		if it, ok := readItem(doc, key); ok {
			items = append(items, it)
		}
	}
	sortItems(items)
	return items
}

// putItem stores it in list, replacing an item of the same type and value
// (whose old version it returns). It fails with ok=false when another item
// of the list already has its order.
func putItem(doc *crdt.Doc, w *crdt.Writer, list string, it Item) (old Item, had, ok bool) {
	sfx := itemSuffix(it)
	if holder, taken := doc.Field(orderKey(list, it.Order), fOrderItem); taken && string(holder) != sfx {
		return Item{}, false, false
	}
	old, had = readItem(doc, itemKey(list, sfx))
	if had && old == it {
		return old, true, true
	}
	if had && old.Order != it.Order {
		doc.Remove(w, orderKey(list, old.Order))
	}
	writeItem(doc, w, list, it)
	return old, had, true
}

// deleteItem removes it from list.
func deleteItem(doc *crdt.Doc, w *crdt.Writer, list string, it Item) {
	doc.Remove(w, itemKey(list, itemSuffix(it)))
	doc.Remove(w, orderKey(list, it.Order))
}

// matching returns the items of list that r selects: O(1) lookups, one
// per item type r can name.
func matching(doc *crdt.Doc, list string, r removal) []Item {
	var out []Item
	try := func(typ, value string) {
		if value == "" {
			return
		}
		if it, ok := readItem(doc, itemKey(list, typ+"\x00"+value)); ok {
			out = append(out, it)
		}
	}
	if r.Type != "" {
		try(r.Type, r.Value)
		return out
	}
	try(TypeJID, r.JID)
	try(TypeGroup, r.Value)
	try(TypeSubscription, r.Value)
	return out
}

// replaceList makes list hold exactly items (which have unique orders):
// items already stored as given are left alone, the others removed or
// written.
func replaceList(doc *crdt.Doc, w *crdt.Writer, list string, items []Item) {
	want := make(map[string]Item, len(items))
	for _, it := range items {
		want[itemSuffix(it)] = it
	}
	kept := map[string]bool{}
	for _, it := range readList(doc, list) {
		sfx := itemSuffix(it)
		if n, ok := want[sfx]; ok && n == it {
			kept[sfx] = true
			continue
		}
		deleteItem(doc, w, list, it)
	}
	for _, it := range items {
		if !kept[itemSuffix(it)] {
			writeItem(doc, w, list, it)
		}
	}
	doc.Add(w, nameKey(list))
}

// writeItem stores every field of it and its order index entry.
func writeItem(doc *crdt.Doc, w *crdt.Writer, list string, it Item) {
	sfx := itemSuffix(it)
	key := itemKey(list, sfx)
	action := "allow"
	if it.Deny {
		action = valueAction
	}
	doc.Set(w, key, fAction, []byte(action))
	doc.Set(w, key, fOrder, []byte(strconv.FormatUint(uint64(it.Order), 10)))
	doc.Set(w, key, fKinds, []byte(strconv.FormatUint(uint64(it.Kinds), 10)))
	doc.Set(w, orderKey(list, it.Order), fOrderItem, []byte(sfx))
}

// removeList deletes list and its items.
func removeList(doc *crdt.Doc, w *crdt.Writer, list string) {
	for _, p := range []string{pList + list + "\x00", pOrder + list + "\x00"} {
		for _, key := range doc.KeysWithPrefix(p) {
			doc.Remove(w, key)
		}
	}
	doc.Remove(w, nameKey(list))
	if defaultList(doc) == list {
		doc.SetDoc(w, fDefault, nil)
	}
}
