package chat

import (
	"context"
	"log/slog"
	"mime"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/media"
)

// Limits of chat media, one set for every family that hands out uploads.
const (
	MaxPhotoSize   = 10 << 20
	MaxVideoSize   = 200 << 20
	UploadExpiry   = 15 * time.Minute
	DownloadExpiry = time.Hour
)

// uploadPolicies are the upload forms of each kind; ContentType is the
// form's type when the client names none.
var uploadPolicies = map[string]media.Policy{
	MediaPhoto: {ContentTypePrefix: "image/", ContentType: "image/jpeg", MaxSize: MaxPhotoSize, Expires: UploadExpiry},
	MediaVideo: {ContentTypePrefix: "video/", ContentType: "video/mp4", MaxSize: MaxVideoSize, Expires: UploadExpiry},
}

// Uploads couples chats with the media store: it hands out presigned
// upload forms under a chat's prefix, within the chat's and the company's
// quotas (uploadforms.go), attaches what was uploaded with a form once, as
// a copy no form names (so that nothing can overwrite an attached photo),
// signs download URLs and, for the janitor, removes what expired unused
// (Purge). A nil Store answers every method with an internal error.
type Uploads struct {
	Chats *Service
	Store media.Store
	// Limits are the upload quotas; zero fields take DefaultUploadLimits'.
	Limits UploadLimits
	// Log reports the objects a cleanup could not remove (the janitor
	// gets them later); nil discards.
	Log *slog.Logger
}

// Attached is a chat's photo or video with a signed download URL.
type Attached struct {
	*Media
	URL string
}

func (u *Uploads) store() (media.Store, error) {
	if u.Store == nil {
		return nil, parley.Errorf(parley.EINTERNAL, "no media store is configured")
	}
	return u.Store, nil
}

// Form returns the presigned POST form for one new object of kind under
// the chat's prefix; the client posts the file there, then attaches the
// form's key. The form's fields carry the Content-Type the client names
// (within the kind: image/ for photos, video/ for videos), else the kind's
// default (image/jpeg, video/mp4), so that posting back exactly the fields
// satisfies the policy.
func (u *Uploads) Form(ctx context.Context, chatID int64, kind, contentType string) (*media.PostForm, error) {
	cid, err := parley.CompanyID(ctx)
	if err != nil {
		return nil, err
	}
	store, err := u.store()
	if err != nil {
		return nil, err
	}
	policy, ok := uploadPolicies[kind]
	if !ok {
		return nil, parley.FieldError("kind", "must be photo or video")
	}
	if contentType != "" {
		if _, _, err := mime.ParseMediaType(contentType); err != nil || len(contentType) > 100 ||
			!strings.HasPrefix(contentType, policy.ContentTypePrefix) || strings.ContainsAny(contentType, "\"\\") {
			return nil, parley.FieldError("content_type", "must be a media type starting with %s, got %q", policy.ContentTypePrefix, parley.Clip(contentType))
		}
		policy.ContentType = contentType
	}
	key := MediaPrefix(cid, chatID, kind) + uuid.NewString()
	if err := u.Chats.reserveUpload(ctx, chatID, kind, key, policy.MaxSize, u.Chats.now().Add(policy.Expires), u.Limits); err != nil {
		return nil, err
	}
	form, err := store.PresignedPost(ctx, key, policy)
	if err != nil {
		if derr := u.Chats.dropUpload(context.WithoutCancel(ctx), key); derr != nil {
			u.log().Warn("upload form not signed and not forgotten; it expires unused", "key", key, "error", derr)
		}
		return nil, err
	}
	return form, nil
}

func (u *Uploads) log() *slog.Logger {
	if u.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return u.Log
}

// Attach attaches uploaded objects to a chat as messages of sender. Every
// key must be an unused upload form of the chat and hold an upload, else
// EINVALID on field (ECONFLICT for a form used already: one use per key);
// an empty type takes the stored object's content type. Each object is
// attached as a copy under a key of its own, which no form names, and the
// form's object is removed.
func (u *Uploads) Attach(ctx context.Context, chatID int64, kind, field string, keys, types []string, sender string) ([]Attached, error) {
	c, err := u.Chats.GetChat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	store, err := u.store()
	if err != nil {
		return nil, err
	}
	prefix := MediaPrefix(c.CompanyID, c.ID, kind)
	for _, k := range keys {
		if len(k) <= len(prefix) || !strings.HasPrefix(k, prefix) {
			return nil, parley.FieldError(field, "%q was not uploaded for this chat (ask for an upload form first)", parley.Clip(k))
		}
	}
	if err := u.Chats.checkUploads(ctx, chatID, kind, field, keys); err != nil {
		return nil, err
	}
	items := make([]Attachment, len(keys))
	cleanup := func(keys func(Attachment) string) {
		for _, it := range items {
			if k := keys(it); k != "" {
				if err := store.Delete(context.WithoutCancel(ctx), k); err != nil {
					u.log().Warn("media object not removed; the janitor will", "key", k, "error", err)
				}
			}
		}
	}
	for i, k := range keys {
		kept := prefix + keptDir + uuid.NewString()
		if err := store.Copy(ctx, k, kept); parley.ErrorCode(err) == parley.ENOTFOUND {
			cleanup(func(a Attachment) string { return a.Key })
			return nil, parley.FieldError(field, "nothing was uploaded to %q yet", parley.Clip(k))
		} else if err != nil {
			cleanup(func(a Attachment) string { return a.Key })
			return nil, err
		}
		items[i] = Attachment{Upload: k, Key: kept, MediaType: types[i]}
		info, err := store.Stat(ctx, kept)
		if err != nil {
			cleanup(func(a Attachment) string { return a.Key })
			return nil, err
		}
		items[i].Size = info.Size
		if items[i].MediaType == "" {
			items[i].MediaType = info.ContentType
		}
	}
	ms, err := u.Chats.AttachMedia(ctx, chatID, kind, items, sender)
	if err != nil {
		cleanup(func(a Attachment) string { return a.Key }) // the copies no chat names
		return nil, err
	}
	cleanup(func(a Attachment) string { return a.Upload }) // the forms' objects, copied away
	return u.signed(ctx, store, ms)
}

// keptDir is where, under a chat's prefix, attached copies live: upload
// form keys are the prefix and a UUID, never below keptDir.
const keptDir = "kept/"

// Attachment is one upload being attached: the form's key, the key of its
// copy, its type and size.
type Attachment struct {
	Upload    string
	Key       string
	MediaType string
	Size      int64
}

// OrphanGrace is how old an object under chats/ that nothing names must
// be before the janitor removes it: older than any attach in progress.
const OrphanGrace = 24 * time.Hour

// PurgedUploads counts what one Purge removed.
type PurgedUploads struct {
	Expired int // unused forms past AttachWindow, with their objects
	Swept   int // objects left at the keys of used forms
}

// Purge removes, as of now, across companies: the unused upload forms
// past AttachWindow and their objects, and the objects at the keys of used
// forms once those expired (a late re-post of the form). The server's
// janitor calls it; it sweeps the objects under chats/ that nothing names
// (an attach that died between its copy and its commit) with
// media.SweepOrphans and Referenced.
func (u *Uploads) Purge(ctx context.Context, now time.Time) (PurgedUploads, error) {
	var p PurgedUploads
	store, err := u.store()
	if err != nil {
		return p, err
	}
	for {
		due, err := u.Chats.uploadsToSweep(ctx, now)
		if err != nil {
			return p, err
		}
		for _, d := range due {
			if err := store.Delete(ctx, d.key); err != nil {
				return p, err
			}
			if err := u.Chats.sweptUpload(ctx, d, now); err != nil {
				return p, err
			}
			if d.used {
				p.Swept++
			} else {
				p.Expired++
			}
		}
		if len(due) < uploadSweepBatch {
			return p, nil
		}
	}
}

// Referenced tells which keys name a chat's media or upload form, across
// companies: the orphan sweep of chats/ keeps those.
func (u *Uploads) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	return u.Chats.mediaReferenced(ctx, keys)
}

// List returns a chat's media of kind with signed URLs.
func (u *Uploads) List(ctx context.Context, chatID int64, kind string) ([]Attached, error) {
	ms, err := u.Chats.ListMedia(ctx, chatID, kind)
	if err != nil || len(ms) == 0 {
		return []Attached{}, err
	}
	store, err := u.store()
	if err != nil {
		return nil, err
	}
	return u.signed(ctx, store, ms)
}

// URL signs a download URL of a stored object (a photo or video message's
// content).
func (u *Uploads) URL(ctx context.Context, key string) (string, error) {
	store, err := u.store()
	if err != nil {
		return "", err
	}
	return store.URL(ctx, key, DownloadExpiry)
}

func (u *Uploads) signed(ctx context.Context, store media.Store, ms []*Media) ([]Attached, error) {
	out := make([]Attached, 0, len(ms))
	for _, m := range ms {
		url, err := store.URL(ctx, m.Key, DownloadExpiry)
		if err != nil {
			return nil, err
		}
		out = append(out, Attached{Media: m, URL: url})
	}
	return out, nil
}
