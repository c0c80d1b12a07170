package roster

import "testing"

// The nine states of RFC 6121 Appendix A.1, by the names its tables use.
var (
	sNone        = State{}
	sNonePO      = State{PendingOut: true}
	sNonePI      = State{PendingIn: true}
	sNonePOPI    = State{PendingOut: true, PendingIn: true}
	sTo          = State{To: true}
	sToPI        = State{To: true, PendingIn: true}
	sFrom        = State{From: true}
	sFromPO      = State{From: true, PendingOut: true}
	sBoth        = State{To: true, From: true}
	appendixRows = []struct {
		name string
		s    State
	}{
		{"None", sNone}, {"None + Pending Out", sNonePO}, {"None + Pending In", sNonePI},
		{"None + Pending Out/In", sNonePOPI}, {"To", sTo}, {"To + Pending In", sToPI},
		{"From", sFrom}, {"From + Pending Out", sFromPO}, {"Both", sBoth},
	}
)

func TestOutboundTransitions(t *testing.T) {
	// Appendix A.2: the new state for each existing state, per stanza.
	tests := []struct {
		name  string
		apply func(State) (State, bool)
		want  []State // in appendixRows order
		route []bool
	}{
		{
			name: "subscribe (A.2.1)", apply: State.OutSubscribe,
			want:  []State{sNonePO, sNonePO, sNonePOPI, sNonePOPI, sTo, sToPI, sFromPO, sFromPO, sBoth},
			route: []bool{true, true, true, true, true, true, true, true, true},
		},
		{
			name: "unsubscribe (A.2.2)", apply: State.OutUnsubscribe,
			want:  []State{sNone, sNone, sNonePI, sNonePI, sNone, sNonePI, sFrom, sFrom, sFrom},
			route: []bool{true, true, true, true, true, true, true, true, true},
		},
		{
			name: "subscribed (A.2.3)", apply: State.OutSubscribed,
			want: []State{{Approved: true}, {PendingOut: true, Approved: true}, sFrom, sFromPO,
				{To: true, Approved: true}, sBoth, sFrom, sFromPO, sBoth},
			route: []bool{false, false, true, true, false, true, false, false, false},
		},
		{
			name: "unsubscribed (A.2.4)", apply: State.OutUnsubscribed,
			want:  []State{sNone, sNonePO, sNone, sNonePO, sTo, sTo, sNone, sNonePO, sTo},
			route: []bool{false, false, true, true, false, true, true, true, true},
		},
	}
	for _, tt := range tests {
		for i, row := range appendixRows {
			got, route := tt.apply(row.s)
			if got != tt.want[i] || route != tt.route[i] {
				t.Errorf("%s from %s = %+v, route %v; want %+v, route %v", tt.name, row.name, got, route, tt.want[i], tt.route[i])
			}
		}
	}
}

func TestInboundTransitions(t *testing.T) {
	// Appendix A.3: deliver? and the new state for each existing state.
	tests := []struct {
		name    string
		apply   func(State) (State, bool)
		want    []State
		deliver []bool
	}{
		{
			name: "unsubscribe (A.3.2)", apply: State.InUnsubscribe,
			want:    []State{sNone, sNonePO, sNone, sNonePO, sTo, sTo, sNone, sNonePO, sTo},
			deliver: []bool{false, false, true, true, false, true, true, true, true},
		},
		{
			name: "subscribed (A.3.3)", apply: State.InSubscribed,
			want:    []State{sNone, sTo, sNonePI, sToPI, sTo, sToPI, sFrom, sBoth, sBoth},
			deliver: []bool{false, true, false, true, false, false, false, true, false},
		},
		{
			name: "unsubscribed (A.3.4)", apply: State.InUnsubscribed,
			want:    []State{sNone, sNone, sNonePI, sNonePI, sNone, sNonePI, sFrom, sFrom, sFrom},
			deliver: []bool{false, true, false, true, true, true, false, true, true},
		},
	}
	for _, tt := range tests {
		for i, row := range appendixRows {
			got, deliver := tt.apply(row.s)
			if got != tt.want[i] || deliver != tt.deliver[i] {
				t.Errorf("%s at %s = %+v, deliver %v; want %+v, deliver %v", tt.name, row.name, got, deliver, tt.want[i], tt.deliver[i])
			}
		}
	}
}

func TestInboundSubscribe(t *testing.T) {
	// A.3.1, plus pre-approval (§3.4): a subscriber already approved is
	// answered by the server and never bothers the client.
	want := []struct {
		s                  State
		deliver, autoReply bool
	}{
		{sNonePI, true, false}, {sNonePOPI, true, false}, {sNonePI, false, false}, {sNonePOPI, false, false},
		{sToPI, true, false}, {sToPI, false, false}, {sFrom, false, true}, {sFromPO, false, true}, {sBoth, false, true},
	}
	for i, row := range appendixRows {
		got, deliver, auto := row.s.InSubscribe()
		if got != want[i].s || deliver != want[i].deliver || auto != want[i].autoReply {
			t.Errorf("subscribe at %s = %+v, deliver %v, auto %v; want %+v, %v, %v",
				row.name, got, deliver, auto, want[i].s, want[i].deliver, want[i].autoReply)
		}
	}
	tests := []struct {
		name string
		s    State
		want State
	}{
		{"pre-approved none", State{Approved: true}, sFrom},
		{"pre-approved pending out", State{PendingOut: true, Approved: true}, sFromPO},
		{"pre-approved to", State{To: true, Approved: true}, sBoth},
	}
	for _, tt := range tests {
		got, deliver, auto := tt.s.InSubscribe()
		if got != tt.want || deliver || !auto {
			t.Errorf("%s: subscribe = %+v, deliver %v, auto %v; want %+v, false, true", tt.name, got, deliver, auto, tt.want)
		}
	}
	if got, route := (State{Approved: true}).OutUnsubscribed(); got != sNone || route {
		t.Errorf("unsubscribed cancelling a pre-approval = %+v, route %v; want none, no route", got, route)
	}
}

func TestSubscriptionAttribute(t *testing.T) {
	for _, tt := range []struct {
		s    State
		want string
	}{{sNone, "none"}, {sNonePOPI, "none"}, {sToPI, "to"}, {sFromPO, "from"}, {sBoth, "both"}} {
		if got := tt.s.Subscription(); got != tt.want {
			t.Errorf("%+v.Subscription() = %q, want %q", tt.s, got, tt.want)
		}
		var back State
		back.parseSubscription(tt.want)
		if back.To != tt.s.To || back.From != tt.s.From {
			t.Errorf("parseSubscription(%q) = %+v", tt.want, back)
		}
	}
}
