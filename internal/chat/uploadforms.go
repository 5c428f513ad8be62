package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/store"
)

// Upload forms: every form a chat hands out is a chat_uploads row, written
// before the form is signed. The rows are what bounds the disk anonymous
// visitors can fill: the chat's and the company's quotas count them (a
// pending form reserves its maximum size, an attached one its real size),
// a key is attached at most once, and the janitor removes what expired
// unattached (uploads.go's Purge).

// UploadLimits bound the uploads of one chat and of one company: forms not
// yet cleared and attached media together. Zero fields take
// DefaultUploadLimits'.
type UploadLimits struct {
	ChatFiles    int
	ChatBytes    int64
	CompanyFiles int
	CompanyBytes int64
}

// DefaultUploadLimits are the installation's defaults (docs/security.md).
var DefaultUploadLimits = UploadLimits{ChatFiles: 200, ChatBytes: 1 << 30, CompanyFiles: 100_000, CompanyBytes: 100 << 30}

func (l UploadLimits) orDefaults() UploadLimits {
	d := DefaultUploadLimits
	if l.ChatFiles > 0 {
		d.ChatFiles = l.ChatFiles
	}
	if l.ChatBytes > 0 {
		d.ChatBytes = l.ChatBytes
	}
	if l.CompanyFiles > 0 {
		d.CompanyFiles = l.CompanyFiles
	}
	if l.CompanyBytes > 0 {
		d.CompanyBytes = l.CompanyBytes
	}
	return d
}

// AttachWindow is how long after its form expired an upload may still be
// attached (the file went up just before the expiry); past it the
// janitor removes the upload and its object.
const AttachWindow = time.Hour

// uploadUsage counts uploads and their bytes, for a WHERE clause on
// chat_uploads: every form until the janitor removes it (an unused one may
// hold an object until then, so it counts its maximum size), and every
// attached upload at its size.
const uploadUsage = `SELECT COUNT(*), COALESCE(SUM(CASE WHEN used_at IS NULL THEN max_size ELSE size END), 0) FROM chat_uploads WHERE `

// reserveUpload records the form for key (of kind, at most maxSize bytes,
// expiring at expires) of a chat the caller sees and that has not ended,
// within the chat's and the company's quotas.
func (s *Service) reserveUpload(ctx context.Context, chatID int64, kind, key string, maxSize int64, expires time.Time, lim UploadLimits) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	lim = lim.orDefaults()
	return s.write(ctx, cid, func(t *tx) error {
		c, _, err := t.seenChat(ctx, chatID)
		if err != nil {
			return err
		}
		if Final(c.Status) {
			return parley.Errorf(parley.ECONFLICT, "Chat %d has ended; nothing can be uploaded.", chatID)
		}
		// Forms of one chat are counted under its row lock, so that
		// concurrent forms cannot both take the last place (PostgreSQL; a
		// SQLite write transaction holds the whole database).
		if err := t.LockRows(ctx, store.LockNoKeyUpdate, "chats", "id = ? AND company_id = ?", chatID, cid); err != nil {
			return err
		}
		for _, scope := range []struct {
			what  string
			where string
			arg   int64
			files int
			bytes int64
		}{
			{"chat", "chat_id = ?", chatID, lim.ChatFiles, lim.ChatBytes},
			{"company", "company_id = ?", cid, lim.CompanyFiles, lim.CompanyBytes},
		} {
			var n int
			var bytes int64
			if err := t.QueryRow(ctx, uploadUsage+scope.where, scope.arg).Scan(&n, &bytes); err != nil {
				return err
			}
			if n+1 > scope.files || bytes+maxSize > scope.bytes {
				return parley.Errorf(parley.ETOOLARGE, "The %s's uploads are at their limit (%d files, %s, counting forms not yet used until they are cleared, an hour after they expire).",
					scope.what, scope.files, byteCount(scope.bytes))
			}
		}
		_, err = t.Exec(ctx, `INSERT INTO chat_uploads (company_id, chat_id, kind, key, max_size, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			cid, chatID, kind, key, maxSize, t.nowMS(), expires.UnixMilli())
		return err
	})
}

// dropUpload forgets a form that was never handed out (its signing failed).
func (s *Service) dropUpload(ctx context.Context, key string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	return s.DB.Write(ctx, func(q store.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM chat_uploads WHERE key = ? AND company_id = ? AND used_at IS NULL`, key, cid)
		return err
	})
}

// checkUploads fails unless every key is a form of the chat and kind,
// still unused and attachable (not past AttachWindow), given once.
func (s *Service) checkUploads(ctx context.Context, chatID int64, kind, field string, keys []string) error {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	q := s.DB.Reader()
	for _, k := range keys {
		if seen[k] {
			return parley.FieldError(field, "%q is given twice", parley.Clip(k))
		}
		seen[k] = true
		var used *int64
		var expires int64
		err := q.QueryRow(ctx, `SELECT used_at, expires_at FROM chat_uploads WHERE key = ? AND chat_id = ? AND company_id = ? AND kind = ?`,
			k, chatID, cid, kind).Scan(&used, &expires)
		switch {
		case errors.Is(err, store.ErrNoRows):
			return parley.FieldError(field, "%q is not an upload form of this chat (ask for one first)", parley.Clip(k))
		case err != nil:
			return err
		case used != nil:
			return &parley.Error{Code: parley.ECONFLICT, Message: fmt.Sprintf("%s was attached already; an upload form serves once.", parley.Clip(k)),
				Fields: map[string]string{field: "was attached already"}}
		case s.now().After(ms(expires).Add(AttachWindow)):
			return parley.FieldError(field, "the upload form of %q has expired", parley.Clip(k))
		}
	}
	return nil
}

// useUpload marks the form of key used by an attachment of size bytes, in
// the attaching transaction: at most once.
func (t *tx) useUpload(ctx context.Context, chatID int64, kind, key string, size int64) error {
	res, err := t.Exec(ctx, `UPDATE chat_uploads SET used_at = ?, size = ? WHERE key = ? AND chat_id = ? AND company_id = ? AND kind = ? AND used_at IS NULL`,
		t.nowMS(), size, key, chatID, t.cid, kind)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return parley.Errorf(parley.ECONFLICT, "%s was attached already; an upload form serves once.", parley.Clip(key))
	}
	return nil
}

// uploadToSweep is a form whose object the janitor removes.
type uploadToSweep struct {
	id   int64
	key  string
	used bool
}

// sweepBatch bounds the forms one janitor step handles.
const uploadSweepBatch = 500

// uploadsToSweep lists, across companies, the forms whose objects may go:
// unused ones past AttachWindow (the row goes too) and used ones whose
// form expired (the object at the form's key is no longer the attached
// one, which was copied away; only a late re-post can have put it back).
func (s *Service) uploadsToSweep(ctx context.Context, now time.Time) ([]uploadToSweep, error) {
	return store.Collect(ctx, s.DB.Reader(), func(r store.Scanner) (u uploadToSweep, err error) {
		var used *int64
		err = r.Scan(&u.id, &u.key, &used)
		u.used = used != nil
		return u, err
	}, `SELECT id, key, used_at FROM chat_uploads WHERE swept_at IS NULL
		AND ((used_at IS NULL AND expires_at < ?) OR (used_at IS NOT NULL AND expires_at < ?)) ORDER BY expires_at LIMIT ?`,
		now.Add(-AttachWindow).UnixMilli(), now.UnixMilli(), uploadSweepBatch)
}

// sweptUpload records that a form's object is gone: an unused form's row
// goes (if it is still unused), a used one is marked.
func (s *Service) sweptUpload(ctx context.Context, u uploadToSweep, now time.Time) error {
	return s.DB.Write(ctx, func(q store.Querier) error {
		if u.used {
			_, err := q.Exec(ctx, `UPDATE chat_uploads SET swept_at = ? WHERE id = ?`, now.UnixMilli(), u.id)
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM chat_uploads WHERE id = ? AND used_at IS NULL`, u.id)
		return err
	})
}

// mediaReferenced tells which keys name a chat's media or upload form,
// across companies: the orphan sweep of chats/ keeps those.
func (s *Service) mediaReferenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	in := marks(len(keys))
	err := eachRow(ctx, s.DB.Reader(), `SELECT key FROM chat_media WHERE key IN (`+in+`) UNION SELECT key FROM chat_uploads WHERE key IN (`+in+`)`,
		append(args, args...), func(r store.Scanner) error {
			var k string
			if err := r.Scan(&k); err != nil {
				return err
			}
			out[k] = true
			return nil
		})
	return out, err
}

// byteCount writes a byte quota for people.
func byteCount(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
