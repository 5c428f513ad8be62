package demo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/demo"
	"github.com/parley-cc/parley/internal/testenv"
)

func services(env *testenv.Env) demo.Services {
	return demo.Services{Companies: env.Companies, Users: env.Users, Agents: env.Agents, Chats: env.Chats, Dialogs: env.Dialogs}
}

// TestEnsureIsIdempotent: the first run makes the whole tenant; a second
// run (a new process: the passwords read back from the file) makes
// nothing and finds the same objects; the printed passwords log in.
func TestEnsureIsIdempotent(t *testing.T) {
	testenv.ForEachDB(t, func(t *testing.T, dsn string) {
		env := testenv.StartWith(t, dsn, testenv.Options{Manual: true})
		ctx := context.Background()
		file := filepath.Join(t.TempDir(), "demo-passwords.json")
		pw, err := demo.LoadPasswords(file)
		if err != nil {
			t.Fatal(err)
		}
		first, err := demo.Ensure(ctx, services(env), pw)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"company Parley Demo", "user demo-admin", "user demo-op1", "user demo-op2", "user demo-api", "agent Shop assistant",
			"agent Payment reminder", "menu Shop", "project Demo shop", "dialogs Demo calls", "2 chats in the queue"}
		if got := strings.Join(first.Created, "|"); got != strings.Join(want, "|") {
			t.Fatalf("first run created %q, want %q", first.Created, want)
		}
		pw2, err := demo.LoadPasswords(file)
		if err != nil {
			t.Fatal(err)
		}
		second, err := demo.Ensure(ctx, services(env), pw2)
		if err != nil {
			t.Fatal(err)
		}
		if len(second.Created) != 0 {
			t.Fatalf("second run created %q", second.Created)
		}
		if first.CompanyUUID != second.CompanyUUID || first.VoiceAgentUUID != second.VoiceAgentUUID || first.ShopAgentUUID != second.ShopAgentUUID ||
			first.MenuID != second.MenuID || first.ProjectUUID != second.ProjectUUID {
			t.Fatalf("second run found other objects: %+v vs %+v", first, second)
		}
		for i, l := range second.Logins {
			if l.Password == "" || l.Password != first.Logins[i].Password || l.Created {
				t.Errorf("login %s on the second run: %+v (first %+v)", l.Login, l, first.Logins[i])
			}
			if _, err := env.Users.Authenticate(ctx, l.Login, l.Password); err != nil {
				t.Errorf("%s cannot log in with its printed password: %v", l.Login, err)
			}
		}

		// Counted through the services as the demo company's admin.
		co, err := env.Companies.ByName(ctx, demo.CompanyName)
		if err != nil {
			t.Fatal(err)
		}
		actx := parley.WithCaller(ctx, parley.Caller{CompanyID: co.ID, CompanyUUID: co.UUID, Role: parley.RoleAdmin})
		users, _ := env.Users.ListUsers(ctx, co.ID)
		agents, _ := env.Agents.List(actx, 100, 0)
		menus, _ := env.Chats.ListMenus(actx)
		projects, _ := env.Chats.ListProjects(actx)
		sels, _ := env.Dialogs.Selections(actx, second.VoiceAgentUUID, nil)
		queued, _ := env.Chats.ListChats(actx, chat.ChatFilter{Status: chat.StatusQueued})
		slots, _ := env.Agents.ListTimeSlots(actx, second.VoiceAgentUUID)
		if len(users) != 4 || len(agents) != 2 || len(menus) != 1 || len(projects) != 1 || len(sels) != 1 || len(queued) != 2 || len(slots) != 0 {
			t.Fatalf("after two runs: %d users, %d agents, %d menus, %d projects, %d selections, %d queued chats, %d time slots",
				len(users), len(agents), len(menus), len(projects), len(sels), len(queued), len(slots))
		}
		if m := menus[0]; len(m.OperatorIDs) != 2 || m.AgentID == nil {
			t.Errorf("the demo menu: %+v; want the shop assistant and both operators", m)
		}

		// Once the waiting chats have ended, a run fills the queue again.
		for _, c := range queued {
			if _, err := env.Chats.UpdateChatStatus(actx, c.ID, chat.StatusFinished, nil); err != nil {
				t.Fatal(err)
			}
		}
		third, err := demo.Ensure(ctx, services(env), pw2)
		if err != nil {
			t.Fatal(err)
		}
		if len(third.Created) != 1 || third.Created[0] != "2 chats in the queue" {
			t.Fatalf("third run created %q; want the queue filled again only", third.Created)
		}
	})
}

// TestEnsureNeverTakesOverALogin: a demo login that another company owns
// stops the demo; that user is left as it was.
func TestEnsureNeverTakesOverALogin(t *testing.T) {
	env := testenv.StartWith(t, testenv.SQLiteDSN(t), testenv.Options{Manual: true})
	ctx := context.Background()
	co, err := env.Companies.Create(ctx, "Someone else", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Users.CreateUser(ctx, co.ID, "demo-op1", "their-own-password", parley.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	pw, _ := demo.LoadPasswords(filepath.Join(t.TempDir(), "p.json"))
	if _, err := demo.Ensure(ctx, services(env), pw); err == nil || !strings.Contains(err.Error(), "demo-op1") {
		t.Fatalf("Ensure with demo-op1 taken: %v", err)
	}
	if _, err := env.Users.Authenticate(ctx, "demo-op1", "their-own-password"); err != nil {
		t.Fatalf("the other company's user changed: %v", err)
	}
}
