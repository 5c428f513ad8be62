package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Copy links src's data under dst (a hard link: an upload that replaces
// src later renames a new file over src's name and leaves dst's alone),
// metadata first, then data, as write does; it copies the bytes when the
// file system cannot link.
func (l *Local) Copy(ctx context.Context, src, dst string) error {
	if err := ValidKey(dst); err != nil {
		return err
	}
	f, info, err := l.open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	srcData, _ := l.paths(src)
	tmp := filepath.Join(l.dir, "tmp")
	link := filepath.Join(tmp, "link-"+filepath.Base(srcData)+"-"+randomSuffix())
	if err := os.Link(srcData, link); err != nil {
		// No hard links here: copy the bytes (from the file opened above,
		// which a concurrent replacement of src does not change).
		_, _, err := l.write(dst, info.ContentType, ctxReader{ctx, f}, -1, func(int64) error { return nil })
		return err
	}
	defer os.Remove(link) // gone once renamed into place
	mb, err := json.Marshal(metadata{Key: dst, ContentType: info.ContentType})
	if err != nil {
		return err
	}
	mf, err := os.CreateTemp(tmp, "meta-*")
	if err != nil {
		return err
	}
	defer os.Remove(mf.Name())
	_, err = mf.Write(mb)
	if err == nil {
		err = mf.Sync()
	}
	if cerr := mf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	data, meta := l.paths(dst)
	if err := os.MkdirAll(filepath.Dir(data), 0o750); err != nil {
		return err
	}
	if err := os.Rename(mf.Name(), meta); err != nil {
		return err
	}
	return os.Rename(link, data)
}

// Delete removes an object: its data, then its metadata (a reader that
// finds metadata without data sees no object).
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	data, meta := l.paths(key)
	for _, p := range []string{data, meta} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// List walks the objects directory; the keys are in the metadata files
// (the file names are hashes).
func (l *Local) List(ctx context.Context, prefix string, fn func(Object) error) error {
	root := filepath.Join(l.dir, "objects")
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".json") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		var m metadata
		if json.Unmarshal(b, &m) != nil || m.Key == "" || !strings.HasPrefix(m.Key, prefix) {
			return nil
		}
		st, err := os.Stat(strings.TrimSuffix(p, ".json"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // metadata of an object being written or deleted
		} else if err != nil {
			return err
		}
		return fn(Object{Key: m.Key, Size: st.Size(), Modified: st.ModTime()})
	})
}

// randomSuffix names a temporary file no other writer picks.
func randomSuffix() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
