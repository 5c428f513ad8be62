package demo

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Passwords keeps the demo users' passwords in a file of the data
// directory (mode 0600, beside the SQLite database that holds everything
// else), so that every run of "parley demo" can print working logins. Only
// the demo's own random passwords are ever written there.
type Passwords struct {
	path    string
	byLogin map[string]string
}

// LoadPasswords reads the file at path; a missing file is an empty one.
func LoadPasswords(path string) (*Passwords, error) {
	p := &Passwords{path: path, byLogin: map[string]string{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	} else if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &p.byLogin); err != nil {
		return nil, fmt.Errorf("demo: %s: %w", path, err)
	}
	return p, nil
}

// Path is where the passwords are kept.
func (p *Passwords) Path() string { return p.path }

// Get returns the password kept for login, or "".
func (p *Passwords) Get(login string) string { return p.byLogin[login] }

// New makes a random password for login and writes the file before
// returning it, so that a user created with it is never one whose password
// is lost.
func (p *Passwords) New(login string) (string, error) {
	pw := rand.Text() // 26 characters of base32: 130 bits
	p.byLogin[login] = pw
	return pw, p.save()
}

// save writes the file whole through a temporary file and a rename.
func (p *Passwords) save() error {
	b, err := json.MarshalIndent(p.byLogin, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o750); err != nil {
		return err
	}
	tmp := p.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.path)
}
