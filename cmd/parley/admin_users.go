package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/parley-cc/parley/internal/server"
)

// listUsers is "parley admin list-users": the logins there are, so that a
// forgotten one can be found (and its password reset).
func listUsers(ctx context.Context, spec adminCommand, args []string, stdout, stderr io.Writer) error {
	cfg := server.Config{}
	c := newCommand("admin "+spec.name, spec.synopsis, spec.about, stdout, stderr)
	commonFlags(c.FlagSet, &cfg)
	companyUUID := c.String("company", "", "company UUID (default: every company)")
	if err := c.parse(args); err != nil {
		return err
	}
	srv, err := openForAdmin(ctx, c.FlagSet, cfg)
	if err != nil {
		return err
	}
	defer srv.DB.Close()
	var companyID int64
	if *companyUUID != "" {
		co, err := srv.Companies.ByUUID(ctx, *companyUUID)
		if err != nil {
			return describe(err)
		}
		companyID = co.ID
	}
	users, err := srv.Users.ListUsers(ctx, companyID)
	if err != nil {
		return describe(err)
	}
	type user struct {
		Login       string `json:"login"`
		Role        string `json:"role"`
		UserUUID    string `json:"user_uuid"`
		CompanyUUID string `json:"company_uuid"`
		CompanyName string `json:"company_name"`
		OperatorID  *int64 `json:"operator_id"`
	}
	out := struct {
		Users []user `json:"users"`
	}{Users: make([]user, len(users))}
	for i, u := range users {
		out.Users[i] = user{Login: u.Login, Role: u.Role, UserUUID: u.UUID, CompanyUUID: u.CompanyUUID, CompanyName: u.CompanyName, OperatorID: u.OperatorID}
	}
	return json.NewEncoder(stdout).Encode(out)
}

// resetPassword is "parley admin reset-password".
func resetPassword(ctx context.Context, spec adminCommand, args []string, stdout, stderr io.Writer) error {
	cfg := server.Config{}
	c := newCommand("admin "+spec.name, spec.synopsis, spec.about, stdout, stderr)
	commonFlags(c.FlagSet, &cfg)
	login := c.String("login", "", "the user's login")
	password := c.String("password", "", "the new password (8 to 256 characters)")
	if err := c.parse(args); err != nil {
		return err
	}
	srv, err := openForAdmin(ctx, c.FlagSet, cfg)
	if err != nil {
		return err
	}
	defer srv.DB.Close()
	u, err := srv.Users.ResetPassword(ctx, *login, *password)
	if err != nil {
		return describe(err)
	}
	return json.NewEncoder(stdout).Encode(map[string]any{"user_uuid": u.UUID, "login": u.Login})
}
