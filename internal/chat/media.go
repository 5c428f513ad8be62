package chat

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Media kinds.
const (
	MediaPhoto = "photo"
	MediaVideo = "video"
)

// Media is a photo or video attached to a chat; Key names it in the media
// store.
type Media struct {
	ID        int64
	ChatID    int64
	Kind      string
	Key       string
	MediaType string
	CreatedAt time.Time
}

// MaxMediaPerChat bounds the media of one chat.
const MaxMediaPerChat = 500

// MediaPrefix is where a chat's uploads live in the media store: a key
// handed out for one chat cannot be attached to another.
func MediaPrefix(companyID, chatID int64, kind string) string {
	return "chats/" + strconv.FormatInt(companyID, 10) + "/" + strconv.FormatInt(chatID, 10) + "/" + kind + "/"
}

// AttachMedia attaches uploaded objects to a chat and posts a message of
// the kind for each, in one transaction. Every key must lie under the
// chat's MediaPrefix; the caller checks that the objects exist.
func (s *Service) AttachMedia(ctx context.Context, chatID int64, kind string, keys, types []string, sender string) ([]*Media, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if kind != MediaPhoto && kind != MediaVideo {
		return nil, parley.FieldError("kind", "must be photo or video")
	}
	prefix := MediaPrefix(cid, chatID, kind)
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || strings.Contains(k, "..") {
			return nil, parley.FieldError(kind, "%q was not uploaded for this chat (keys start with %s)", parley.Clip(k), prefix)
		}
	}
	var out []*Media
	err = s.retry(ctx, func() error {
		out = nil
		return s.write(ctx, cid, func(q store.Querier, ch *changes) error {
			c, err := getChat(ctx, q, cid, chatID)
			if err != nil {
				return err
			}
			if Final(c.Status) {
				return parley.Errorf(parley.ECONFLICT, "Chat %d has ended; nothing can be attached.", chatID)
			}
			var n int
			if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM chat_media WHERE chat_id = ?`, chatID).Scan(&n); err != nil {
				return err
			}
			if n+len(keys) > MaxMediaPerChat {
				return parley.Errorf(parley.ETOOLARGE, "A chat holds at most %d photos and videos.", MaxMediaPerChat)
			}
			now := time.Now().UnixMilli()
			me, err := callerOperator(ctx, q, cid)
			if err != nil {
				return err
			}
			for i, k := range keys {
				m := &Media{ChatID: chatID, Kind: kind, Key: k, MediaType: types[i], CreatedAt: ms(now)}
				if err := q.QueryRow(ctx, `INSERT INTO chat_media (company_id, chat_id, kind, key, media_type, created_at)
					VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, cid, chatID, kind, k, m.MediaType, now).Scan(&m.ID); err != nil {
					return err
				}
				msg, err := appendMessage(ctx, q, c, me, sender, kind, k, "")
				if err != nil {
					return err
				}
				if err := ch.logMessage(ctx, q, c, msg); err != nil {
					return err
				}
				if err := ch.log(ctx, q, c.ID, c.UUID, EventChatMedia, map[string]any{"media_id": m.ID, "kind": kind, "message_seq": msg.Seq}); err != nil {
					return err
				}
				out = append(out, m)
			}
			return nil
		})
	})
	return out, err
}

// ListMedia returns a chat's media of one kind in attach order.
func (s *Service) ListMedia(ctx context.Context, chatID int64, kind string) ([]*Media, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Media
	err = s.DB.Read(ctx, func(q store.Querier) error {
		if _, err := getChat(ctx, q, cid, chatID); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT id, key, media_type, created_at FROM chat_media WHERE chat_id = ? AND company_id = ? AND kind = ?
			ORDER BY id LIMIT ?`, chatID, cid, kind, MaxMediaPerChat)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = []*Media{}
		for rows.Next() {
			m := &Media{ChatID: chatID, Kind: kind}
			var created int64
			if err := rows.Scan(&m.ID, &m.Key, &m.MediaType, &created); err != nil {
				return err
			}
			m.CreatedAt = ms(created)
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// EndUserUpdate is the chat platform's end-user change: Identifier is
// required, the other fields change only when given.
type EndUserUpdate struct {
	Identifier string
	Name       *string
	Email      *string
	Phone      *string
}

// UpdateChatEndUser updates the end user of a chat: the one with the given
// identifier (created if the company has none; the chat then moves to it)
// takes the given contact fields. The change is logged as an
// end_user.updated event, which CRM webhooks receive.
func (s *Service) UpdateChatEndUser(ctx context.Context, chatID int64, u EndUserUpdate) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	ident, err := parley.ValidName("identifier", u.Identifier, MaxName)
	if err != nil {
		return err
	}
	for name, p := range map[string]*string{"name": u.Name, "email": u.Email, "phone": u.Phone} {
		if p != nil && *p != "" {
			if _, err := parley.ValidName(name, *p, MaxName); err != nil {
				return err
			}
		}
	}
	return s.write(ctx, cid, func(q store.Querier, ch *changes) error {
		c, err := getChat(ctx, q, cid, chatID)
		if err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		u2, err := scanEndUser(q.QueryRow(ctx, `SELECT `+endUserColumns+` FROM end_users WHERE company_id = ? AND identifier = ?`, cid, ident))
		if err != nil {
			if !isNoRows(err) {
				return err
			}
			var id int64
			name := ident
			if u.Name != nil && *u.Name != "" {
				name = *u.Name
			}
			if err := q.QueryRow(ctx, `INSERT INTO end_users (uuid, company_id, identifier, name, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, newUUID(), cid, ident, name, now, now).Scan(&id); err != nil {
				return err
			}
			u2 = &EndUser{ID: id, Identifier: ident, Name: name}
		}
		if u.Name != nil {
			u2.Name = *u.Name
		}
		if u.Email != nil {
			u2.Email = *u.Email
		}
		if u.Phone != nil {
			u2.Phone = *u.Phone
		}
		if u2.Name == "" {
			u2.Name = ident
		}
		if _, err := q.Exec(ctx, `UPDATE end_users SET name = ?, email = ?, phone = ?, updated_at = ? WHERE id = ?`,
			u2.Name, u2.Email, u2.Phone, now, u2.ID); err != nil {
			return err
		}
		if u2.ID != c.EndUserID {
			if _, err := q.Exec(ctx, `UPDATE chats SET end_user_id = ?, updated_at = ? WHERE id = ?`, u2.ID, now, c.ID); err != nil {
				return err
			}
		}
		return ch.log(ctx, q, c.ID, c.UUID, EventEndUserUpdated, map[string]any{"end_user_id": u2.ID, "identifier": ident,
			"name": u2.Name, "email": u2.Email, "phone": u2.Phone})
	})
}
