package apps

import (
	"net/http"

	"github.com/parley-cc/parley"
	"github.com/parley-cc/parley/internal/api"
	"github.com/parley-cc/parley/internal/chat"
)

// MaxPhotosPerReq bounds the photos one request attaches. Sizes and
// expiries of uploads are the chat package's (chat.MaxPhotoSize...).
const MaxPhotosPerReq = 20

type mediaDTO struct {
	URL     string `json:"url"`
	MediaID int64  `json:"media_id"`
	// S3Path is the object's key, which the photo or video message of the
	// chat holds as its content: clients match messages to URLs with it.
	S3Path string `json:"s3_path"`
}

func toMedia(as []chat.Attached) []mediaDTO {
	out := make([]mediaDTO, 0, len(as))
	for _, m := range as {
		out = append(out, mediaDTO{URL: m.URL, MediaID: m.ID, S3Path: m.Key})
	}
	return out
}

// upload hands out a presigned form for one new object under the chat's
// prefix; the client POSTs the file there, then attaches the key. The
// optional body {"content_type": "image/png"} names the file's type, which
// the form's Content-Type field then carries.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request, kind string) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		ContentType string `json:"content_type"`
	}
	if _, err := api.DecodeOptional(r, &in); err != nil {
		return err
	}
	form, err := h.Uploads.Form(r.Context(), id, kind, in.ContentType)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, form)
	return nil
}

func (h *Handler) uploadPhoto(w http.ResponseWriter, r *http.Request) error {
	return h.upload(w, r, chat.MediaPhoto)
}

func (h *Handler) uploadVideo(w http.ResponseWriter, r *http.Request) error {
	return h.upload(w, r, chat.MediaVideo)
}

// attach attaches uploaded keys as the caller's messages: an operator's,
// else the end user's.
func (h *Handler) attach(w http.ResponseWriter, r *http.Request, kind string, keys, types []string) error {
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	sender := chat.SenderEndUser
	if _, ok, err := h.Chats.CallerOperatorID(r.Context()); err != nil {
		return err
	} else if ok {
		sender = chat.SenderOperator
	}
	as, err := h.Uploads.Attach(r.Context(), id, kind, kind, keys, types, sender)
	if err != nil {
		return err
	}
	out := toMedia(as)
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
	id, err := api.PathID(r, "id")
	if err != nil {
		return err
	}
	as, err := h.Uploads.List(r.Context(), id, kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toMedia(as))
	return nil
}

func (h *Handler) listPhotos(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, chat.MediaPhoto)
}

func (h *Handler) listVideos(w http.ResponseWriter, r *http.Request) error {
	return h.list(w, r, chat.MediaVideo)
}
