package v1_test

import (
	"fmt"
	"testing"

	"github.com/parley-cc/parley/internal/api/apitest"
	"github.com/parley-cc/parley/internal/testenv"
)

type userOut struct {
	UserID     int64  `json:"user_id"`
	Login      string `json:"login"`
	Role       string `json:"role"`
	OperatorID *int64 `json:"operator_id"`
}

// usersContract produces every documented status of the user methods in
// TestOpenAPIResponses' flow.
func usersContract(t *testing.T, rec *apitest.Recorder, tok, opTok string) {
	t.Helper()
	var u userOut
	decode(t, rec, call{"POST", "/v1/users", tok, map[string]any{"login": "acme-nina", "password": "long enough", "role": "admin"}, 201}, &u)
	var list struct {
		Users []userOut `json:"users"`
	}
	decode(t, rec, call{"GET", "/v1/users", tok, nil, 200}, &list)
	self := int64(0)
	for _, x := range list.Users {
		if x.Login == "acme-api" {
			self = x.UserID
		}
	}
	path := fmt.Sprintf("/v1/users/%d", u.UserID)
	run(t, rec, []call{
		{"GET", "/v1/users", opTok, nil, 403},
		{"POST", "/v1/users", opTok, map[string]any{"login": "acme-mine", "password": "long enough", "role": "admin"}, 403},
		{"POST", "/v1/users", tok, map[string]any{"login": "acme-nina", "password": "long enough", "role": "api"}, 409},
		{"POST", "/v1/users", tok, map[string]any{"login": "acme x", "password": "long enough", "role": "api"}, 400},
		{"POST", "/v1/users", tok, map[string]any{"login": "acme-short", "password": "short", "role": "api"}, 400},
		{"POST", "/v1/users", tok, map[string]any{"login": "acme-role", "password": "long enough", "role": "root"}, 400},
		{"PATCH", path, tok, map[string]any{"role": "operator"}, 200},
		{"PATCH", path, tok, map[string]any{"role": "king"}, 400},
		{"PATCH", path, opTok, map[string]any{"role": "admin"}, 403},
		{"PATCH", fmt.Sprintf("/v1/users/%d", self), tok, map[string]any{"role": "operator"}, 403},
		{"PATCH", "/v1/users/999999", tok, map[string]any{"role": "api"}, 404},
		{"POST", path + "/password", tok, map[string]any{}, 200},
		{"POST", path + "/password", tok, map[string]any{"password": "chosen password"}, 200},
		{"POST", path + "/password", tok, map[string]any{"password": "short"}, 400},
		{"POST", path + "/password", opTok, map[string]any{}, 403},
		{"POST", "/v1/users/999999/password", tok, map[string]any{}, 404},
	})
	// Nina is an operator now; moved to api, her operator stays offline.
	var nina userOut
	decode(t, rec, call{"PATCH", path, tok, map[string]any{"role": "operator"}, 200}, &nina)
	if nina.OperatorID == nil {
		t.Fatalf("an operator user without an operator: %+v", nina)
	}
	run(t, rec, []call{
		{"PATCH", path, tok, map[string]any{"role": "api"}, 200},
		{"PATCH", fmt.Sprintf("/v1/operators/%d", *nina.OperatorID), tok, map[string]any{"status": "online"}, 409},
	})
}

// TestManageUsers: an admin of one company lists, creates, re-roles and
// resets the users of that company only; the generated password logs in; an operator may do none of it.
func TestManageUsers(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.Start(t, dsn)
		a, b := env.NewTenant(t, "A"), env.NewTenant(t, "B")
		r := env.Do(t, "POST", "/v1/users", a.Token, map[string]any{"login": "a-olga", "password": "first password", "role": "operator"})
		if r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		var olga userOut
		r.JSON(t, &olga)
		if olga.OperatorID == nil || olga.Role != "operator" {
			t.Fatalf("an operator user without an operator: %+v", olga)
		}
		var list struct {
			Users []userOut `json:"users"`
		}
		env.Do(t, "GET", "/v1/users", b.Token, nil).JSON(t, &list)
		for _, u := range list.Users {
			if u.Login == "a-olga" || u.Login == a.Login {
				t.Fatalf("B sees A's user %+v", u)
			}
		}
		path := fmt.Sprintf("/v1/users/%d", olga.UserID)
		for _, c := range []struct {
			method, path, token string
			body                any
			want                int
		}{
			{"PATCH", path, b.Token, map[string]any{"role": "admin"}, 404},
			{"POST", path + "/password", b.Token, map[string]any{}, 404},
			{"PATCH", path, a.OperatorToken, map[string]any{"role": "admin"}, 403},
			{"POST", path + "/password", a.OperatorToken, map[string]any{}, 403},
			{"GET", "/v1/users", a.OperatorToken, nil, 403},
		} {
			if r := env.Do(t, c.method, c.path, c.token, c.body); r.Status != c.want {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.want)
			}
		}
		var reset struct {
			Password *string `json:"password"`
		}
		r = env.Do(t, "POST", path+"/password", a.Token, map[string]any{})
		if r.Status != 200 || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("reset: %d %v %s", r.Status, r.Header, r.Body)
		}
		r.JSON(t, &reset)
		if reset.Password == nil || len(*reset.Password) != 16 {
			t.Fatalf("no generated password: %s", r.Body)
		}
		if tok, _ := env.Login(t, "a-olga", *reset.Password); tok == "" {
			t.Fatal("the generated password does not log in")
		}
		r = env.Do(t, "PATCH", path, a.Token, map[string]any{"role": "admin"})
		if r.Status != 200 {
			t.Fatalf("role: %d %s", r.Status, r.Body)
		}
		env.Do(t, "GET", "/v1/users", a.Token, nil).JSON(t, &list)
		found := false
		for _, u := range list.Users {
			found = found || (u.Login == "a-olga" && u.Role == "admin")
		}
		if !found {
			t.Fatalf("a-olga is not an admin now: %+v", list)
		}
	})
}
