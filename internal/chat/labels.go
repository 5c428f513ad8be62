package chat

import (
	"context"
	"slices"
	"strings"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Labels are short tags operators put on chats ("billing", "vip"); the
// inbox filters on them. A chat's labels are set as a whole.

// Limits of labels.
const (
	MaxLabelsPerChat = 20
	MaxLabel         = 40 // runes
)

// validLabel trims and lower-cases a label and checks it.
func validLabel(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || strings.ContainsAny(s, "\x00\n\r\t,") {
		return "", parley.FieldError("labels", "a label is 1 to %d characters, without commas or line breaks", MaxLabel)
	}
	if len([]rune(s)) > MaxLabel {
		return "", parley.FieldError("labels", "a label is 1 to %d characters, without commas or line breaks", MaxLabel)
	}
	return s, nil
}

// SetLabels replaces the labels of a chat the caller sees and returns
// them sorted (labels are case folded; duplicates collapse).
func (s *Service) SetLabels(ctx context.Context, chatID int64, labels []string) ([]string, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var clean []string
	for _, l := range labels {
		v, err := validLabel(l)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(clean, v) {
			clean = append(clean, v)
		}
	}
	if len(clean) > MaxLabelsPerChat {
		return nil, parley.FieldError("labels", "at most %d labels per chat", MaxLabelsPerChat)
	}
	slices.Sort(clean)
	if clean == nil {
		clean = []string{}
	}
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		old, err := store.Collect(ctx, t.Querier, func(r store.Scanner) (l string, err error) {
			err = r.Scan(&l)
			return l, err
		}, `SELECT label FROM chat_labels WHERE chat_id = ? ORDER BY label`, c.ID)
		if err != nil {
			return err
		}
		if slices.Equal(old, clean) {
			return nil
		}
		if _, err := t.Exec(ctx, `DELETE FROM chat_labels WHERE chat_id = ?`, c.ID); err != nil {
			return err
		}
		for _, l := range clean {
			if _, err := t.Exec(ctx, `INSERT INTO chat_labels (chat_id, company_id, label, created_at) VALUES (?, ?, ?, ?)`, c.ID, t.cid, l, t.nowMS()); err != nil {
				return err
			}
		}
		return t.log(ctx, c.ID, c.UUID, EventChatUpdated, map[string]any{"labels": clean})
	})
	return clean, err
}

// LabelCount is a label in use and on how many chats.
type LabelCount struct {
	Label string
	Chats int
}

// MaxLabelList bounds the company's label list.
const MaxLabelList = 500

// Labels lists the labels used in the caller's company, most used first
// (the inbox's filter offers them; labels are not secret within a company).
func (s *Service) Labels(ctx context.Context) ([]LabelCount, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	out, err := store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (l LabelCount, err error) {
		err = r.Scan(&l.Label, &l.Chats)
		return l, err
	}, `SELECT label, COUNT(*) FROM chat_labels WHERE company_id = ? GROUP BY label ORDER BY COUNT(*) DESC, label LIMIT ?`, cid, MaxLabelList)
	if out == nil && err == nil {
		out = []LabelCount{}
	}
	return out, err
}
