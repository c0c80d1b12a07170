package riak

import (
	"reflect"
	"unsafe"

	riakc "github.com/basho/riak-go-client"
)

// primeRoundRobin works around a bug in riak-go-client v1.7.0's default
// node manager. Its loop over the nodes stops when the round-robin index
// comes back to where it started; the index is 0 only before the first
// command and 1..len(nodes) ever after, so if no node can take the very
// first command (all down at start-up) the loop never ends and burns a
// core until a node comes back. Starting the index at 1, a value it takes
// anyway after the first command, removes that case; the choice of nodes
// is unchanged. The manager is not exported and cannot be replaced by one
// of ours (a NodeManager outside the package cannot execute on a node), so
// the index is set through reflection. It must run before the first
// command. It reports whether the field was found (false if the client's
// layout changes, leaving the bug in place).
func primeRoundRobin(c *riakc.Cluster) bool {
	nm := reflect.ValueOf(c).Elem().FieldByName("nodeManager")
	if !nm.IsValid() || nm.Kind() != reflect.Interface || nm.IsNil() {
		return false
	}
	p := nm.Elem()
	if p.Kind() != reflect.Pointer || p.Elem().Kind() != reflect.Struct {
		return false
	}
	idx := p.Elem().FieldByName("nodeIndex")
	if !idx.IsValid() || idx.Kind() != reflect.Int {
		return false
	}
	reflect.NewAt(idx.Type(), unsafe.Pointer(idx.UnsafeAddr())).Elem().SetInt(1)
	return true
}
