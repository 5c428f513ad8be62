package chat

import (
	"context"
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
// upload forms under a chat's prefix, checks that what a client attaches
// was uploaded there, and signs download URLs. A nil Store answers every
// method with an internal error.
type Uploads struct {
	Chats *Service
	Store media.Store
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
	c, err := u.Chats.GetChat(ctx, chatID)
	if err != nil {
		return nil, err
	}
	store, err := u.store()
	if err != nil {
		return nil, err
	}
	if Final(c.Status) {
		return nil, parley.Errorf(parley.ECONFLICT, "Chat %d has ended; nothing can be uploaded.", chatID)
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
	return store.PresignedPost(ctx, MediaPrefix(c.CompanyID, c.ID, kind)+uuid.NewString(), policy)
}

// Attach attaches uploaded objects to a chat as messages of sender. Every
// key must lie under the chat's prefix and hold an upload, else EINVALID on
// field; an empty type takes the stored object's content type.
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
	for i, k := range keys {
		if len(k) <= len(prefix) || !strings.HasPrefix(k, prefix) {
			return nil, parley.FieldError(field, "%q was not uploaded for this chat (ask for an upload form first)", parley.Clip(k))
		}
		info, err := store.Stat(ctx, k)
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return nil, parley.FieldError(field, "nothing was uploaded to %q yet", parley.Clip(k))
		} else if err != nil {
			return nil, err
		}
		if types[i] == "" {
			types[i] = info.ContentType
		}
	}
	ms, err := u.Chats.AttachMedia(ctx, chatID, kind, keys, types, sender)
	if err != nil {
		return nil, err
	}
	return u.signed(ctx, store, ms)
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
