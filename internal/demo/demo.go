// Package demo creates the demo tenant of "parley demo": a company with an
// admin, two operators and an API user, a chat menu answered by a shop
// assistant (a chat-suited virtual agent) in front of the operators, a
// project for the widget's demo page, a voice agent with a payment
// reminder script and no time slots, a few dialogs on the sim trunk (so
// that statistics and a call page have content within a minute) and two
// chats waiting in the operators' queue.
//
// Everything goes through the domain services, as an admin of the demo
// company would, and Ensure is idempotent: each object is looked up by
// name before it is made, so running it again creates nothing twice.
package demo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/agent"
	"github.com/parley-cc/parley/internal/auth"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/company"
	"github.com/parley-cc/parley/internal/outbound"
)

// Names of the demo's objects: Ensure finds them by these.
const (
	CompanyName   = "Parley Demo"
	ShopAgentName = "Shop assistant"
	VoiceName     = "Payment reminder"
	MenuName      = "Shop"
	ProjectName   = "Demo shop"
	SelectionName = "Demo calls"
)

// The demo's users: an admin (the supervisor), two operators and an API
// user, in the order they are printed.
var Users = []struct{ Login, Role, Name string }{
	{"demo-admin", parley.RoleAdmin, ""},
	{"demo-op1", parley.RoleOperator, "Olga"},
	{"demo-op2", parley.RoleOperator, "Oscar"},
	{"demo-api", parley.RoleAPI, ""},
}

// Services are the domain services the demo works through.
type Services struct {
	Companies *company.Service
	Users     *auth.UserService
	Agents    *agent.Service
	Chats     *chat.Service
	Dialogs   *outbound.Service
}

// Login is one demo user. Password is empty when it is not known: the
// user existed before and its password is not in the password file.
type Login struct {
	Login, Role, Password string
	Created               bool
}

// Tenant is what Ensure made or found.
type Tenant struct {
	CompanyUUID    string
	Logins         []Login
	ShopAgentUUID  string
	VoiceAgentUUID string
	MenuID         int64
	ProjectUUID    string
	// BulkUUID is the demo dialogs' bulk, when this run uploaded them.
	BulkUUID string
	// Created lists what this run created ("company", "user demo-op1",
	// ...): nothing on a second run.
	Created []string
}

// Ensure makes the demo tenant, or finds it and makes what is missing.
// Passwords of the users it creates come from passwords (read before and
// written, with new ones added, before each user is created, so that a
// crash never leaves a user whose password nobody knows).
func Ensure(ctx context.Context, svc Services, passwords *Passwords) (*Tenant, error) {
	t := &Tenant{}
	co, err := svc.Companies.ByName(ctx, CompanyName)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		co, err = svc.Companies.Create(ctx, CompanyName, "UTC")
		t.created("company " + CompanyName)
	}
	if err != nil {
		return nil, fmt.Errorf("demo company: %w", err)
	}
	t.CompanyUUID = co.UUID
	ctx = parley.WithCaller(ctx, parley.Caller{CompanyID: co.ID, CompanyUUID: co.UUID, Role: parley.RoleAdmin})

	operators, err := t.ensureUsers(ctx, svc, co.ID, passwords)
	if err != nil {
		return nil, err
	}
	shop, err := t.ensureAgent(ctx, svc, ShopAgentName, "Answers the demo shop's chats first.", shopScript, nil, nil)
	if err != nil {
		return nil, err
	}
	t.ShopAgentUUID = shop.UUID
	voice, err := t.ensureAgent(ctx, svc, VoiceName, "Calls customers about their balance.", reminderScript,
		[]agent.NewEntity{{Name: "msisdn"}, {Name: "name", Synthesis: true}, {Name: "debt"}},
		[]agent.NewEntity{{Name: "will_pay", EntityType: "boolean"}})
	if err != nil {
		return nil, err
	}
	t.VoiceAgentUUID = voice.UUID
	menu, err := t.ensureMenu(ctx, svc, shop.UUID, operators)
	if err != nil {
		return nil, err
	}
	t.MenuID = menu.ID
	project, err := t.ensureProject(ctx, svc, menu.ID)
	if err != nil {
		return nil, err
	}
	t.ProjectUUID = project.UUID
	if err := t.ensureDialogs(ctx, svc, voice.UUID); err != nil {
		return nil, err
	}
	if err := t.ensureChats(ctx, svc, menu.ID, project.ID); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tenant) created(what string) { t.Created = append(t.Created, what) }

// ensureUsers makes the demo users that are missing and returns the
// operators' ids. A login taken by another company is an error: the demo
// never takes over somebody else's user.
func (t *Tenant) ensureUsers(ctx context.Context, svc Services, companyID int64, passwords *Passwords) ([]int64, error) {
	var operators []int64
	for _, du := range Users {
		u, err := svc.Users.UserByLogin(ctx, du.Login)
		l := Login{Login: du.Login, Role: du.Role, Password: passwords.Get(du.Login)}
		switch {
		case parley.ErrorCode(err) == parley.ENOTFOUND:
			if l.Password == "" {
				if l.Password, err = passwords.New(du.Login); err != nil {
					return nil, err
				}
			}
			if u, err = svc.Users.CreateUser(ctx, companyID, du.Login, l.Password, du.Role); err != nil {
				return nil, fmt.Errorf("demo user %s: %w", du.Login, err)
			}
			l.Created = true
			t.created("user " + du.Login)
			if u.OperatorID != nil && du.Name != "" {
				name := du.Name
				if _, err := svc.Chats.UpdateOperator(ctx, *u.OperatorID, chat.OperatorUpdate{Name: &name}); err != nil {
					return nil, fmt.Errorf("demo operator %s: %w", du.Login, err)
				}
			}
		case err != nil:
			return nil, fmt.Errorf("demo user %s: %w", du.Login, err)
		case u.CompanyID != companyID:
			return nil, fmt.Errorf("demo user %s: the login belongs to another company", du.Login)
		}
		if u.OperatorID != nil {
			operators = append(operators, *u.OperatorID)
		}
		t.Logins = append(t.Logins, l)
	}
	return operators, nil
}

// ensureAgent finds the agent by name, or creates it with its script and
// entities. An agent found is left as it is: the demo's user may have
// changed it.
func (t *Tenant) ensureAgent(ctx context.Context, svc Services, name, description, script string, initial, output []agent.NewEntity) (*agent.Agent, error) {
	agents, err := svc.Agents.List(ctx, 1000, 0)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		if a.Name == name {
			return a, nil
		}
	}
	a, err := svc.Agents.Create(ctx, agent.NewAgent{Name: name, Description: description, Timezone: "UTC", Language: "en-US"})
	if err != nil {
		return nil, fmt.Errorf("demo agent %s: %w", name, err)
	}
	t.created("agent " + name)
	// The sim trunk speaks with espeak-ng; a demo retries a missed call
	// after two minutes, twice.
	delay, recalls, tts := "00:02", 2, "en@espeak"
	if _, err := svc.Agents.UpdateSettings(ctx, a.UUID, agent.SettingsUpdate{Delay: &delay, RecallCount: &recalls, TTS: &tts}); err != nil {
		return nil, fmt.Errorf("demo agent %s: %w", name, err)
	}
	if _, err := svc.Agents.PutScript(ctx, a.UUID, "main", script); err != nil {
		return nil, fmt.Errorf("demo agent %s: script: %w", name, err)
	}
	if len(initial) > 0 {
		if _, err := svc.Agents.BulkCreateEntities(ctx, agent.Initial, a.UUID, initial); err != nil {
			return nil, fmt.Errorf("demo agent %s: %w", name, err)
		}
	}
	if len(output) > 0 {
		if _, err := svc.Agents.BulkCreateEntities(ctx, agent.Output, a.UUID, output); err != nil {
			return nil, fmt.Errorf("demo agent %s: %w", name, err)
		}
	}
	return a, nil
}

func (t *Tenant) ensureMenu(ctx context.Context, svc Services, agentUUID string, operators []int64) (*chat.Menu, error) {
	menus, err := svc.Chats.ListMenus(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range menus {
		if m.Name == MenuName {
			return m, nil
		}
	}
	m, err := svc.Chats.CreateMenu(ctx, chat.NewMenu{Name: MenuName, AgentUUID: agentUUID, OperatorIDs: operators})
	if err != nil {
		return nil, fmt.Errorf("demo menu: %w", err)
	}
	t.created("menu " + MenuName)
	return m, nil
}

func (t *Tenant) ensureProject(ctx context.Context, svc Services, menuID int64) (*chat.Project, error) {
	projects, err := svc.Chats.ListProjects(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		if p.Name == ProjectName {
			return p, nil
		}
	}
	p, err := svc.Chats.CreateProjectWithMenu(ctx, ProjectName, menuID)
	if err != nil {
		return nil, fmt.Errorf("demo project: %w", err)
	}
	t.created("project " + ProjectName)
	return p, nil
}

// demoDialogs are the calls the demo places on the sim trunk: answers that
// fill will_pay either way, a busy line and an unanswered call that wait
// for their retry, so that the queue has something to explain.
var demoDialogs = []map[string]any{
	{"msisdn": "+15550100001", "name": "Ann", "debt": "120", "sim_say": []string{"yes, I will pay today"}},
	{"msisdn": "+15550100002", "name": "Boris", "debt": "75", "sim_say": []string{"no, not this week"}},
	{"msisdn": "+15550100003", "name": "Carla", "debt": "240", "sim_say": []string{"yes"}},
	{"msisdn": "+15550100004", "name": "Dmitri", "debt": "60", "sim_answer": "busy"},
	{"msisdn": "+15550100005", "name": "Eve", "debt": "310", "sim_answer": "no_answer"},
}

// ensureDialogs uploads the demo dialogs once: their selection is the
// marker, made in the upload's own transaction.
func (t *Tenant) ensureDialogs(ctx context.Context, svc Services, agentUUID string) error {
	sels, err := svc.Dialogs.Selections(ctx, agentUUID, nil)
	if err != nil {
		return err
	}
	for _, s := range sels {
		if s.Name == SelectionName {
			return nil
		}
	}
	body, err := json.Marshal(demoDialogs)
	if err != nil {
		return err
	}
	if t.BulkUUID, _, err = svc.Dialogs.StartImport(ctx, agentUUID, outbound.UploadOptions{WithSelection: true, SelectionName: SelectionName}, body); err != nil {
		return fmt.Errorf("demo dialogs: %w", err)
	}
	t.created("dialogs " + SelectionName)
	return nil
}

// demoChats wait in the operators' queue: each went through the shop
// assistant, whose turns come along as the chat's transcript, and asked
// for a person.
var demoChats = []struct {
	endUser chat.NewEndUser
	turns   []chat.Turn
}{
	{chat.NewEndUser{Identifier: "demo-visitor-anna", Name: "Anna", Email: "anna@example.com"}, []chat.Turn{
		{SenderType: chat.SenderVirtualAgent, Content: "Hi! I am the demo shop's assistant. Ask me about orders, delivery or returns; type human to talk to a person."},
		{SenderType: chat.SenderEndUser, Content: "Where is my order 1042? It has been a week."},
		{SenderType: chat.SenderVirtualAgent, Content: "Orders ship within two working days and you get a tracking link by email."},
		{SenderType: chat.SenderEndUser, Content: "I never got one. I want to talk to a human."},
		{SenderType: chat.SenderVirtualAgent, Content: "Connecting you to a person. Please wait a moment."},
	}},
	{chat.NewEndUser{Identifier: "demo-visitor-ben", Name: "Ben", Phone: "+15550100099"}, []chat.Turn{
		{SenderType: chat.SenderVirtualAgent, Content: "Hi! I am the demo shop's assistant. Ask me about orders, delivery or returns; type human to talk to a person."},
		{SenderType: chat.SenderEndUser, Content: "Can I return shoes I bought on sale?"},
		{SenderType: chat.SenderVirtualAgent, Content: "Returns are free within 30 days, sale items included."},
		{SenderType: chat.SenderEndUser, Content: "They were a gift. Human please."},
		{SenderType: chat.SenderVirtualAgent, Content: "Connecting you to a person. Please wait a moment."},
	}},
}

// ensureChats opens the demo chats unless the menu still has live chats:
// run again while they wait, it adds none; after they ended (finished, or
// timed out after PARLEY_CHAT_TIMEOUT), it fills the queue again.
func (t *Tenant) ensureChats(ctx context.Context, svc Services, menuID, projectID int64) error {
	for _, st := range []string{chat.StatusVA, chat.StatusQueued, chat.StatusAssigned} {
		live, err := svc.Chats.ListChats(ctx, chat.ChatFilter{Status: st, MenuID: menuID, Limit: 1})
		if err != nil {
			return err
		}
		if len(live) > 0 {
			return nil
		}
	}
	for _, dc := range demoChats {
		o, err := svc.Chats.OpenChat(ctx, chat.NewChat{EndUser: dc.endUser, ProjectID: projectID, MenuID: menuID, Transcript: dc.turns,
			Context: json.RawMessage(`{"source": "demo", "page": "/orders"}`)})
		if err != nil {
			return fmt.Errorf("demo chat: %w", err)
		}
		if _, err := svc.Chats.Escalate(ctx, o.Chat.ID, chat.EscalationInput{Reason: "customer_asked"}); err != nil {
			return fmt.Errorf("demo chat: %w", err)
		}
	}
	t.created(fmt.Sprintf("%d chats in the queue", len(demoChats)))
	return nil
}
