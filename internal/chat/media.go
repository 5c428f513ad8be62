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
// the kind for each, in one transaction, which uses each one's upload
// form (once: a used form is ECONFLICT). Every key must lie under the
// chat's MediaPrefix; the caller (Uploads.Attach) has copied the objects
// to their keys.
func (s *Service) AttachMedia(ctx context.Context, chatID int64, kind string, items []Attachment, sender string) ([]*Media, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	if kind != MediaPhoto && kind != MediaVideo {
		return nil, parley.FieldError("kind", "must be photo or video")
	}
	prefix := MediaPrefix(cid, chatID, kind)
	for _, it := range items {
		for _, k := range []string{it.Upload, it.Key} {
			if !strings.HasPrefix(k, prefix) || strings.Contains(k, "..") {
				return nil, parley.FieldError(kind, "%q was not uploaded for this chat (keys start with %s)", parley.Clip(k), prefix)
			}
		}
	}
	var out []*Media
	err = s.retry(ctx, func() error {
		out = nil
		return s.write(ctx, cid, func(t *tx) error {
			c, g, err := t.seenChat(ctx, chatID)
			if err != nil {
				return err
			}
			if Final(c.Status) {
				return parley.Errorf(parley.ECONFLICT, "Chat %d has ended; nothing can be attached.", chatID)
			}
			var n int
			if err := t.QueryRow(ctx, `SELECT COUNT(*) FROM chat_media WHERE chat_id = ?`, chatID).Scan(&n); err != nil {
				return err
			}
			if n+len(items) > MaxMediaPerChat {
				return parley.Errorf(parley.ETOOLARGE, "A chat holds at most %d photos and videos.", MaxMediaPerChat)
			}
			var me *int64
			if !g.Staff() {
				me = &g.Operator
			}
			for _, it := range items {
				if err := t.useUpload(ctx, chatID, kind, it.Upload, it.Size); err != nil {
					return err
				}
				m := &Media{ChatID: chatID, Kind: kind, Key: it.Key, MediaType: it.MediaType, CreatedAt: t.now}
				if err := t.QueryRow(ctx, `INSERT INTO chat_media (company_id, chat_id, kind, key, media_type, created_at)
					VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, cid, chatID, kind, it.Key, m.MediaType, t.nowMS()).Scan(&m.ID); err != nil {
					return err
				}
				msg, err := t.appendMessage(ctx, c, me, sender, kind, it.Key, "")
				if err != nil {
					return err
				}
				if err := t.logMessage(ctx, c, msg); err != nil {
					return err
				}
				if err := t.log(ctx, c.ID, c.UUID, EventChatMedia, map[string]any{"media_id": m.ID, "kind": kind, "message_seq": msg.Seq}); err != nil {
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
		if _, err := s.seenChat(ctx, q, cid, chatID); err != nil {
			return err
		}
		out, err = store.Collect(ctx, q, func(r store.Scanner) (*Media, error) {
			m := &Media{ChatID: chatID, Kind: kind}
			var created int64
			err := r.Scan(&m.ID, &m.Key, &m.MediaType, &created)
			m.CreatedAt = ms(created)
			return m, err
		}, `SELECT id, key, media_type, created_at FROM chat_media WHERE chat_id = ? AND company_id = ? AND kind = ?
			ORDER BY id LIMIT ?`, chatID, cid, kind, MaxMediaPerChat)
		return err
	})
	if out == nil && err == nil {
		out = []*Media{}
	}
	return out, err
}
