package integration

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestFeaturesOfflineStorageToggle lists the features, restricts offline
// storage to alice at runtime with PUT /api/v1/features/offline_storage,
// checks on the wire that a message to offline carol now bounces while
// one to alice is stored and delivered at login, then reloads the file
// (which drops the runtime override) and checks that carol's is stored
// again.
func TestFeaturesOfflineStorageToggle(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{users: map[string]string{"alice": "pw", "bob": "pw", "carol": "pw"}})
	tok := s.adminToken()

	type feature struct {
		Name       string   `json:"name"`
		Enabled    bool     `json:"enabled"`
		Users      []string `json:"users"`
		Percent    int      `json:"percent"`
		Overridden bool     `json:"overridden"`
		Configured bool     `json:"configured"`
		State      string   `json:"state"`
		Gates      string   `json:"gates"`
	}
	list := func() map[string]feature {
		t.Helper()
		code, body := apiCall(t, s, tok, "GET", "/api/v1/features", "")
		if code != 200 {
			t.Fatalf("GET features: %d %s", code, body)
		}
		var resp struct{ Features []feature }
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			t.Fatal(err)
		}
		m := map[string]feature{}
		for _, f := range resp.Features {
			m[f.Name] = f
		}
		return m
	}
	if f := list()["offline_storage"]; f.Configured || f.State != "everyone" || f.Gates == "" {
		t.Errorf("offline_storage before any change: %+v", f)
	}
	if got := s.slixResults("features_offline.py", "open"); !slices.Equal(got, []string{"alice stored", "carol stored"}) {
		t.Errorf("default: %q", got)
	}

	for _, tc := range []struct {
		token, path, body string
		code              int
	}{
		{"wrong", "/api/v1/features/offline_storage", `{"enabled": false}`, 401},
		{tok, "/api/v1/features/offline_storage", `{"percent": 300}`, 400},
		{tok, "/api/v1/features/offline_storage", `{"users": ["not a jid@@"]}`, 400},
		{tok, "/api/v1/features/offline_storage", `{"enabled": "no"}`, 400},
		{tok, "/api/v1/features/offline_storage", `{"colour": "red"}`, 400},
		{tok, "/api/v1/features/offline_storage", `{}`, 400},
		{tok, "/api/v1/features/Bad-Name", `{"enabled": true}`, 400},
	} {
		if code, body := apiCall(t, s, tc.token, "PUT", tc.path, tc.body); code != tc.code {
			t.Errorf("PUT %s %s: %d %s, want %d", tc.path, tc.body, code, body, tc.code)
		}
	}
	code, body := apiCall(t, s, tok, "PUT", "/api/v1/features/offline_storage", `{"enabled": false, "users": ["alice@localhost"]}`)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if f := list()["offline_storage"]; !f.Configured || !f.Overridden || f.State != "rollout" || !slices.Equal(f.Users, []string{"alice@localhost"}) {
		t.Errorf("offline_storage after PUT: %+v", f)
	}
	if got := s.slixResults("features_offline.py", "gated"); !slices.Equal(got, []string{"alice stored", "carol service-unavailable"}) {
		t.Errorf("restricted to alice: %q", got)
	}
	// A partial PUT keeps the other fields.
	if code, body := apiCall(t, s, tok, "PUT", "/api/v1/features/offline_storage", `{"percent": 0}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if f := list()["offline_storage"]; !slices.Equal(f.Users, []string{"alice@localhost"}) {
		t.Errorf("users lost by a partial PUT: %+v", f)
	}

	// The override lasts until the configuration is reloaded.
	if code, body := apiCall(t, s, tok, "POST", "/api/v1/toggles/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if f := list()["offline_storage"]; f.Configured || f.Overridden {
		t.Errorf("offline_storage after reload: %+v", f)
	}
	if got := s.slixResults("features_offline.py", "reloaded"); !slices.Equal(got, []string{"alice stored", "carol stored"}) {
		t.Errorf("after reload: %q", got)
	}
}
