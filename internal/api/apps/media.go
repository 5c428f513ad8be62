package apps

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
	"github.com/parley-cc/parley/internal/media"
)

// Limits of chat media.
const (
	MaxPhotoSize    = 10 << 20
	MaxVideoSize    = 200 << 20
	UploadExpiry    = 15 * time.Minute
	DownloadExpiry  = time.Hour
	MaxPhotosPerReq = 20
)

type mediaDTO struct {
	URL     string `json:"url"`
	MediaID int64  `json:"media_id"`
	// S3Path is the object's key, which the photo or video message of the
	// chat holds as its content: clients match messages to URLs with it.
	S3Path string `json:"s3_path"`
}

func (h *Handler) media() (media.Store, error) {
	if h.Media == nil {
		return nil, parley.Errorf(parley.EINTERNAL, "no media store is configured")
	}
	return h.Media, nil
}

// upload hands out a presigned form for one new object under the chat's
// prefix; the client POSTs the file there, then attaches the key.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, kind, typePrefix string, max int64) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := h.Chats.GetChat(r.Context(), id)
	if err != nil {
		return err
	}
	store, err := h.media()
	if err != nil {
		return err
	}
	if chat.Final(c.Status) {
		return parley.Errorf(parley.ECONFLICT, "Chat %d has ended; nothing can be uploaded.", id)
	}
	key := chat.MediaPrefix(c.CompanyID, c.ID, kind) + uuid.NewString()
	form, err := store.PresignedPost(r.Context(), key, media.Policy{ContentTypePrefix: typePrefix, MaxSize: max, Expires: UploadExpiry})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, form)
	return nil
}

func (h *Handler) uploadPhoto(w http.ResponseWriter, r *http.Request) error {
	return h.upload(w, r, chat.MediaPhoto, "image/", MaxPhotoSize)
}

func (h *Handler) uploadVideo(w http.ResponseWriter, r *http.Request) error {
	return h.upload(w, r, chat.MediaVideo, "video/", MaxVideoSize)
}

// attach checks that every key was uploaded, then attaches them.
func (h *Handler) attach(w http.ResponseWriter, r *http.Request, kind string, keys, types []string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := h.Chats.GetChat(r.Context(), id)
	if err != nil {
		return err
	}
	store, err := h.media()
	if err != nil {
		return err
	}
	prefix := chat.MediaPrefix(c.CompanyID, c.ID, kind)
	for i, k := range keys {
		if len(k) <= len(prefix) || k[:len(prefix)] != prefix {
			return parley.FieldError(kind, "%q was not uploaded for this chat (ask %s/chats/%d/%ss/upload for a key)", parley.Clip(k), Prefix, id, kind)
		}
		info, err := store.Stat(r.Context(), k)
		if parley.ErrorCode(err) == parley.ENOTFOUND {
			return parley.FieldError(kind, "nothing was uploaded to %q yet", parley.Clip(k))
		} else if err != nil {
			return err
		}
		if types[i] == "" {
			types[i] = info.ContentType
		}
	}
	sender := chat.SenderEndUser
	if _, ok, err := h.Chats.CallerOperatorID(r.Context()); err != nil {
		return err
	} else if ok {
		sender = chat.SenderOperator
	}
	ms, err := h.Chats.AttachMedia(r.Context(), id, kind, keys, types, sender)
	if err != nil {
		return err
	}
	out := make([]mediaDTO, 0, len(ms))
	for _, m := range ms {
		u, err := store.URL(r.Context(), m.Key, DownloadExpiry)
		if err != nil {
			return err
		}
		out = append(out, mediaDTO{URL: u, MediaID: m.ID, S3Path: m.Key})
	}
	// The seed answers one {url, media_id}: the first item's; every item is
	// in "media".
	writeJSON(w, http.StatusOK, map[string]any{"url": out[0].URL, "media_id": out[0].MediaID, "media": out})
	return nil
}

func (h *Handler) attachPhotos(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Photo []struct {
			S3Path    string `json:"s3_path"`
			PhotoType string `json:"photo_type"`
		} `json:"photo"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if len(in.Photo) == 0 {
		return parley.FieldError("photo", "must list at least one uploaded photo")
	}
	if len(in.Photo) > MaxPhotosPerReq {
		return parley.FieldError("photo", "at most %d photos at once", MaxPhotosPerReq)
	}
	keys, types := make([]string, len(in.Photo)), make([]string, len(in.Photo))
	for i, p := range in.Photo {
		if p.S3Path == "" {
			return parley.FieldError("photo", "item %d has no s3_path", i+1)
		}
		keys[i], types[i] = p.S3Path, parley.Clip(p.PhotoType)
	}
	return h.attach(w, r, chat.MediaPhoto, keys, types)
}

func (h *Handler) attachVideo(w http.ResponseWriter, r *http.Request) error {
	// The seed documents {"video": {"s3_path", "gcs_path"}}; its example
	// shows the photo shape. Both are accepted; gcs_path is a synonym of
	// s3_path (the media store is one bucket, whatever its vendor).
	type item struct {
		S3Path  string `json:"s3_path"`
		GCSPath string `json:"gcs_path"`
	}
	var in struct {
		Video *item `json:"video"`
		Photo []struct {
			S3Path    string `json:"s3_path"`
			PhotoType string `json:"photo_type"`
		} `json:"photo"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	var keys []string
	switch {
	case in.Video != nil:
		k := in.Video.S3Path
		if k == "" {
			k = in.Video.GCSPath
		}
		if k == "" {
			return parley.FieldError("video", "needs s3_path or gcs_path")
		}
		keys = []string{k}
	case len(in.Photo) == 1 && in.Photo[0].S3Path != "":
		keys = []string{in.Photo[0].S3Path}
	default:
		return parley.FieldError("video", "is required: {\"video\": {\"s3_path\": \"...\"}}")
	}
	return h.attach(w, r, chat.MediaVideo, keys, []string{""})
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, kind string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ms, err := h.Chats.ListMedia(r.Context(), id, kind)
	if err != nil {
		return err
	}
	out := make([]mediaDTO, 0, len(ms))
	if len(ms) > 0 {
		store, err := h.media()
		if err != nil {
			return err
		}
		for _, m := range ms {
			u, err := store.URL(r.Context(), m.Key, DownloadExpiry)
			if err != nil {
				return err
			}
			out = append(out, mediaDTO{URL: u, MediaID: m.ID, S3Path: m.Key})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) listPhotos(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, chat.MediaPhoto)
}

func (h *Handler) listVideos(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, chat.MediaVideo)
}
