package chat

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// CSAT (issue 14): once a chat has ended, its end user may rate it 1 to 5
// with an optional comment, once. The rating is stored with the chat
// (chat_ratings), shown to staff on the chat and counted in the reports.

// Rating is an end user's rating of their ended chat.
type Rating struct {
	ChatID    int64
	Rating    int
	Comment   string
	CreatedAt time.Time
}

// MaxRatingComment bounds a rating's comment, in runes.
const MaxRatingComment = 2000

// EventChatRated is logged when the end user rates the chat.
const EventChatRated = "chat.rated"

// RateChat stores the calling end user's rating of chat chatID, which must
// have ended. Rating again with the same rating and comment answers the
// stored one (created false): a retried request is harmless; another
// rating or comment is a conflict, as is rating a live chat.
func (s *Service) RateChat(ctx context.Context, chatID int64, rating int, comment string) (*Rating, bool, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, false, err
	}
	if c, _ := parley.CallerFrom(ctx); c.Role != parley.RoleEndUser {
		return nil, false, parley.Errorf(parley.EFORBIDDEN, "Only the chat's end user rates it.")
	}
	if rating < 1 || rating > 5 {
		return nil, false, parley.FieldError("rating", "must be 1 to 5")
	}
	comment = strings.TrimSpace(comment)
	if len([]rune(comment)) > MaxRatingComment {
		return nil, false, parley.FieldError("comment", "must be at most %d characters", MaxRatingComment)
	}
	if strings.ContainsRune(comment, 0) {
		return nil, false, parley.FieldError("comment", "must not contain NUL")
	}
	var out *Rating
	created := false
	err = s.write(ctx, cid, func(t *tx) error {
		c, _, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		if !Final(c.Status) {
			return parley.Errorf(parley.ECONFLICT, "Chat %d has not ended; it is rated once it has.", chatID)
		}
		old, err := getRating(ctx, t.Querier, cid, chatID)
		if err != nil {
			return err
		}
		if old != nil {
			if old.Rating != rating || old.Comment != comment {
				return parley.Errorf(parley.ECONFLICT, "Chat %d is already rated.", chatID)
			}
			out = old
			return nil
		}
		out = &Rating{ChatID: chatID, Rating: rating, Comment: comment, CreatedAt: t.now}
		if _, err := t.Exec(ctx, `INSERT INTO chat_ratings (chat_id, company_id, rating, comment, created_at) VALUES (?, ?, ?, ?, ?)`,
			chatID, cid, rating, comment, t.nowMS()); err != nil {
			return err
		}
		created = true
		return t.log(ctx, c.ID, c.UUID, EventChatRated, map[string]any{"rating": rating, "comment": comment})
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// ChatRating answers the rating of a chat the caller sees, nil if it has
// none.
func (s *Service) ChatRating(ctx context.Context, chatID int64) (*Rating, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out *Rating
	err = s.DB.Read(ctx, func(q store.Querier) error {
		if _, err := s.seenChat(ctx, q, cid, chatID); err != nil {
			return err
		}
		out, err = getRating(ctx, q, cid, chatID)
		return err
	})
	return out, err
}

func getRating(ctx context.Context, q store.Querier, cid, chatID int64) (*Rating, error) {
	r := &Rating{ChatID: chatID}
	var at int64
	err := q.QueryRow(ctx, `SELECT rating, comment, created_at FROM chat_ratings WHERE chat_id = ? AND company_id = ?`, chatID, cid).
		Scan(&r.Rating, &r.Comment, &at)
	if errors.Is(err, store.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	r.CreatedAt = ms(at)
	return r, nil
}
