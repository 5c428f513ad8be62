package web_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/parley-cc/parley/internal/web"
)

// i18nPages are the pages whose every string is in the catalogues. The
// widget demo (widget-demo.html) is not one: it stands for a company's
// own site, which embeds the widget.
var i18nPages = []string{"login.html", "console.html", "supervisor.html", "widget.html", "api-docs.html"}

func catalogue(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(web.Static, "js/i18n/"+lang+".js")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "export default ")
	if i < 0 {
		t.Fatalf("%s.js: no export default", lang)
	}
	body := strings.TrimSuffix(strings.TrimSpace(s[i+len("export default "):]), ";")
	var m map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s.js is not a JSON object after export default: %v", lang, err)
	}
	return m
}

// TestI18nCatalogues: the pages' text nodes and labelling attributes are
// all marked for translation, every key the pages and scripts use is in
// the English and the Russian catalogues, and the catalogues have the same
// keys, none empty.
func TestI18nCatalogues(t *testing.T) {
	en, ru := catalogue(t, "en"), catalogue(t, "ru")
	for k, v := range en {
		if _, ok := ru[k]; !ok || strings.TrimSpace(ru[k]) == "" || strings.TrimSpace(v) == "" {
			t.Errorf("key %q: en %q, ru %q", k, v, ru[k])
		}
	}
	for k := range ru {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is in ru.js only", k)
		}
	}
	need := func(where, key string) {
		if _, ok := en[key]; !ok {
			t.Errorf("%s: key %q is not in en.js", where, key)
		}
		if _, ok := ru[key]; !ok {
			t.Errorf("%s: key %q is not in ru.js", where, key)
		}
	}
	numeric := regexp.MustCompile(`^[\d\s·—–|:-]*$`)
	for _, page := range i18nPages {
		b, err := fs.ReadFile(web.Static, page)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				if n.Data == "script" || n.Data == "style" {
					return
				}
				attrs := map[string]string{}
				for _, a := range n.Attr {
					attrs[a.Key] = a.Val
				}
				if k, ok := attrs["data-i18n"]; ok {
					need(page, k)
				}
				marked := map[string]bool{}
				for _, pair := range strings.Split(attrs["data-i18n-attr"], ";") {
					if attr, key, ok := strings.Cut(pair, ":"); ok {
						need(page, key)
						marked[attr] = true
					}
				}
				for _, a := range []string{"aria-label", "placeholder", "title"} {
					if v, ok := attrs[a]; ok && strings.TrimSpace(v) != "" && !marked[a] {
						t.Errorf("%s: <%s %s=%q> is not translated (data-i18n-attr)", page, n.Data, a, v)
					}
				}
			}
			if n.Type == html.TextNode && !numeric.MatchString(n.Data) {
				// translate="no" marks text that is the same in every
				// language (a path, a product name).
				if p := n.Parent; p == nil || p.Type != html.ElementNode || !hasAttr(p, "data-i18n") && attr(p, "translate") != "no" {
					t.Errorf("%s: untranslated text %q", page, strings.TrimSpace(n.Data))
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	}
	// Keys the scripts ask for by name: t("key"), or tr/tx where a script
	// already has a t.
	call := regexp.MustCompile(`\b(?:t|tr|tx)\("([a-z_]+\.[a-z0-9_.]+)"`)
	dynamic := regexp.MustCompile(`\b(?:t|tr|tx)\("([a-z_]+\.)" \+`)
	err := fs.WalkDir(web.Static, "js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") || strings.HasPrefix(path, "js/i18n/") {
			return err
		}
		b, err := fs.ReadFile(web.Static, path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			need(path, m[1])
		}
		for _, m := range dynamic.FindAllStringSubmatch(string(b), -1) {
			found := false
			for k := range en {
				found = found || strings.HasPrefix(k, m[1])
			}
			if !found {
				t.Errorf("%s: no key starts with %q", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
