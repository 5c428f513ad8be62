package script

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"sync/atomic"
)

// maxCached bounds the compiled programs a Cache keeps.
const maxCached = 1000

// Cache keeps compiled programs by name and source. A program is a pure
// function of the two, so a script edited anywhere is recompiled, and one
// cache may serve every company. The zero value is ready to use.
type Cache struct {
	programs sync.Map
	n        atomic.Int64
}

// Compile returns the compiled program of source, compiling it once.
func (c *Cache) Compile(name, source string) (*Program, error) {
	sum := sha256.Sum256([]byte(source))
	key := name + "/" + hex.EncodeToString(sum[:])
	if p, ok := c.programs.Load(key); ok {
		return p.(*Program), nil
	}
	p, err := Compile(name, source)
	if err != nil {
		return nil, err
	}
	if c.n.Add(1) > maxCached {
		// Scripts edited again and again must not grow the cache without
		// bound; starting over costs a recompile per script.
		c.programs.Clear()
		c.n.Store(1)
	}
	got, _ := c.programs.LoadOrStore(key, p)
	return got.(*Program), nil
}
